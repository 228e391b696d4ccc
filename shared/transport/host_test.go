package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// hostFixture is a loopback host with MCP endpoints, an authenticated
// extra route and a self-authenticating one, each counting its runs.
type hostFixture struct {
	srv            *httptest.Server
	chats, hooks   atomic.Int64
	mcpServersMade atomic.Int64
	bodyLen        atomic.Int64
}

func newHostFixture(t *testing.T, o HTTPOptions) *hostFixture {
	t.Helper()
	f := &hostFixture{}
	o.NewServer = func(auth.Principal, string) *mcp.Server {
		f.mcpServersMade.Add(1)
		return mcp.NewServer(&mcp.Implementation{Name: "t", Version: "0"}, nil)
	}
	o.AuthRoutes = map[string]http.Handler{
		"POST /api/chat": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			f.bodyLen.Store(int64(len(b)))
			f.chats.Add(1)
			io.WriteString(w, "answer for "+auth.From(r.Context()).User)
		}),
		"GET /api/tags": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tags") }),
	}
	o.Routes = map[string]http.Handler{"/hook": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.hooks.Add(1) })}
	f.srv = httptest.NewServer(Handler(o))
	t.Cleanup(f.srv.Close)
	return f
}

type hostReq struct {
	method, path, host, origin, contentType, token, body string
	chunked                                              bool
}

func (f *hostFixture) do(t *testing.T, c hostReq) (int, string) {
	t.Helper()
	var rd io.Reader
	if c.body != "" {
		rd = strings.NewReader(c.body)
		if c.chunked {
			rd = io.MultiReader(strings.NewReader(c.body)) // unknown length: sent chunked
		}
	}
	req, err := http.NewRequest(c.method, f.srv.URL+c.path, rd)
	require.NoError(t, err)
	if c.host != "" {
		req.Host = c.host
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHostRebinding: on a loopback listener a Host header that is not a
// loopback name or address (DNS rebinding: the browser sends the
// attacker's name) gets nothing on any route but the probes.
func TestHostRebinding(t *testing.T) {
	f := newHostFixture(t, HTTPOptions{})
	port := f.srv.Listener.Addr().(*net.TCPAddr).Port
	evil := "rebind.evil.example:" + itoa(port)
	for _, c := range []hostReq{
		{method: "POST", path: "/api/chat", host: evil, contentType: "application/json", body: `{}`},
		{method: "GET", path: "/api/tags", host: evil},
		{method: "POST", path: "/mcp", host: evil, contentType: "application/json", body: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`},
		{method: "GET", path: "/sse", host: evil},
		{method: "POST", path: "/message?sessionid=x", host: evil, contentType: "application/json", body: `{}`},
		{method: "POST", path: "/hook", host: evil, body: `{}`},
		{method: "GET", path: "/metrics", host: evil},
		{method: "POST", path: "/api/chat", host: "127.0.0.1.evil.example", contentType: "application/json", body: `{}`},
		{method: "POST", path: "/api/chat", host: "localhost.evil.example:" + itoa(port), contentType: "application/json", body: `{}`},
	} {
		code, body := f.do(t, c)
		assert.Equal(t, http.StatusForbidden, code, "%s %s Host %s: %s", c.method, c.path, c.host, body)
		assert.Contains(t, body, "not a loopback name", c.path)
	}
	assert.Zero(t, f.chats.Load())
	assert.Zero(t, f.hooks.Load())
	assert.Zero(t, f.mcpServersMade.Load())
	for _, host := range []string{"127.0.0.1:" + itoa(port), "localhost:" + itoa(port), "[::1]:" + itoa(port), "LOCALHOST", "127.0.0.2"} {
		code, body := f.do(t, hostReq{method: "POST", path: "/api/chat", host: host, contentType: "application/json", body: `{}`})
		assert.Equal(t, http.StatusOK, code, "%s: %s", host, body)
	}
	// The probes answer whatever the Host: they say nothing.
	code, _ := f.do(t, hostReq{method: "GET", path: "/healthz", host: evil})
	assert.Equal(t, http.StatusOK, code)
}

// TestHostAllowedHosts: --allowed-hosts admits a proxy's name, and on a
// non-loopback listener enforces the list.
func TestHostAllowedHosts(t *testing.T) {
	f := newHostFixture(t, HTTPOptions{AllowedHosts: []string{"ops.example.org"}})
	code, _ := f.do(t, hostReq{method: "POST", path: "/api/chat", host: "ops.example.org", contentType: "application/json", body: `{}`})
	assert.Equal(t, http.StatusOK, code)
	code, _ = f.do(t, hostReq{method: "POST", path: "/api/chat", host: "ops.example.org:8443", contentType: "application/json", body: `{}`})
	assert.Equal(t, http.StatusOK, code, "the port is not part of the name")
	code, _ = f.do(t, hostReq{method: "POST", path: "/api/chat", host: "other.example.org", contentType: "application/json", body: `{}`})
	assert.Equal(t, http.StatusForbidden, code)

	// A non-loopback listener (simulated: no packet leaves loopback) has
	// no Host check unless --allowed-hosts names some.
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for allowed, want := range map[string]int{"": 200, "ops.example.org": 403} {
		var list []string
		if allowed != "" {
			list = []string{allowed}
		}
		req := httptest.NewRequest("GET", "/api/tags", nil)
		req.Host = "anything.example:8080"
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8080}))
		rec := httptest.NewRecorder()
		checkHost(list, ok).ServeHTTP(rec, req)
		assert.Equal(t, want, rec.Code, "allowed %q", allowed)
	}
}

// TestCrossOriginPost: a page on another origin gets nothing, including
// a "simple" text/plain POST that needs no preflight; the chat routes
// take JSON only.
func TestCrossOriginPost(t *testing.T) {
	f := newHostFixture(t, HTTPOptions{AllowedOrigins: []string{"https://webui.internal"}})
	cases := []struct {
		req  hostReq
		code int
		want string
	}{
		{hostReq{method: "POST", path: "/api/chat", origin: "https://evil.example", contentType: "text/plain", body: `{"messages":[{"role":"user","content":"kubectl get secrets -A"}]}`}, 403, "forbidden origin"},
		{hostReq{method: "POST", path: "/api/chat", origin: "https://evil.example", contentType: "application/json", body: `{}`}, 403, "forbidden origin"},
		{hostReq{method: "POST", path: "/api/chat", origin: "null", contentType: "text/plain", body: `{}`}, 403, "forbidden origin"},
		{hostReq{method: "GET", path: "/api/tags", origin: "https://evil.example"}, 403, "forbidden origin"},
		{hostReq{method: "POST", path: "/api/chat", contentType: "text/plain", body: `{}`}, 415, "Content-Type: application/json"},
		{hostReq{method: "POST", path: "/api/chat", contentType: "application/x-www-form-urlencoded", body: `a=b`}, 415, "Content-Type: application/json"},
		{hostReq{method: "POST", path: "/api/chat", body: `{}`}, 415, "Content-Type: application/json"},
		{hostReq{method: "POST", path: "/mcp", origin: "https://evil.example", contentType: "text/plain", body: `{}`}, 403, "forbidden origin"},
	}
	for _, c := range cases {
		code, body := f.do(t, c.req)
		assert.Equal(t, c.code, code, "%+v: %s", c.req, body)
		assert.Contains(t, body, c.want)
	}
	assert.Zero(t, f.chats.Load(), "no chat ran")
	for _, c := range []hostReq{
		{method: "POST", path: "/api/chat", origin: "https://webui.internal", contentType: "application/json", body: `{}`},
		{method: "POST", path: "/api/chat", contentType: "application/json; charset=utf-8", body: `{}`},
		{method: "POST", path: "/api/chat", origin: f.srv.URL, contentType: "application/json", body: `{}`},
	} {
		code, body := f.do(t, c)
		assert.Equal(t, http.StatusOK, code, "%+v: %s", c, body)
	}
}

// TestBodyLimit: a body over the limit is refused with 413 and a message
// naming the flag, whether its length is declared or not.
func TestBodyLimit(t *testing.T) {
	f := newHostFixture(t, HTTPOptions{MaxBodyBytes: 1024})
	big := `{"x":"` + strings.Repeat("a", 2000) + `"}`
	for _, chunked := range []bool{false, true} {
		code, body := f.do(t, hostReq{method: "POST", path: "/api/chat", contentType: "application/json", body: big, chunked: chunked})
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, "chunked %v", chunked)
		assert.Contains(t, body, "request body over 1024 bytes", "chunked %v", chunked)
		assert.Contains(t, body, "--max-body-bytes")
		code, _ = f.do(t, hostReq{method: "POST", path: "/mcp", contentType: "application/json", body: big, chunked: chunked})
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, "/mcp chunked %v", chunked)
	}
	assert.Zero(t, f.chats.Load())
	fits := `{"x":"` + strings.Repeat("a", 1000) + `"}`
	code, _ := f.do(t, hostReq{method: "POST", path: "/api/chat", contentType: "application/json", body: fits, chunked: true})
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, int64(len(fits)), f.bodyLen.Load(), "the handler reads the whole body")
}

// TestAuthRoutes: the extra routes authenticate like /mcp, and refuse
// delegation headers when the host accepts no delegates.
func TestAuthRoutes(t *testing.T) {
	toks, err := auth.ParseTokens([]byte("dana-tok,dana,sre\n"))
	require.NoError(t, err)
	f := newHostFixture(t, HTTPOptions{Verifier: toks})
	code, body := f.do(t, hostReq{method: "POST", path: "/api/chat", contentType: "application/json", body: `{}`})
	assert.Equal(t, http.StatusUnauthorized, code, body)
	code, _ = f.do(t, hostReq{method: "POST", path: "/api/chat", contentType: "application/json", body: `{}`, token: "wrong"})
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body = f.do(t, hostReq{method: "POST", path: "/api/chat", contentType: "application/json", body: `{}`, token: "dana-tok"})
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "answer for dana", body)
	code, _ = f.do(t, hostReq{method: "GET", path: "/api/chat", token: "dana-tok"})
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	// The self-authenticating route is not behind the bearer check.
	code, _ = f.do(t, hostReq{method: "POST", path: "/hook", body: `{}`})
	assert.Equal(t, http.StatusOK, code)
}

// TestNoMCP: a host without an MCP server (the orchestrator's serve) has
// no MCP endpoints.
func TestNoMCP(t *testing.T) {
	srv := httptest.NewServer(Handler(HTTPOptions{AuthRoutes: map[string]http.Handler{"GET /x": http.NotFoundHandler()},
		Readyz: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "custom ready\n") })}))
	defer srv.Close()
	for _, p := range []string{"/mcp", "/sse", "/message"} {
		resp, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
	resp, err := http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "custom ready\n", string(b))
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSlowBody: a body that trickles in is cut off after bodyReadTimeout
// (a slow client cannot hold a handler, or 4 MiB of buffer, forever),
// and the connection stays usable for streaming answers afterwards.
func TestSlowBody(t *testing.T) {
	old := bodyReadTimeout
	bodyReadTimeout = 300 * time.Millisecond
	defer func() { bodyReadTimeout = old }()
	f := newHostFixture(t, HTTPOptions{})
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"x":"`))
		time.Sleep(2 * time.Second)
		pw.CloseWithError(errors.New("gave up"))
	}()
	req, err := http.NewRequest("POST", f.srv.URL+"/api/chat", pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "the refusal arrives while the body is still being sent")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(b))
	assert.Contains(t, string(b), "request body not received within 300ms: send it at once")
	assert.Less(t, time.Since(start), 1500*time.Millisecond, "cut off at the deadline, not when the client gave up")
	assert.Zero(t, f.chats.Load())
}
