package logs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestHTTPPolicyNarrowsFiles serves over streamable HTTP and legacy SSE
// with bearer tokens and a policy whose "files" scope limits one role to
// the application's own logs; the audit log names the user of each call.
func TestHTTPPolicyNarrowsFiles(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("sre-tok-1f2e3d,alice,sre\napp-tok-9a8b7c,carol,app\n"), 0o600))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(fmt.Sprintf(`roles:
  sre:
    tools: ["*"]
  app:
    tools: ["logs_files", "logs_search", "logs_tail"]
    scopes:
      files: [%q]
`, filepath.Join(realFiles(), "app", "*"))), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	audit := filepath.Join(dir, "audit.log")
	harness.StartServer(t, &seen, dir, "mcp-logs-http", url, binary, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--loki-url", loki.URL, "--files-root", filesDir, "--auth-tokens", tokens, "--policy", policy, "--audit-log", audit)

	carol := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient("app-tok-9a8b7c")})
	r := mustCall(t, carol, "logs_files", map[string]any{})
	var names []string
	for _, it := range items(r) {
		rel, _ := filepath.Rel(realFiles(), fmt.Sprint(it["path"]))
		names = append(names, rel)
	}
	assert.Equal(t, []string{"app/app.log", "app/app.log.1", "app/events.json", "app/app.log.2.gz"}, names, "only the app folder")
	denied := call(t, carol, "logs_tail", map[string]any{"path": "nginx/access.log"})
	assert.True(t, denied.IsError)
	assert.Contains(t, denied.Text, "may not read")
	q := call(t, carol, "logs_query", map[string]any{"query": `{app="api"}`})
	assert.True(t, q.IsError)
	assert.Contains(t, q.Text, "may not call logs_query")

	alice := harness.Connect(t, &mcp.SSEClientTransport{Endpoint: url + "/sse", HTTPClient: harness.HTTPClient("sre-tok-1f2e3d")})
	r = mustCall(t, alice, "logs_tail", map[string]any{"path": "nginx/access.log", "lines": 2})
	assert.Len(t, items(r), 2)
	r = mustCall(t, alice, "logs_query", window(map[string]any{"query": `{namespace="web", app="worker"} |= "db connect"`}))
	assert.Len(t, items(r), 1)

	recs := harness.AuditLines(t, &seen, audit)
	users := map[string][]string{}
	for _, rec := range recs {
		users[fmt.Sprint(rec["user"])] = append(users[fmt.Sprint(rec["user"])], fmt.Sprint(rec["tool"])+":"+fmt.Sprint(rec["outcome"]))
	}
	assert.Equal(t, []string{"logs_files:ok", "logs_tail:denied", "logs_query:denied"}, users["carol"])
	assert.Equal(t, []string{"logs_tail:ok", "logs_query:ok"}, users["alice"])
}
