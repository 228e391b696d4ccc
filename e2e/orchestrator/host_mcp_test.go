package orchestrator_test

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

// httpKube runs the real mcp-kubernetes over HTTP on loopback with a
// token file (orchestrator: a delegate; alice a viewer; bob an sre), a
// policy, and --delegates orchestrator.
func httpKube(t *testing.T) (base, auditPath string) {
	t.Helper()
	require.NoError(t, kube.GrantReader(context.Background()))
	dir := t.TempDir()
	kc, err := kube.WriteKubeconfig("host-mcp.kubeconfig", kube.ReaderToken, "e2e")
	require.NoError(t, err)
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("orch-tok-9d41,orchestrator,sre\nalice-tok-2f6c,alice,viewer\nbob-tok-77ae,bob,sre\n"), 0o600))
	pol := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(pol, []byte("roles:\n  sre:\n    tools: [\"*\"]\n  viewer:\n    tools: [\"k8s_get\"]\n"), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	auditPath = filepath.Join(dir, "audit.log")
	harness.StartServer(t, &seen, dir, "mcp-kubernetes-host", base, k8sBin, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--kubeconfig", kc, "--auth-tokens", tokens, "--policy", pol, "--audit-log", auditPath, "--delegates", "orchestrator")
	return base, auditPath
}

// TestServerHostCheck: a real server's own /mcp and /sse refuse a
// rebinding page's Host even with a valid token (a page cannot have the
// token, but the check must not depend on that), and the loopback names
// work.
func TestServerHostCheck(t *testing.T) {
	base, auditPath := httpKube(t)
	port := mustURL(t, base).Port()
	evil := "rebind.attacker.example:" + port
	initMsg := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
	for _, r := range []rawReq{
		{method: "POST", path: "/mcp", host: evil, contentType: "application/json", token: "bob-tok-77ae", body: initMsg, header: map[string]string{"Accept": "application/json, text/event-stream"}},
		{method: "POST", path: "/mcp", host: evil, origin: "http://" + evil, contentType: "application/json", token: "bob-tok-77ae", body: initMsg, header: map[string]string{"Accept": "application/json, text/event-stream"}},
		{method: "GET", path: "/sse", host: evil, token: "bob-tok-77ae"},
		{method: "POST", path: "/message?sessionid=x", host: evil, contentType: "application/json", token: "bob-tok-77ae", body: initMsg},
	} {
		code, body := send(t, base, r)
		assert.Equal(t, http.StatusForbidden, code, "%s %s: %s", r.method, r.path, body)
		assert.Contains(t, body, "forbidden Host")
	}
	code, body := send(t, base, rawReq{method: "POST", path: "/mcp", host: "localhost:" + port, contentType: "application/json", token: "bob-tok-77ae",
		body: initMsg, header: map[string]string{"Accept": "application/json, text/event-stream"}})
	assert.Equal(t, http.StatusOK, code, body)
	// A text/plain body (a cross-site "simple" POST) is not an MCP message.
	code, _ = send(t, base, rawReq{method: "POST", path: "/mcp", contentType: "text/plain", token: "bob-tok-77ae", body: initMsg})
	assert.Equal(t, http.StatusUnsupportedMediaType, code)
	if _, err := os.Stat(auditPath); err == nil {
		assert.Empty(t, harness.AuditLines(t, &seen, auditPath), "no tool ran")
	}
}

// asUser sends X-Opsmcp-On-Behalf-Of for the user in the call's context,
// as the orchestrator does, with the delegate's own token.
type asUser struct{ token string }

type userCtxKey struct{}

func (a asUser) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+a.token)
	if u, ok := r.Context().Value(userCtxKey{}).(string); ok {
		r.Header.Set("X-Opsmcp-On-Behalf-Of", u)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestServerDelegation (issue 14): a delegate listed in --delegates acts
// for users of the server's own token file over one session: each call
// is held to its user's grant (alice, a viewer, may not run kubectl; bob
// may) and audited as the user via the delegate. A user who is not a
// delegate, and a user the server does not know, get nothing.
func TestServerDelegation(t *testing.T) {
	base, auditPath := httpKube(t)
	s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: &http.Client{Transport: asUser{token: "orch-tok-9d41"}}, MaxRetries: -1})
	call := func(user string) (bool, string) {
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), userCtxKey{}, user), time.Minute)
		defer cancel()
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "k8s_kubectl", Arguments: map[string]any{"command": "get namespaces"}})
		require.NoError(t, err)
		text := res.Content[0].(*mcp.TextContent).Text
		seen.Add(text)
		return res.IsError, text
	}
	isErr, text := call("alice")
	assert.True(t, isErr)
	assert.Contains(t, text, "denied: user alice")
	isErr, text = call("bob")
	assert.False(t, isErr, text)
	assert.Contains(t, text, "kube-system")

	var got []string
	for _, l := range harness.AuditLines(t, &seen, auditPath) {
		if l["tool"] == "k8s_kubectl" {
			got = append(got, fmt.Sprint(l["user"], " via ", l["via"], ": ", l["outcome"]))
		}
	}
	assert.Equal(t, []string{"alice via orchestrator: denied", "bob via orchestrator: ok"}, got)

	for name, c := range map[string]struct {
		token, user string
		code        int
		want        string
	}{
		"not a delegate": {"alice-tok-2f6c", "bob", http.StatusForbidden, "user alice may not act for others"},
		"unknown user":   {"orch-tok-9d41", "mallory", http.StatusForbidden, `user "mallory" is not in this server's --auth-tokens file`},
	} {
		code, body := send(t, base, rawReq{method: "POST", path: "/mcp", contentType: "application/json", token: c.token,
			header: map[string]string{"X-Opsmcp-On-Behalf-Of": c.user, "Accept": "application/json, text/event-stream"},
			body:   []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)})
		assert.Equal(t, c.code, code, name)
		assert.Contains(t, body, c.want, name)
	}
	assert.False(t, strings.Contains(seen.String(), "alice-tok-2f6c"), "no token echoed")
}
