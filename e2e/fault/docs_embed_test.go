package fault_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestDocsEmbeddingModelFaults (issue 17): mcp-docs' upstream at call
// time is the embedding model (a real Ollama, through the proxy). Down,
// cut or stalled, docs_search answers within its time from the keyword
// index and says why, naming the model's address and the cause; the
// stalled request is cancelled; when Ollama is back, search is hybrid
// again without a restart; SIGTERM lets a call finish.
func TestDocsEmbeddingModelFaults(t *testing.T) {
	dir := t.TempDir()
	bin, err := harness.BuildBinary(dir, "mcp-docs", "mcp-docs")
	require.NoError(t, err)
	ollama, err := harness.StartOllama(upstreamCtx(t), dir)
	require.NoError(t, err)
	t.Cleanup(ollama.Stop)
	const model = "tiny-embed"
	require.NoError(t, ollama.CreateTiny(upstreamCtx(t), model, false, "num_ctx 2048"))

	docs := filepath.Join(dir, "docs")
	require.NoError(t, os.MkdirAll(docs, 0o755))
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf("# Runbook %d\n\nRestart the payments%d service after a failover.\n", i, i)
		require.NoError(t, os.WriteFile(filepath.Join(docs, fmt.Sprintf("rb%d.md", i)), []byte(body), 0o644))
	}
	cfg := filepath.Join(dir, "sources.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("sources:\n  - name: local\n    path: "+docs+"\n"), 0o644))
	db := filepath.Join(dir, "docs.db")
	// Vectors first, straight from Ollama.
	out, err := exec.Command(bin, "index", "--config", cfg, "--db", db, "--cache-dir", dir, "--embed-model", model, "--ollama-url", ollama.URL).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "embedded")

	proxy := proxyTo(t, strings.TrimPrefix(ollama.URL, "http://"))
	url := "http://" + proxy.Addr
	tg := target{module: "mcp-docs", args: []string{"serve", "--config", cfg, "--db", db, "--cache-dir", dir,
		"--embed-model", model, "--ollama-url", url, "--reindex-every", "0"}}
	s := startDocs(t, tg, bin)
	cs := connect(t, s)
	search := toolCall{"docs_search", map[string]any{"query": "restart payments3 service", "k": 3}}
	fallback := func(cause string) {
		t.Helper()
		r, took := timedCall(t, cs, search)
		require.False(t, r.IsError, r.Text)
		assert.Less(t, took, callTimeout, "the search waited out the call for the model")
		assert.Equal(t, "keyword", r.Data["mode"])
		note, _ := r.Data["note"].(string)
		assert.Contains(t, note, "embedding model "+model+" did not answer")
		assert.Contains(t, note, cause)
		assert.NotEmpty(t, r.Items(), "the keyword index still answers")
	}

	// Down: keyword, and the note names the model's address and cause.
	fallback(proxy.Addr)
	r, _ := timedCall(t, cs, search)
	assert.Contains(t, r.Data["note"], "connection refused")
	// Back: hybrid again, no restart.
	require.NoError(t, proxy.Pass())
	r, _ = timedCall(t, cs, search)
	require.False(t, r.IsError, r.Text)
	assert.Equal(t, "hybrid", r.Data["mode"], r.Text)
	// Cut in the middle of the answer.
	proxy.CutAfter(60)
	fallback("EOF")
	require.NoError(t, proxy.Pass())
	// Stalled: half the call's time, then keyword; the request is
	// cancelled.
	proxy.Stall()
	aborted := proxy.Aborted()
	fallback("deadline exceeded")
	require.Eventually(t, func() bool { return proxy.Aborted() > aborted }, 3*time.Second, 50*time.Millisecond,
		"the stalled embedding request was left running")
	require.NoError(t, proxy.Pass())
	r, _ = timedCall(t, cs, search)
	assert.Equal(t, "hybrid", r.Data["mode"], r.Text)
	assert.Equal(t, "ok", lastAudit(t, s, "docs_search")["outcome"])

	// SIGTERM while a search waits for a slow model: it finishes.
	proxy.Delay(time.Second)
	done := make(chan harness.Result, 1)
	go func() { r, _ := timedCall(t, cs, search); done <- r }()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, syscall.Kill(s.proc.Cmd.Process.Pid, syscall.SIGTERM))
	r = <-done
	assert.False(t, r.IsError, r.Text)
	require.Eventually(t, s.proc.Exited, 20*time.Second, 100*time.Millisecond)
	assert.Equal(t, 0, s.proc.Cmd.ProcessState.ExitCode())
	lines := harness.AuditLines(t, &seen, s.audit)
	assert.Equal(t, "docs_search", lines[len(lines)-1]["tool"])
	assert.Equal(t, "ok", lines[len(lines)-1]["outcome"])
}

// startDocs starts an already built mcp-docs serve over HTTP.
func startDocs(t *testing.T, tg target, bin string) *server {
	t.Helper()
	dir := t.TempDir()
	port, err := harness.FreePort()
	require.NoError(t, err)
	s := &server{url: fmt.Sprintf("http://127.0.0.1:%d", port), audit: filepath.Join(dir, "audit.log")}
	args := append(tg.args, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--audit-log", s.audit,
		"--call-timeout", callTimeout.String(), "--rate-limit", "0")
	s.proc = harness.StartServer(t, &seen, dir, tg.module, s.url, bin, args...)
	return s
}
