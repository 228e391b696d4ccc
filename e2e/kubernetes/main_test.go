// Package kubernetes_test drives the built mcp-kubernetes binary, as a real
// MCP client, against a real kube-apiserver (with etcd and
// kube-controller-manager) started on loopback.
package kubernetes_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var (
	kube      *harness.Kube
	secrets   planted
	binary    string
	readerCfg string // kubeconfig of the read-only identity
	workDir   string
	seen      harness.Recorder // everything any server sent back
	kubelet   *harness.FakeKubelet
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	workDir, binary, err = harness.Prepare("mcp-kubernetes", "mcp-kubernetes")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	kube, err = harness.StartKube(ctx, workDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start kubernetes:", err)
		return 1
	}
	defer kube.Stop()
	secrets = newPlanted()
	kubelet, err = harness.StartFakeKubelet(kube.CA, logLines(secrets, time.Now()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start stand-in kubelet:", err)
		return 1
	}
	defer kubelet.Stop()
	if err := seed(ctx, kube, kubelet.Port, secrets); err != nil {
		fmt.Fprintln(os.Stderr, "seed fixtures:", err)
		return 1
	}
	readerCfg, err = kube.WriteKubeconfig("reader.kubeconfig", kube.ReaderToken, "e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

type result = harness.Result

func call(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.Call(t, &seen, s, name, args)
}

// mustCall calls a tool and fails the test on a tool error.
func mustCall(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.MustCall(t, &seen, s, name, args)
}

// stdioSession starts the binary over stdio with extra flags; its audit log
// goes to the returned path.
func stdioSession(t testing.TB, extra ...string) (*mcp.ClientSession, string) {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "audit.log")
	args := append([]string{"--kubeconfig", readerCfg, "--audit-log", audit, "--allowed-contexts", "other"}, extra...)
	return harness.StdioSession(t, &seen, binary, args...), audit
}

// httpServer starts the binary over HTTP with a token file and a policy.
type httpServer struct {
	URL   string
	Audit string
	proc  *harness.Proc
}

const (
	sreToken    = "sre-token-0f3c9a7e"
	viewerToken = "viewer-token-7d21b4c8"
)

func startHTTP(t testing.TB, extra ...string) *httpServer {
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	// The viewer's token is stored hashed, as a deployment would.
	os.WriteFile(tokens, []byte(fmt.Sprintf("%s,alice,sre\nsha256:%s,bob,viewer\n", sreToken, sha256hex(viewerToken))), 0o600)
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte(`roles:
  sre:
    tools: ["*"]
  viewer:
    tools: ["k8s_get", "k8s_describe", "k8s_events", "k8s_kubectl"]
    scopes:
      namespaces: ["team-b"]
`), 0o600)
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	audit := filepath.Join(dir, "audit.log")
	args := append([]string{"--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", readerCfg,
		"--auth-tokens", tokens, "--policy", policy, "--audit-log", audit}, extra...)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := harness.StartServer(t, &seen, dir, "mcp-kubernetes-http", url, binary, args...)
	return &httpServer{URL: url, Audit: audit, proc: p}
}

func connect(t testing.TB, transport mcp.Transport) *mcp.ClientSession {
	t.Helper()
	return harness.Connect(t, transport)
}

func httpClient(token string) *http.Client { return harness.HTTPClient(token) }

// auditLines reads a JSON-lines audit log.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	return harness.AuditLines(t, &seen, path)
}
