// Package kubernetes_test drives the built mcp-kubernetes binary, as a real
// MCP client, against a real kube-apiserver (with etcd and
// kube-controller-manager) started on loopback.
package kubernetes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	seen      recorder // everything any server sent back
	kubelet   *harness.FakeKubelet
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	workDir, err = os.MkdirTemp("", "opsmcp-e2e-k8s-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	binary, err = harness.BuildBinary(workDir, "mcp-kubernetes", "mcp-kubernetes")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
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

// recorder keeps every byte the servers sent, so one test at the end can
// prove no planted secret was among them.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.buf.WriteString(s)
	r.buf.WriteByte('\n')
	r.mu.Unlock()
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// result is one tool call's outcome as the client saw it.
type result struct {
	Text    string
	Data    map[string]any
	IsError bool
}

func call(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s %v: %v", name, args, err)
	}
	var r result
	r.IsError = res.IsError
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			r.Text += tc.Text
		}
	}
	if res.StructuredContent != nil {
		raw, _ := json.Marshal(res.StructuredContent)
		seen.add(string(raw))
		_ = json.Unmarshal(raw, &r.Data)
	}
	seen.add(r.Text)
	return r
}

// mustCall calls a tool and fails the test on a tool error.
func mustCall(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	r := call(t, s, name, args)
	if r.IsError {
		t.Fatalf("%s %v: tool error: %s", name, args, r.Text)
	}
	return r
}

// stdioSession starts the binary over stdio with extra flags; its audit log
// goes to the returned path.
func stdioSession(t testing.TB, extra ...string) (*mcp.ClientSession, string) {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "audit.log")
	args := append([]string{"--kubeconfig", readerCfg, "--audit-log", audit, "--allowed-contexts", "other"}, extra...)
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect over stdio: %v (stderr: %s)", err, stderr.String())
	}
	t.Cleanup(func() {
		s.Close()
		seen.add(stderr.String())
	})
	return s, audit
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
	p, err := harness.Start(dir, "mcp-kubernetes-http", binary, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		seen.add(p.Tail(1 << 20))
		if t.Failed() {
			t.Logf("server log:\n%s", p.Tail(4000))
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := harness.WaitHTTP(context.Background(), p, url+"/healthz", "", http.DefaultClient, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return &httpServer{URL: url, Audit: audit, proc: p}
}

// bearer adds a token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func connect(t testing.TB, transport mcp.Transport) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	// The legacy SSE client keeps its stream on the Connect context: it
	// must outlive this function.
	s, err := client.Connect(context.Background(), transport, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func httpClient(token string) *http.Client {
	return &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
}

// auditLines reads a JSON-lines audit log.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	seen.add(string(raw))
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
