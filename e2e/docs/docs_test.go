package docs_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

func session(t *testing.T) *mcp.ClientSession {
	return harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: docsURL + "/mcp", HTTPClient: harness.HTTPClient(serverToken)})
}

// sources returns docs_sources' items by name.
func sources(t *testing.T, s *mcp.ClientSession) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, it := range harness.MustCall(t, &seen, s, "docs_sources", nil).Items() {
		out[fmt.Sprint(it["name"])] = it
	}
	return out
}

// waitIndexed waits until the handbook source is at version with chunks.
func waitIndexed(t *testing.T, s *mcp.ClientSession, version string) map[string]map[string]any {
	t.Helper()
	var got map[string]map[string]any
	require.Eventually(t, func() bool {
		got = sources(t, s)
		h, l := got["handbook"], got["local"]
		return h != nil && l != nil && h["version"] == version && num(h["chunks"]) > 0 && num(l["chunks"]) > 0
	}, 90*time.Second, 250*time.Millisecond, "handbook indexed at %s: %v", version, got)
	return got
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// TestInitialIndex: at start the server indexed both sources, the git one
// at the pushed commit, every kind of document parsed, and every chunk
// embedded by the real Ollama.
func TestInitialIndex(t *testing.T) {
	s := session(t)
	got := waitIndexed(t, s, commit1)
	h, l := got["handbook"], got["local"]
	assert.Equal(t, "git", h["kind"])
	assert.Equal(t, "folder", l["kind"])
	assert.Equal(t, h["files"], l["files"], "the same corpus twice")
	assert.Equal(t, 14.0, h["files"])
	assert.Empty(t, h["error"])
	assert.True(t, strings.HasPrefix(fmt.Sprint(l["version"]), "sha256:"))
	// Identical texts share one vector: the second source needs none.
	assert.Equal(t, num(h["chunks"]), num(h["embedded"])+num(l["embedded"]))
	for kind, query := range map[string]string{"markdown": "kubectl", "asciidoc": "WireGuard", "pdf": "cards", "manifest": "orders-api",
		"helm": "payments", "terraform": "firewall", "pipeline": "reconcile"} {
		r := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": query, "kind": kind, "source": "handbook", "mode": "keyword", "k": 1})
		if assert.Len(t, r.Items(), 1, "a %s chunk is indexed", kind) {
			assert.Equal(t, kind, r.Items()[0]["kind"])
		}
	}
}

// TestSearchCitations: hybrid search with the real embedder, citations
// path#heading@commit, filters, and a PDF's page.
func TestSearchCitations(t *testing.T) {
	s := session(t)
	waitIndexed(t, s, commit1)
	r := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "pgbackrest point in time recovery", "source": "handbook"})
	assert.Equal(t, "hybrid", r.Data["mode"])
	items := r.Items()
	require.NotEmpty(t, items)
	var found bool
	for _, it := range items {
		if it["path"] == "runbooks/postgres-restore.md" && strings.Contains(fmt.Sprint(it["text"]), "pgbackrest --stanza=orders") {
			found = true
			assert.Equal(t, "runbooks/postgres-restore.md#Restore the orders database@"+commit1, it["citation"])
			assert.Equal(t, "handbook", it["source"])
		}
	}
	assert.True(t, found, "the restore runbook is among the hits: %v", harness.Field(items, "citation"))
	assert.Contains(t, r.Text, "mode: hybrid")

	r = harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "RTX 4090 cards", "kind": "pdf", "source": "handbook"})
	items = r.Items()
	require.NotEmpty(t, items)
	assert.Equal(t, "manuals/gpu-operations.pdf", items[0]["path"])
	assert.Contains(t, harness.Field(items, "citation"), "manuals/gpu-operations.pdf#GPU host maintenance (page 1)@"+commit1)

	r = harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "replicas", "path": "charts/**", "mode": "keyword"})
	for _, p := range harness.Field(r.Items(), "path") {
		assert.True(t, strings.HasPrefix(p, "charts/"), p)
	}
	r = harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "terraform firewall 11434", "version": commit1[:7], "mode": "keyword"})
	require.NotEmpty(t, r.Items())
	for _, it := range r.Items() {
		assert.Equal(t, "handbook", it["source"], "only the git source has that version")
	}

	bad := harness.Call(t, &seen, s, "docs_search", map[string]any{"query": "x", "kind": "spreadsheet"})
	assert.True(t, bad.IsError)
	assert.Contains(t, bad.Text, "use one of markdown")
	bad = harness.Call(t, &seen, s, "docs_search", map[string]any{"query": "  "})
	assert.True(t, bad.IsError)
	assert.Contains(t, bad.Text, "query is required")
}

// TestGetNeighboursAndSection: docs_get rebuilds around a hit.
func TestGetNeighboursAndSection(t *testing.T) {
	s := session(t)
	waitIndexed(t, s, commit1)
	r := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "WireGuard Tailscale options", "kind": "asciidoc", "source": "local", "mode": "keyword", "k": 1})
	require.Len(t, r.Items(), 1)
	id := r.Items()[0]["id"]
	g := harness.MustCall(t, &seen, s, "docs_get", map[string]any{"id": id, "section": true})
	var text strings.Builder
	for _, it := range g.Items() {
		assert.Equal(t, "adr/0007-wireguard-mesh.adoc", it["path"])
		text.WriteString(fmt.Sprint(it["text"]))
	}
	assert.Contains(t, text.String(), "Plain WireGuard")
	g = harness.MustCall(t, &seen, s, "docs_get", map[string]any{"id": id, "neighbours": 3})
	assert.NotEmpty(t, g.Items())
	bad := harness.Call(t, &seen, s, "docs_get", map[string]any{"id": "0123456789abcdef"})
	assert.True(t, bad.IsError)
	assert.Contains(t, bad.Text, "search again")
}

// TestSecretsNeverIndexed: the planted password and token are masked in
// what the tools return and absent from every byte of the index.
func TestSecretsNeverIndexed(t *testing.T) {
	s := session(t)
	waitIndexed(t, s, commit1)
	r := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "inventory cron DSN deploy key", "mode": "keyword", "path": "runbooks/legacy-db.md"})
	require.NotEmpty(t, r.Items())
	assert.Contains(t, r.Text, "[MASKED:")
	assert.Contains(t, r.Text, "pgloader", "the rest of the runbook is there")
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		raw, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, p := range []string{plantedPw, plantedToken} {
			assert.NotContains(t, string(raw), p, "%s holds a planted secret", filepath.Base(f))
		}
	}
}

// embedCalls counts Ollama's own log lines for POST /api/embed.
func embedCalls(t *testing.T) int {
	raw, err := os.ReadFile(ollama.Proc.Log)
	require.NoError(t, err)
	return strings.Count(string(raw), `| POST     "/api/embed"`)
}

// TestWebhookReindex: a push to Gitea is delivered by Gitea to two hooks,
// one with the right secret (re-indexes) and one with a wrong secret
// (refused); exactly the changed chunk is embedded again, and citations
// carry the new commit.
func TestWebhookReindex(t *testing.T) {
	s := session(t)
	waitIndexed(t, s, commit1)
	for _, secret := range []string{hookSecret, "not-the-secret-000"} {
		_, _, err := admin.CreateRepoHook(repoOwner, repoName, gitea.CreateHookOption{Type: gitea.HookTypeGitea, Active: true, Events: []string{"push"},
			Config: map[string]string{"url": docsURL + "/webhook/gitea", "content_type": "json", "secret": secret}})
		require.NoError(t, err)
	}
	before := embedCalls(t)
	beforeHook := strings.Count(docsProc.Tail(1<<20), "webhook refused: bad signature")

	p := filepath.Join(checkout, "runbooks", "node-drain.md")
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	edited := strings.Replace(string(raw), "flannel needs a restart", "flannel needs a restart (see the CNI runbook)", 1)
	require.NotEqual(t, string(raw), edited)
	require.NoError(t, os.WriteFile(p, []byte(edited), 0o644))
	ctx := context.Background()
	_, err = harness.Git(ctx, checkout, author, "2026-11-21T09:00:00Z", "commit", "-q", "-am", "node drain: point at the CNI runbook")
	require.NoError(t, err)
	commit2, err := harness.Git(ctx, checkout, author, "", "rev-parse", "--short=12", "HEAD")
	require.NoError(t, err)
	_, err = harness.Git(ctx, checkout, author, "", "push", "-q", "origin", "main")
	require.NoError(t, err)

	got := waitIndexed(t, s, commit2)
	h := got["handbook"]
	assert.Equal(t, 1.0, h["changed"], "one file changed")
	assert.Equal(t, 1.0, h["embedded"], "one chunk embedded")
	assert.Equal(t, 1, embedCalls(t)-before, "Ollama saw one embed request")
	require.Eventually(t, func() bool {
		return strings.Count(docsProc.Tail(1<<20), "webhook refused: bad signature") > beforeHook
	}, 20*time.Second, 100*time.Millisecond, "the wrong-secret hook was refused")
	assert.Contains(t, docsProc.Tail(1<<20), "webhook: re-indexing")

	r := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "flannel CNI runbook", "source": "handbook", "mode": "keyword", "k": 1})
	require.Len(t, r.Items(), 1)
	assert.Equal(t, "runbooks/node-drain.md#Drain a Kubernetes node@"+commit2, r.Items()[0]["citation"])
	assert.Contains(t, r.Items()[0]["text"], "see the CNI runbook")
	r = harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "pgbackrest", "source": "handbook", "mode": "keyword", "k": 1})
	require.Len(t, r.Items(), 1)
	assert.True(t, strings.HasSuffix(fmt.Sprint(r.Items()[0]["citation"]), "@"+commit2), "unchanged files move to the new commit too")

	// Forged deliveries straight to the server.
	push := fmt.Sprintf(`{"ref":"refs/heads/main","after":"x","repository":{"full_name":"%s/%s","clone_url":"%s/%s/%s.git"}}`, repoOwner, repoName, forge.URL, repoOwner, repoName)
	code, body := post(t, push, sign("wrong-secret-xyz", push))
	assert.Equal(t, http.StatusUnauthorized, code, body)
	other := `{"ref":"refs/heads/main","repository":{"full_name":"someone/else","clone_url":"http://127.0.0.1:1/someone/else.git"}}`
	code, body = post(t, other, sign(hookSecret, other))
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "no source follows someone/else")
}

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func post(t *testing.T, body, sig string) (int, string) {
	req, _ := http.NewRequest("POST", docsURL+"/webhook/gitea", strings.NewReader(body))
	req.Header.Set("X-Gitea-Signature", sig)
	req.Header.Set("X-Gitea-Event", "push")
	id := make([]byte, 16)
	rand.Read(id)
	req.Header.Set("X-Gitea-Delivery", hex.EncodeToString(id))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return resp.StatusCode, b.String()
}

// TestIndexCommand: `mcp-docs index` on a folder, run twice: the second
// run changes nothing; with Ollama unreachable, `serve` answers by
// keyword and says so.
func TestIndexCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sources.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("sources:\n  - name: local\n    path: "+corpus+"\n"), 0o600))
	run := func(ollamaURL string) []map[string]any {
		cmd := exec.Command(binary, "index", "--config", cfg, "--db", filepath.Join(dir, "docs.db"), "--cache-dir", dir,
			"--embed-model", embedModel, "--ollama-url", ollamaURL, "--json")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, stderr.String())
		seen.Add(string(out) + stderr.String())
		assert.Contains(t, stderr.String(), "[local] done: files 14/14", "progress is shown")
		var reps []map[string]any
		require.NoError(t, json.Unmarshal(out, &reps))
		require.Len(t, reps, 1)
		return reps
	}
	deadPort, _ := harness.FreePort()
	first := run(fmt.Sprintf("http://127.0.0.1:%d", deadPort))
	assert.Equal(t, 14.0, first[0]["changed"])
	assert.Contains(t, first[0]["embed_error"], "connection refused")
	second := run(ollama.URL)
	assert.Equal(t, 0.0, second[0]["changed"])
	assert.Greater(t, second[0]["embedded"], 10.0, "what the outage left is embedded now")

	// A server whose model host is down: keyword answers, and says why.
	port, _ := harness.FreePort()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	harness.StartServer(t, &seen, dir, "mcp-docs-keyword", url, binary, "serve", "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--config", cfg, "--db", filepath.Join(dir, "docs.db"), "--cache-dir", dir, "--embed-model", embedModel,
		"--ollama-url", fmt.Sprintf("http://127.0.0.1:%d", deadPort), "--reindex-every", "0")
	s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp"})
	r := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": "restore the orders database"})
	assert.Equal(t, "keyword", r.Data["mode"])
	assert.Contains(t, r.Data["note"], "did not answer")
	require.NotEmpty(t, r.Items())
	assert.Equal(t, "runbooks/postgres-restore.md", r.Items()[0]["path"])
}
