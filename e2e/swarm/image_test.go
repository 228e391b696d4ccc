package swarm_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// The image deploy/Dockerfile builds for mcp-logs, as `make images` makes
// it on this engine, and the container the fixtures start from it.
const (
	imageRef      = "opsmcp-e2e/mcp-logs:e2e"
	imageRunName  = "opsmcp-image-run"
	imageFileName = "opsmcp-image-files"
)

var (
	imageURL     string // the running container's HTTP transport
	imageVersion string // what `docker run IMAGE --version` printed
	imageShell   error  // what `docker run --entrypoint /bin/sh IMAGE` said
)

// seedImage runs `make images` for mcp-logs against the harness engine
// (no base image: both final stages are FROM scratch), then starts the
// image read-only, without capabilities, on a folder of log files with a
// planted secret. It runs with the fixtures, before the read-only proof
// starts counting: building and running are writes to the engine.
func seedImage(ctx context.Context) error {
	mk := sw.Command(ctx, "make", "-C", harness.Root(), "images", "IMAGES=mcp-logs", "REGISTRY=opsmcp-e2e", "VERSION=e2e",
		"DOCKER="+sw.CLIPath())
	if out, err := mk.CombinedOutput(); err != nil {
		return fmt.Errorf("make images: %w\n%s", err, out)
	}
	logs := filepath.Join(workDir, "image-logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	os.Chmod(logs, 0o755)
	lines := "2026-11-21T10:00:00Z level=info msg=\"checkout ok\"\n" +
		"2026-11-21T10:00:01Z level=error msg=\"payment failed\" password=Img-planted-Pw-41\n"
	if err := os.WriteFile(filepath.Join(logs, "app.log"), []byte(lines), 0o644); err != nil {
		return err
	}
	port, err := harness.FreePort()
	if err != nil {
		return err
	}
	imageURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	if imageVersion, err = sw.CLI(ctx, "run", "--rm", imageRef, "--version"); err != nil {
		return err
	}
	_, imageShell = sw.CLI(ctx, "run", "--rm", "--entrypoint", "/bin/sh", imageRef, "-c", "true")
	if _, err := sw.CLI(ctx, "create", "--name", imageFileName, imageRef); err != nil {
		return err
	}
	_, err = sw.CLI(ctx, "run", "-d", "--name", imageRunName, "--read-only", "--cap-drop", "ALL",
		"--security-opt", "no-new-privileges", "--network", "host", "-v", logs+":/logs:ro", imageRef,
		"--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--files-root", "/logs")
	return err
}

// TestImage: the image is a static binary on scratch, run as 65532 with
// a read-only root and no capabilities, and it serves real tool calls.
func TestImage(t *testing.T) {
	ctx := context.Background()
	golden, err := os.ReadFile(filepath.Join(harness.Root(), "mcp-logs", "internal", "tools", "testdata", "tools.golden.json"))
	require.NoError(t, err)
	schema := fmt.Sprintf("%x", sha256.Sum256(golden))[:12]
	assert.Equal(t, "mcp-logs e2e+tools."+schema, strings.TrimSpace(imageVersion), "make images stamps VERSION into the binary, with its tools schema's id")

	out, err := sw.CLI(ctx, "image", "inspect", imageRef)
	require.NoError(t, err)
	var inspect []struct {
		Config struct {
			User       string
			Entrypoint []string
			Labels     map[string]string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &inspect))
	require.Len(t, inspect, 1)
	assert.Equal(t, "65532:65532", inspect[0].Config.User)
	assert.Equal(t, []string{"/opsmcp"}, inspect[0].Config.Entrypoint)
	assert.Equal(t, "e2e", inspect[0].Config.Labels["org.opencontainers.image.version"])

	// The filesystem holds the binary and the CA bundle; no shell, no
	// package manager (docker adds its mount points and .dockerenv).
	files := exportedFiles(t, imageFileName)
	assert.Contains(t, files, "opsmcp")
	assert.Contains(t, files, "etc/ssl/certs/ca-certificates.crt")
	for _, f := range files {
		base := filepath.Base(f)
		assert.NotContains(t, []string{"sh", "bash", "busybox", "apk", "apt", "dpkg"}, base, "image file %s", f)
	}
	require.Error(t, imageShell, "the image has no shell")
	assert.Contains(t, imageShell.Error(), "/bin/sh")

	out, err = sw.CLI(ctx, "inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.State.Running}}", imageRunName)
	require.NoError(t, err)
	assert.Equal(t, "65532:65532 true [ALL] true", out)

	require.NoError(t, harness.WaitHTTP(ctx, nil, imageURL+"/healthz", "", http.DefaultClient, 30*time.Second), "container's /healthz")
	s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: imageURL + "/mcp"})
	r := harness.MustCall(t, &seen, s, "logs_search", map[string]any{"pattern": "payment"})
	assert.Contains(t, r.Text, "payment failed")
	assert.Contains(t, r.Text, "[MASKED:")
	assert.NotContains(t, r.Text, "Img-planted-Pw-41")
}

// exportedFiles lists the regular files and links of a container's
// filesystem (docker export).
func exportedFiles(t *testing.T, container string) []string {
	t.Helper()
	cmd := sw.Command(context.Background(), sw.CLIPath(), "export", container)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var files []string
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if h.Typeflag != tar.TypeDir {
			files = append(files, strings.TrimPrefix(h.Name, "./"))
		}
	}
	require.NoError(t, cmd.Wait())
	return files
}
