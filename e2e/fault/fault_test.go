// Package fault_test puts a loopback TCP proxy the test controls between
// each built server and its real upstream, and checks issue 17: a server
// starts without its upstream and says so; it recovers when the upstream
// comes back; a call whose upstream dies or stalls ends within its
// timeout with an error that names the upstream, and the stalled request
// is cancelled upstream too; SIGTERM lets a call in flight finish.
package fault_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// callTimeout is every server's --call-timeout here: short, so the suite
// stays quick; the binder answers at most 2 s (its grace) after it.
const callTimeout = 3 * time.Second

type toolCall struct {
	tool string
	args map[string]any
}

// target is one server under test.
type target struct {
	module   string // and binary name
	upstream string // how errors name the upstream
	addr     string // the upstream address errors must give (the proxy's)
	args     []string
	read     toolCall // reads the upstream; works when it is up
	// quick answers without waiting for the upstream (an argument error
	// or a local tool): another session's call during a stall.
	quick toolCall
	// more are further reads that fail while the upstream is down and
	// work once it is back (another client: git mirrors).
	more []toolCall
}

var seen harness.Recorder

type server struct {
	proc  *harness.Proc
	url   string
	audit string
}

func start(t *testing.T, tg target) *server {
	t.Helper()
	dir := t.TempDir()
	bin, err := harness.BuildBinary(dir, tg.module, tg.module)
	require.NoError(t, err)
	port, err := harness.FreePort()
	require.NoError(t, err)
	s := &server{url: fmt.Sprintf("http://127.0.0.1:%d", port), audit: filepath.Join(dir, "audit.log")}
	args := append([]string{"--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--audit-log", s.audit,
		"--call-timeout", callTimeout.String(), "--rate-limit", "0"}, tg.args...)
	s.proc = harness.StartServer(t, &seen, dir, tg.module, s.url, bin, args...)
	return s
}

func connect(t *testing.T, s *server) *mcp.ClientSession {
	t.Helper()
	return harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: s.url + "/mcp"})
}

// timedCall calls a tool and returns what came back and how long it took.
func timedCall(t *testing.T, cs *mcp.ClientSession, c toolCall) (harness.Result, time.Duration) {
	t.Helper()
	start := time.Now()
	r := harness.Call(t, &seen, cs, c.tool, c.args)
	return r, time.Since(start)
}

// lastAudit is the last audit line of tool.
func lastAudit(t *testing.T, s *server, tool string) map[string]any {
	t.Helper()
	var last map[string]any
	for _, l := range harness.AuditLines(t, &seen, s.audit) {
		if l["tool"] == tool {
			last = l
		}
	}
	require.NotNil(t, last, "no audit line for %s", tool)
	return last
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// assertUpstreamError checks a call's error names the upstream and is
// not the caller's.
func assertUpstreamError(t *testing.T, tg target, r harness.Result, want ...string) {
	t.Helper()
	require.True(t, r.IsError, "a failed upstream must not give a result: %s", r.Text)
	assert.Contains(t, r.Text, "upstream error")
	assert.Contains(t, r.Text, tg.upstream+" at "+tg.addr)
	for _, w := range want {
		assert.Contains(t, r.Text, w)
	}
	assert.NotContains(t, r.Text, "invalid arguments")
	assert.NotContains(t, r.Text, "unknown resource type")
	assert.NotContains(t, r.Text, "denied")
}

// runFaults drives one server through its upstream's faults; proxy starts
// refusing.
func runFaults(t *testing.T, tg target, proxy *harness.FaultProxy) {
	s := start(t, tg)
	cs := connect(t, s)

	// (a) Not started: tools/list at once; a call errors at once naming
	// the upstream, its address and the cause; /readyz says which and
	// since when; audit and metrics say upstream_error.
	begin := time.Now()
	tools, err := cs.ListTools(context.Background(), nil)
	require.NoError(t, err)
	assert.NotEmpty(t, tools.Tools)
	assert.Less(t, time.Since(begin), 2*time.Second, "tools/list without the upstream")
	r, took := timedCall(t, cs, tg.read)
	assertUpstreamError(t, tg, r, "connection refused")
	assert.Less(t, took, 2*time.Second, "a call to a down upstream answers at once")
	assert.Equal(t, "upstream_error", lastAudit(t, s, tg.read.tool)["outcome"])
	code, body := get(t, s.url+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "not ready: "+tg.upstream+" unreachable since ")
	assert.Contains(t, body, "connection refused")
	_, metrics := get(t, s.url+"/metrics")
	assert.Contains(t, metrics, fmt.Sprintf(`opsmcp_tool_calls_total{outcome="upstream_error",server=%q,tool=%q} 1`, tg.module, tg.read.tool))
	for _, c := range tg.more {
		r, _ := timedCall(t, cs, c)
		assertUpstreamError(t, tg, r)
	}
	// An argument error of the same server stays the caller's.
	r, _ = timedCall(t, cs, tg.quick)
	if r.IsError {
		assert.Contains(t, r.Text, "invalid arguments")
		assert.NotContains(t, r.Text, "upstream error")
		assert.Equal(t, "error", lastAudit(t, s, tg.quick.tool)["outcome"])
	}

	// (b) Started: the next call works, without a restart.
	require.NoError(t, proxy.Pass())
	r, _ = timedCall(t, cs, tg.read)
	require.False(t, r.IsError, "after the upstream came back: %s", r.Text)
	assert.Equal(t, "ok", lastAudit(t, s, tg.read.tool)["outcome"])
	for _, c := range tg.more {
		r, _ := timedCall(t, cs, c)
		require.False(t, r.IsError, "%s after the upstream came back: %s", c.tool, r.Text)
	}
	code, body = get(t, s.url+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)

	// (c) Killed in the middle of a call: the call ends within its
	// timeout with the upstream's error, never a partial result; the
	// process stays up and the next call works.
	proxy.CutAfter(120)
	r, took = timedCall(t, cs, tg.read)
	assertUpstreamError(t, tg, r)
	assert.Less(t, took, callTimeout+3*time.Second)
	assert.Equal(t, "upstream_error", lastAudit(t, s, tg.read.tool)["outcome"])
	require.NoError(t, proxy.Pass())
	require.False(t, s.proc.Exited(), "the server died with its upstream")
	r, _ = timedCall(t, cs, tg.read)
	require.False(t, r.IsError, "after the cut: %s", r.Text)

	// (d) Slow: the call times out with "timed out after 3 s waiting for
	// <upstream>", its request is aborted (the proxy sees the client
	// hang up), and another session is not held up meanwhile.
	proxy.Stall()
	aborted := proxy.Aborted()
	type answer struct {
		r    harness.Result
		took time.Duration
	}
	done := make(chan answer, 1)
	go func() {
		r, took := timedCall(t, cs, tg.read)
		done <- answer{r, took}
	}()
	time.Sleep(500 * time.Millisecond)
	other := connect(t, s)
	_, quickTook := timedCall(t, other, tg.quick)
	assert.Less(t, quickTook, callTimeout-time.Second, "another session's call waited for the stalled one")
	a := <-done
	assertUpstreamError(t, tg, a.r, "timed out after 3 s waiting for "+tg.upstream+" at "+tg.addr)
	assert.Less(t, a.took, callTimeout+3*time.Second)
	assert.GreaterOrEqual(t, a.took, callTimeout-100*time.Millisecond)
	rec := lastAudit(t, s, tg.read.tool)
	assert.Equal(t, "upstream_error", rec["outcome"])
	assert.Contains(t, rec["error"], "timed out after 3 s")
	require.Eventually(t, func() bool { return proxy.Aborted() > aborted }, 3*time.Second, 50*time.Millisecond,
		"the stalled request was left running upstream")
	require.NoError(t, proxy.Pass())
	r, _ = timedCall(t, cs, tg.read)
	require.False(t, r.IsError, "after the stall: %s", r.Text)

	// (e) SIGTERM during a call: the call finishes, its audit line is
	// written, the process exits 0.
	proxy.Delay(1500 * time.Millisecond)
	go func() {
		r, took := timedCall(t, cs, tg.read)
		done <- answer{r, took}
	}()
	time.Sleep(500 * time.Millisecond)
	auditBefore := len(harness.AuditLines(t, &seen, s.audit))
	require.NoError(t, syscall.Kill(s.proc.Cmd.Process.Pid, syscall.SIGTERM))
	a = <-done
	assert.False(t, a.r.IsError, "the call in flight at SIGTERM: %s", a.r.Text)
	require.Eventually(t, s.proc.Exited, 20*time.Second, 100*time.Millisecond, "the server did not exit after SIGTERM")
	assert.Equal(t, 0, s.proc.Cmd.ProcessState.ExitCode(), "exit code after SIGTERM")
	lines := harness.AuditLines(t, &seen, s.audit)
	require.Greater(t, len(lines), auditBefore, "the call's audit line was not written")
	assert.Equal(t, tg.read.tool, lines[len(lines)-1]["tool"])
	assert.Equal(t, "ok", lines[len(lines)-1]["outcome"])
	assert.Contains(t, s.proc.Tail(1<<16), "shutting down")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// Nothing any server sent carried a raw upstream error that
		// blamed the caller.
		if strings.Contains(seen.String(), `"outcome":"error","error":"upstream error`) {
			fmt.Fprintln(os.Stderr, "an upstream error was audited as the caller's")
			code = 1
		}
	}
	os.Exit(code)
}

// writeJSON writes v as JSON to path.
func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}
