package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// whoami is a test server whose one tool answers with the caller it sees,
// read per request as the binder does, and counts its runs.
type whoami struct {
	mu    sync.Mutex
	calls []auth.Principal
}

func (w *whoami) newServer(p auth.Principal, _ string) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "0"}, nil)
	srv.AddTool(&mcp.Tool{Name: "whoami", InputSchema: map[string]any{"type": "object"}},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			caller := p
			if req.Extra != nil {
				if rp, ok := auth.FromTokenInfo(req.Extra.TokenInfo); ok {
					caller = rp
				}
			}
			w.mu.Lock()
			w.calls = append(w.calls, caller)
			w.mu.Unlock()
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: caller.User + " via " + caller.Via}}}, nil
		})
	return srv
}

func (w *whoami) runs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

const sessionTokens = "alice-tok,alice,viewer\nbob-tok,bob,viewer\norch-tok,orchestrator,delegate\n"

func sessionServer(t *testing.T, w *whoami) *httptest.Server {
	t.Helper()
	toks, err := auth.ParseTokens([]byte(sessionTokens))
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(HTTPOptions{NewServer: w.newServer, Verifier: toks,
		Delegation: &auth.Delegation{Delegates: []string{"orchestrator"}, Users: toks}}))
	t.Cleanup(srv.Close)
	return srv
}

// onBehalf sets the delegation header from the request context, as the
// orchestrator does for each call.
type onBehalf struct{ token string }

type userKey struct{}

func (o onBehalf) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+o.token)
	if u, ok := r.Context().Value(userKey{}).(string); ok {
		r.Header.Set(auth.HeaderOnBehalfOf, u)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// connect opens a 2025-11-25 session: sessions, and so their binding to a
// caller, exist only before 2026-07-28 (protocol_test.go covers that one).
func connect(t *testing.T, url string, rt http.RoundTripper) *mcp.ClientSession {
	t.Helper()
	return connectVersion(t, url, rt, "2025-11-25")
}

func connectVersion(t *testing.T, url string, rt http.RoundTripper, version string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "0"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url + "/mcp",
		HTTPClient: &http.Client{Transport: rt}, DisableStandaloneSSE: true, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callText(t *testing.T, cs *mcp.ClientSession, ctx context.Context) string {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.False(t, res.IsError)
	return res.Content[0].(*mcp.TextContent).Text
}

// TestSessionBoundToUser (issue 13): bob presenting alice's Mcp-Session-Id
// with his own valid token gets nothing, and no tool runs on it.
func TestSessionBoundToUser(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	cs := connect(t, srv.URL, auth.Bearer{Token: "alice-tok"})
	assert.Equal(t, "alice via ", callText(t, cs, context.Background()))
	require.Equal(t, 1, w.runs())

	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	for _, method := range []string{"POST", "GET", "DELETE"} {
		var rd io.Reader
		if method == "POST" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+"/mcp", rd)
		req.Header.Set("Authorization", "Bearer bob-tok")
		req.Header.Set("Mcp-Session-Id", cs.ID())
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: %s", method, got)
		assert.NotContains(t, string(got), "alice", method)
	}
	assert.Equal(t, 1, w.runs(), "bob's call on alice's session did not run")
	// alice's session survived bob's DELETE.
	assert.Equal(t, "alice via ", callText(t, cs, context.Background()))
}

// TestDelegateSession: the delegate's one session carries calls for many
// users, each seen as itself via the delegate; a user cannot take over the
// delegate's session.
func TestDelegateSession(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	cs := connect(t, srv.URL, onBehalf{token: "orch-tok"})
	for _, u := range []string{"alice", "bob", "alice"} {
		assert.Equal(t, u+" via orchestrator", callText(t, cs, context.WithValue(context.Background(), userKey{}, u)))
	}
	assert.Equal(t, "orchestrator via ", callText(t, cs, context.Background()), "without the header the delegate acts as itself")
	w.mu.Lock()
	assert.Equal(t, []string{"viewer"}, w.calls[0].Roles)
	assert.Equal(t, []string{"delegate"}, w.calls[0].ViaRoles)
	w.mu.Unlock()

	req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	req.Header.Set("Authorization", "Bearer alice-tok")
	req.Header.Set("Mcp-Session-Id", cs.ID())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, 4, w.runs())
}

// postURL records the URL of the client's last POST (the legacy
// transport's session endpoint).
type postURL struct {
	next http.RoundTripper
	mu   sync.Mutex
	url  string
}

func (p *postURL) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		p.mu.Lock()
		p.url = r.URL.String()
		p.mu.Unlock()
	}
	return p.next.RoundTrip(r)
}

// TestSSESessionBoundToUser: the legacy transport's sessions are bound
// the same way.
func TestSSESessionBoundToUser(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "0"}, nil)
	rec := &postURL{next: auth.Bearer{Token: "alice-tok"}}
	cs, err := c.Connect(context.Background(), &mcp.SSEClientTransport{Endpoint: srv.URL + "/sse",
		HTTPClient: &http.Client{Transport: rec}}, nil)
	require.NoError(t, err)
	defer cs.Close()
	assert.Equal(t, "alice via ", callText(t, cs, context.Background()))
	require.Contains(t, rec.url, "/message?sessionid=")
	req, _ := http.NewRequest("POST", rec.url,
		strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	req.Header.Set("Authorization", "Bearer bob-tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, 1, w.runs())
}

// fakeOIDC stands in for an OIDC verifier: anyone who can register with
// the provider (a Gitea sign-up) can pick any user name.
type fakeOIDC struct{}

func (fakeOIDC) Verify(_ context.Context, token string) (auth.Principal, error) {
	if name, ok := strings.CutPrefix(token, "oidc-"); ok {
		return auth.Principal{User: name, OIDC: true}, nil
	}
	return auth.Principal{}, auth.ErrUnauthenticated
}

// TestSessionBoundAcrossSources: an OIDC user who registered the name of
// a token-file user is another caller: alice's session id does not work
// for "alice" from the OIDC provider, on either transport.
func TestSessionBoundAcrossSources(t *testing.T) {
	w := &whoami{}
	toks, err := auth.ParseTokens([]byte(sessionTokens))
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(HTTPOptions{NewServer: w.newServer, Verifier: auth.Chain{toks, fakeOIDC{}}}))
	defer srv.Close()
	cs := connect(t, srv.URL, auth.Bearer{Token: "alice-tok"})
	assert.Equal(t, "alice via ", callText(t, cs, context.Background()))
	req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	req.Header.Set("Authorization", "Bearer oidc-alice")
	req.Header.Set("Mcp-Session-Id", cs.ID())
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "0"}, nil)
	rec := &postURL{next: auth.Bearer{Token: "alice-tok"}}
	sse, err := c.Connect(context.Background(), &mcp.SSEClientTransport{Endpoint: srv.URL + "/sse", HTTPClient: &http.Client{Transport: rec}}, nil)
	require.NoError(t, err)
	defer sse.Close()
	assert.Equal(t, "alice via ", callText(t, sse, context.Background()))
	req, _ = http.NewRequest("POST", rec.url, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	req.Header.Set("Authorization", "Bearer oidc-alice")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, 2, w.runs())
}

// TestSSEDelegation: on the legacy transport a session's caller is fixed
// when it opens, so a delegate opens one per user; a POST for another
// user on it is refused rather than run as the session's user.
func TestSSEDelegation(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "0"}, nil)
	ctx := context.WithValue(context.Background(), userKey{}, "alice")
	rec := &postURL{next: onBehalf{token: "orch-tok"}}
	sse, err := c.Connect(ctx, &mcp.SSEClientTransport{Endpoint: srv.URL + "/sse", HTTPClient: &http.Client{Transport: rec}}, nil)
	require.NoError(t, err)
	defer sse.Close()
	assert.Equal(t, "alice via orchestrator", callText(t, sse, ctx))
	for _, as := range []string{"bob", ""} {
		req, _ := http.NewRequest("POST", rec.url, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
		req.Header.Set("Authorization", "Bearer orch-tok")
		if as != "" {
			req.Header.Set(auth.HeaderOnBehalfOf, as)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "as %q", as)
	}
	assert.Equal(t, 1, w.runs())
}
