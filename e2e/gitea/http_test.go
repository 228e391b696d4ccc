package gitea_test

import (
	"context"
	"fmt"
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

// giteaToken sends a caller's own Gitea token beside the MCP bearer token.
type giteaToken struct {
	token string
	next  http.RoundTripper
}

func (g giteaToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Gitea-Token", g.token)
	return g.next.RoundTrip(r)
}

// httpServer starts mcp-gitea over HTTP with the reader's Gitea token,
// bearer tokens ("token,user,role" lines) and a policy, plus extra flags;
// it returns the server's URL and its audit log.
func httpServer(t *testing.T, name, tokens, policy string, extra ...string) (url, audit string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"tokens": tokens, "policy.yaml": policy, "gitea-token": readerToken}
	for f, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600))
	}
	port, err := harness.FreePort()
	require.NoError(t, err)
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	audit = filepath.Join(dir, "audit.log")
	args := append([]string{"--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--gitea-url", forge.URL, "--gitea-token-file", filepath.Join(dir, "gitea-token"), "--auth-tokens", filepath.Join(dir, "tokens"),
		"--policy", filepath.Join(dir, "policy.yaml"), "--audit-log", audit, "--mirror-dir", filepath.Join(dir, "mirrors")}, extra...)
	harness.StartServer(t, &seen, dir, name, url, binary, args...)
	return url, audit
}

// TestHTTPCallerTokensAndPolicy serves over streamable HTTP with bearer
// tokens and a policy; one caller brings her own Gitea token and so reads
// only what Gitea lets her; a role's "repos" scope narrows another; the
// audit log names each user.
func TestHTTPCallerTokensAndPolicy(t *testing.T) {
	url, audit := httpServer(t, "mcp-gitea-http", "sre-7c1d,alice,sre\ncarol-2b9e,carol,sre\nweb-5f3a,walt,web\n", `roles:
  sre:
    tools: ["*"]
  web:
    tools: ["gitea_*"]
    scopes:
      repos: ["ops/site"]
`, "--caller-tokens")

	alice := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient("sre-7c1d")})
	r := mustCall(t, alice, "gitea_file", map[string]any{"repo": "ops/vault", "path": "README.md"})
	assert.Contains(t, r.Text, "break-glass", "the server's own token reads the private repo")
	// alice's search keeps the server's repository list (vault in it);
	// carol's below must not be answered from it.
	hits := mustCall(t, alice, "gitea_search", map[string]any{"query": "break-glass"})
	assert.Contains(t, field(items(hits), "repo"), "ops/vault")

	carolHTTP := &http.Client{Transport: giteaToken{token: carolToken, next: harness.Bearer{Token: "carol-2b9e", Next: http.DefaultTransport}}}
	carol := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: carolHTTP})
	repos := mustCall(t, carol, "gitea_repos", map[string]any{})
	assert.Equal(t, []string{"ops/infra", "ops/site"}, field(items(repos), "name"), "carol's own token does not see vault")
	for _, tool := range []string{"gitea_file", "gitea_blame"} {
		r := call(t, carol, tool, map[string]any{"repo": "ops/vault", "path": "README.md"})
		assert.True(t, r.IsError, tool)
		assert.Contains(t, r.Text, "not found (or not visible to this identity)", tool)
		assert.NotContains(t, r.Text, "break-glass")
	}
	hits = mustCall(t, carol, "gitea_search", map[string]any{"query": "break-glass"})
	assert.Empty(t, items(hits), "search through carol's token skips what she cannot see, even from a shared mirror")

	walt := harness.Connect(t, &mcp.SSEClientTransport{Endpoint: url + "/sse", HTTPClient: harness.HTTPClient("web-5f3a")})
	repos = mustCall(t, walt, "gitea_repos", map[string]any{})
	assert.Equal(t, []string{"ops/site"}, field(items(repos), "name"))
	denied := call(t, walt, "gitea_file", map[string]any{"repo": "ops/infra", "path": "README.md"})
	assert.True(t, denied.IsError)
	assert.Contains(t, denied.Text, "may not read ops/infra")

	recs := harness.AuditLines(t, &seen, audit)
	byUser := map[string][]string{}
	for _, rec := range recs {
		byUser[fmt.Sprint(rec["user"])] = append(byUser[fmt.Sprint(rec["user"])], fmt.Sprint(rec["tool"], ":", rec["outcome"]))
	}
	assert.Equal(t, []string{"gitea_file:ok", "gitea_search:ok"}, byUser["alice"])
	assert.Equal(t, []string{"gitea_repos:ok", "gitea_file:error", "gitea_blame:error", "gitea_search:ok"}, byUser["carol"])
	assert.Equal(t, []string{"gitea_repos:ok", "gitea_file:denied"}, byUser["walt"])
	raw, _ := os.ReadFile(audit)
	assert.NotContains(t, string(raw), carolToken, "the caller's Gitea token is never audited")
}

// TestMirrorRefreshesWhenStale pushes a commit after the mirror was made:
// within the TTL the mirror answers from its copy, after it the new commit
// shows in blame.
func TestMirrorRefreshesWhenStale(t *testing.T) {
	s, _ := session(t, "--mirror-ttl", "2s")
	before := mustCall(t, s, "gitea_search", map[string]any{"query": "refresh-marker", "repos": []string{"ops/site"}})
	assert.Empty(t, items(before))
	ctx := context.Background()
	dir := filepath.Join(workDir, "site-src")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("refresh-marker: added after the mirror\n"), 0o644))
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "Add notes"}, {"push", "-q", remote("site"), "main"}} {
		_, err := git(ctx, dir, bob, "2026-03-01T08:00:00Z", args...)
		require.NoError(t, err)
	}
	time.Sleep(2500 * time.Millisecond)
	after := mustCall(t, s, "gitea_search", map[string]any{"query": "refresh-marker", "repos": []string{"ops/site"}})
	assert.Equal(t, []string{"NOTES.md"}, field(items(after), "path"))
	b := mustCall(t, s, "gitea_blame", map[string]any{"repo": "ops/site", "path": "NOTES.md"})
	assert.Equal(t, "Add notes", items(b)[0]["summary"])
	assert.True(t, strings.HasPrefix(fmt.Sprint(items(b)[0]["author"]), "Bob"))
}
