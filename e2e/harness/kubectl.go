package harness

import (
	"fmt"
	"os"
	"path/filepath"
)

// KubectlVersion is the kubectl e2e/upstreams/parts/kubectl.sh builds: the
// harness API server's own version, for output parity.
const KubectlVersion = "v1.36.3"

// Kubectl returns the path of the real kubectl, built into the cache on
// first use (e2e/upstreams/build.sh kubectl).
func Kubectl() (string, error) {
	bin, err := Upstreams("kubectl")
	if err != nil {
		return "", err
	}
	p := filepath.Join(bin, "kubectl-"+KubectlVersion)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("kubectl: not built (e2e/upstreams/build.sh kubectl): %w", err)
	}
	return p, nil
}
