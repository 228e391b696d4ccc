package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// Recorder keeps every byte the servers sent, so a test at the end can
// prove no planted secret was among them.
type Recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Add records s.
func (r *Recorder) Add(s string) {
	r.mu.Lock()
	r.buf.WriteString(s)
	r.buf.WriteByte('\n')
	r.mu.Unlock()
}

// String returns everything recorded.
func (r *Recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// Result is one tool call's outcome as the client saw it.
type Result struct {
	Text    string
	Data    map[string]any
	IsError bool
}

// Items returns the result's "items" list.
func (r Result) Items() []map[string]any {
	raw, _ := r.Data["items"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

// Field returns one field of each item, as text.
func Field(items []map[string]any, key string) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(it[key]))
	}
	return out
}

// AssertNoSecrets fails the test if anything recorded holds one of the
// planted secrets; atLeast guards against a run that recorded nothing.
func AssertNoSecrets(t testing.TB, seen *Recorder, planted []string, atLeast int) {
	t.Helper()
	all := seen.String()
	if len(all) < atLeast {
		t.Fatalf("only %d bytes recorded: the other tests did not run", len(all))
	}
	for _, p := range planted {
		if strings.Contains(all, p) {
			t.Errorf("planted secret %.6s… came back from a server", p)
		}
	}
}

// Call calls a tool and records what came back in seen.
func Call(t testing.TB, seen *Recorder, s *mcp.ClientSession, name string, args map[string]any) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s %v: %v", name, args, err)
	}
	var r Result
	r.IsError = res.IsError
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			r.Text += tc.Text
		}
	}
	if res.StructuredContent != nil {
		raw, _ := json.Marshal(res.StructuredContent)
		seen.Add(string(raw))
		_ = json.Unmarshal(raw, &r.Data)
	}
	seen.Add(r.Text)
	return r
}

// MustCall calls a tool and fails the test on a tool error.
func MustCall(t testing.TB, seen *Recorder, s *mcp.ClientSession, name string, args map[string]any) Result {
	t.Helper()
	r := Call(t, seen, s, name, args)
	if r.IsError {
		t.Fatalf("%s %v: tool error: %s", name, args, r.Text)
	}
	return r
}

// StdioSession starts bin with args as an MCP server over stdio; its
// stderr is recorded in seen when the test ends.
func StdioSession(t testing.TB, seen *Recorder, bin string, args ...string) *mcp.ClientSession {
	t.Helper()
	cmd := exec.Command(bin, args...)
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
		seen.Add(stderr.String())
	})
	return s
}

// StartServer starts bin over HTTP (args must include its --listen
// address, url's host) and waits for /healthz; its log is recorded in seen
// when the test ends.
func StartServer(t testing.TB, seen *Recorder, dir, name, url, bin string, args ...string) *Proc {
	t.Helper()
	p, err := Start(dir, name, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		seen.Add(p.Tail(1 << 20))
		if t.Failed() {
			t.Logf("server log:\n%s", p.Tail(4000))
		}
	})
	if err := WaitHTTP(context.Background(), p, url+"/healthz", "", http.DefaultClient, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bearer adds a token to every request (the shared one).
type Bearer = auth.Bearer

// HTTPClient sends token on every request.
func HTTPClient(token string) *http.Client {
	return &http.Client{Transport: Bearer{Token: token, Next: http.DefaultTransport}}
}

// Connect opens an MCP session over transport, closed when the test ends.
func Connect(t testing.TB, transport mcp.Transport) *mcp.ClientSession {
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

// AuditLines reads a JSON-lines audit log, recording it in seen.
func AuditLines(t testing.TB, seen *Recorder, path string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	seen.Add(string(raw))
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

// Measure runs f once per benchmark iteration and reports the p50 and p99
// latency of a call.
func Measure(b *testing.B, f func() error) {
	var d []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}
