package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
)

type whoIn struct {
	Tag string `json:"tag"`
}

// seenCall is what the MCP server saw of one tool call: the identity
// headers and traceparent of the HTTP request that carried it, and its
// _meta.traceparent.
type seenCall struct {
	Tag, OnBehalfOf, UserToken, Traceparent, MetaTraceparent, Authorization string
}

// recordingServer is a real go-sdk streamable HTTP MCP server whose one
// tool reports the headers of the request that carried it; every HTTP
// request's identity headers are recorded too, with its JSON-RPC method.
type recordingServer struct {
	URL   string
	mu    sync.Mutex
	calls map[string]seenCall
	other []string // methods of requests that carried an identity header but were not tool calls
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	rs := &recordingServer{calls: map[string]seenCall{}}
	srv := mcp.NewServer(&mcp.Implementation{Name: "rec"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "rec_who", Description: "who is asking"}, func(ctx context.Context, r *mcp.CallToolRequest, in whoIn) (*mcp.CallToolResult, any, error) {
		h := r.Extra.Header
		c := seenCall{Tag: in.Tag, OnBehalfOf: h.Get(auth.HeaderOnBehalfOf), UserToken: h.Get(auth.HeaderUserToken),
			Traceparent: h.Get("traceparent"), Authorization: h.Get("Authorization")}
		if m := r.Params.Meta; m != nil {
			c.MetaTraceparent, _ = m["traceparent"].(string)
		}
		rs.mu.Lock()
		rs.calls[in.Tag] = c
		rs.mu.Unlock()
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok " + in.Tag}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(auth.HeaderOnBehalfOf) != "" || r.Header.Get(auth.HeaderUserToken) != "" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			var msg struct {
				Method string `json:"method"`
			}
			json.Unmarshal(body, &msg)
			if msg.Method != "tools/call" {
				rs.mu.Lock()
				rs.other = append(rs.other, r.Method+" "+msg.Method)
				rs.mu.Unlock()
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	rs.URL = hs.URL
	return rs
}

func (rs *recordingServer) seen(tag string) seenCall {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.calls[tag]
}

func connectURL(t *testing.T, url, extra string) *Catalog {
	t.Helper()
	dir := t.TempDir()
	tf := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tf, []byte("orch-own-token\n"), 0o600))
	cfgPath := filepath.Join(dir, "servers.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf("servers:\n  - name: rec\n    url: %s\n    token_file: %s\n%s", url, tf, extra)), 0o600))
	cfg, err := Load(cfgPath)
	require.NoError(t, err)
	c, err := Connect(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// TestIdentityForwarding: over one streamable HTTP session, each call made
// for a user carries that user (X-Opsmcp-On-Behalf-Of for a token-file
// user, the user's own bearer in X-Opsmcp-User-Token for an OIDC user),
// calls in flight for different users at once each carry their own, a
// call made for no user carries neither, the orchestrator's own token
// goes on every request, and each call carries the answer's trace id in
// the traceparent header and _meta.traceparent with a span of its own.
func TestIdentityForwarding(t *testing.T) {
	rs := newRecordingServer(t)
	c := connectURL(t, rs.URL+"/mcp", "")
	trace := NewTraceID()
	base := WithTrace(context.Background(), trace)

	call := func(ctx context.Context, tag string) {
		res, err := c.Call(ctx, "rec_who", map[string]any{"tag": tag})
		require.NoError(t, err, tag)
		require.Equal(t, "ok "+tag, res.Text)
	}
	call(ForUser(base, auth.Principal{User: "ann", Roles: []string{"web"}}, "ann-file-token"), "ann")
	call(ForUser(base, auth.Principal{User: "olga", OIDC: true}, "eyJ.olga.jwt"), "olga")
	call(context.Background(), "self")

	ann := rs.seen("ann")
	assert.Equal(t, "ann", ann.OnBehalfOf)
	assert.Empty(t, ann.UserToken, "a token-file user's token is the orchestrator's to check; it never goes on")
	assert.Equal(t, "Bearer orch-own-token", ann.Authorization, "the orchestrator calls with its own token")
	olga := rs.seen("olga")
	assert.Equal(t, "eyJ.olga.jwt", olga.UserToken)
	assert.Empty(t, olga.OnBehalfOf)
	self := rs.seen("self")
	assert.Equal(t, seenCall{Tag: "self", Authorization: "Bearer orch-own-token"}, self, "no user, no trace: nothing but the own token")

	var spans []string
	for _, sc := range []seenCall{ann, olga} {
		m := traceparentRE.FindStringSubmatch(sc.Traceparent)
		require.NotNil(t, m, sc.Traceparent)
		assert.Equal(t, trace, m[1])
		assert.Equal(t, sc.Traceparent, sc.MetaTraceparent, "the header and _meta say the same")
		spans = append(spans, m[2])
	}
	assert.NotEqual(t, spans[0], spans[1], "a span per call")

	// Many users at once on the one session: each call its own user.
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprintf("user%02d", i)
			call(ForUser(base, auth.Principal{User: u}, ""), u)
		}()
	}
	wg.Wait()
	for i := range 24 {
		u := fmt.Sprintf("user%02d", i)
		assert.Equal(t, u, rs.seen(u).OnBehalfOf)
	}
	rs.mu.Lock()
	assert.Empty(t, rs.other, "identity headers only ever ride on tool calls")
	rs.mu.Unlock()

	// A user name that would split the header is refused before sending.
	_, err := c.Call(ForUser(base, auth.Principal{User: "eve\r\nX-Opsmcp-On-Behalf-Of: admin"}, ""), "rec_who", map[string]any{"tag": "eve"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot be passed on in a header")
	_, err = c.Call(ForUser(base, auth.Principal{User: "olga", OIDC: true}, ""), "rec_who", map[string]any{"tag": "olga2"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no bearer token to pass on")
	assert.Empty(t, rs.seen("eve").Tag)
	assert.Empty(t, rs.seen("olga2").Tag)

	// A trace id that is not one is not sent.
	call(WithTrace(context.Background(), "not-a-trace\r\n"), "badtrace")
	assert.Empty(t, rs.seen("badtrace").Traceparent)
	assert.Empty(t, rs.seen("badtrace").MetaTraceparent)
}

// TestUserCallsAsOrchestrator: a server the config says applies the
// orchestrator's own identity gets no user headers, and its calls for a
// user run; a spawned (stdio) server, which cannot be told the user, is
// refused calls made for a user unless the config says so.
func TestUserCallsAsOrchestrator(t *testing.T) {
	rs := newRecordingServer(t)
	c := connectURL(t, rs.URL+"/mcp", "    user_calls: as-orchestrator\n")
	_, err := c.Call(ForUser(WithTrace(context.Background(), NewTraceID()), auth.Principal{User: "ann"}, ""), "rec_who", map[string]any{"tag": "ann"})
	require.NoError(t, err)
	ann := rs.seen("ann")
	assert.Empty(t, ann.OnBehalfOf)
	assert.Empty(t, ann.UserToken)
	assert.Regexp(t, traceparentRE, ann.Traceparent, "the trace still goes")

	// In memory, as a stdio server would be: refused for a user by
	// default, run for the orchestrator itself, run for a user once the
	// config says as-orchestrator.
	var peak int32
	mem := slow(t, &peak)
	_, err = mem.Call(ForUser(context.Background(), auth.Principal{User: "ann"}, ""), "slow_sleep", map[string]any{"ms": 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot be told who the user is")
	assert.Contains(t, err.Error(), "user_calls: as-orchestrator")
	_, err = mem.Call(context.Background(), "slow_sleep", map[string]any{"ms": 1})
	require.NoError(t, err)
	mem.SetUserCalls("slow", UserCallsAsOrchestrator)
	_, err = mem.Call(ForUser(context.Background(), auth.Principal{User: "ann"}, ""), "slow_sleep", map[string]any{"ms": 1})
	require.NoError(t, err)
}

func TestUserCallsConfig(t *testing.T) {
	for body, want := range map[string]string{
		"servers:\n  - name: k\n    command: /bin/true\n    user_calls: headers\n":      "user_calls headers needs a url server",
		"servers:\n  - name: k\n    url: http://127.0.0.1:1/mcp\n    user_calls: yes\n": `user_calls is "yes"`,
	} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		_, err := Load(p)
		require.Error(t, err, body)
		assert.Contains(t, err.Error(), want)
	}
	assert.Equal(t, UserCallsHeaders, Server{URL: "http://x/mcp"}.userCalls())
	assert.Equal(t, UserCallsRefuse, Server{Command: "x"}.userCalls())
	assert.Equal(t, UserCallsAsOrchestrator, Server{Command: "x", UserCalls: UserCallsAsOrchestrator}.userCalls())
}

func TestTraceID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewTraceID()
		assert.True(t, validTrace(id), id)
		assert.False(t, seen[id])
		seen[id] = true
	}
	assert.False(t, validTrace(strings.Repeat("0", 32)))
	assert.False(t, validTrace(strings.Repeat("A", 32)))
}

// FuzzIdentityHeaders: whatever a user name or OIDC token holds (they
// come from a token file or an identity provider's claims), the headers
// either carry it exactly, with no control character that could end a
// header, or the call is refused; never both headers, never an empty one.
func FuzzIdentityHeaders(f *testing.F) {
	for _, s := range []string{"ann", "eve\r\nX-Opsmcp-On-Behalf-Of: admin", " padded ", "", "ü\x7f", "eyJ.a.b"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, v string, oidc bool) {
		c := caller{user: v, oidc: oidc}
		if oidc {
			c.bearer = v
		}
		h, err := identityHeaders(c)
		if err != nil {
			return
		}
		if len(h) != 1 {
			t.Fatalf("%d headers for %q", len(h), v)
		}
		for _, vals := range h {
			if len(vals) != 1 || vals[0] != v || v == "" {
				t.Fatalf("header %q for %q", vals, v)
			}
			if strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("control character passed: %q", v)
			}
		}
	})
}
