package harness

import (
	"os"
	"os/exec"
	"path/filepath"
)

// CacheDir is where e2e/upstreams/build.sh keeps the upstreams
// (OPSMCP_E2E_CACHE, else ~/.cache/opsmcp-e2e).
func CacheDir() string {
	if c := os.Getenv("OPSMCP_E2E_CACHE"); c != "" {
		return c
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		base = filepath.Join(os.Getenv("HOME"), ".cache")
	}
	return filepath.Join(base, "opsmcp-e2e")
}

// upstreamFiles are what build.sh leaves in the cache per upstream, at
// the versions the Start functions run.
var upstreamFiles = map[string][]string{
	"kubernetes": {"bin/etcd-v3.6.16", "bin/kube-apiserver-v1.36.3", "bin/kube-controller-manager-v1.36.3"},
	"loki":       {"bin/loki-v3.7.8", "bin/logcli-v3.7.8"},
	"gitea":      {"bin/gitea-v1.26.0"},
	"docker":     {"docker-20.10.24/root/usr/sbin/dockerd"},
	"ollama":     {"bin/ollama-v0.17.4"},
}

// UpstreamsMissing returns the upstreams of want ("kubernetes", "loki",
// "gitea", "docker", "ollama") not yet in the cache: the ones a build.sh
// run would build now.
func UpstreamsMissing(want []string) []string {
	var out []string
	for _, w := range want {
		for _, f := range upstreamFiles[w] {
			if _, err := os.Stat(filepath.Join(CacheDir(), f)); err != nil {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

// StartCmd starts a prepared command (its Stdout and Stderr going to f,
// the file at logPath) in its own process group, killed when this
// process dies, and closes f when it ends.
func StartCmd(name string, cmd *exec.Cmd, f *os.File, logPath string) (*Proc, error) {
	return startCmd(name, cmd, f, logPath)
}
