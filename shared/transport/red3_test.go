package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// TestRevisionConfusionReachesNoOtherSession: bob, holding alice's
// session id, tries every way of naming a revision (the 2025-11-25
// header, the 2026-07-28 header, none) with GET and DELETE, which would
// read or end her session; none is served, and her session still works
// as hers. A batch of stateless calls is refused whole, and a body that
// says 2026-07-28 in _meta under a 2025-11-25 header runs nothing.
func TestRevisionConfusionReachesNoOtherSession(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	alice := connect(t, srv.URL, auth.Bearer{Token: "alice-tok"})
	for _, v := range []string{"2025-11-25", "2026-07-28", ""} {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			req, err := http.NewRequest(method, srv.URL+"/mcp", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer bob-tok")
			req.Header.Set("Mcp-Session-Id", alice.ID())
			req.Header.Set("Accept", "application/json, text/event-stream")
			if v != "" {
				req.Header.Set("Mcp-Protocol-Version", v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2e9)
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			require.NoError(t, err, "%s %q", method, v)
			resp.Body.Close()
			cancel()
			assert.Contains(t, []int{http.StatusForbidden, http.StatusMethodNotAllowed}, resp.StatusCode, "%s with version %q", method, v)
		}
	}
	assert.Equal(t, "alice via ", callText(t, alice, context.Background()))

	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{},` + meta2026 + `}}`
	for name, c := range map[string]struct{ body, version string }{
		"batch":                  {"[" + call + "," + strings.Replace(call, `"id":1`, `"id":2`, 1) + "]", "2026-07-28"},
		"header older, meta new": {call, "2025-11-25"},
	} {
		req, err := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(c.body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer bob-tok")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", c.version)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
	}
	assert.Equal(t, 1, w.runs(), "only alice's own call ran")
}

// TestStatelessChunkedBodyLimited: a stateless request's body sent
// chunked, with no Content-Length, is held to the same limit.
func TestStatelessChunkedBodyLimited(t *testing.T) {
	w := &whoami{}
	toks, err := auth.ParseTokens([]byte(sessionTokens))
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(HTTPOptions{NewServer: w.newServer, Verifier: toks, MaxBodyBytes: 2048}))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{"pad":"`))
		for range 64 {
			if _, err := pw.Write([]byte(strings.Repeat("x", 1024))); err != nil {
				return
			}
		}
		pw.Write([]byte(`"},` + meta2026 + `}}`))
		pw.Close()
	}()
	req, err := http.NewRequest("POST", srv.URL+"/mcp", pr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer bob-tok")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Zero(t, req.ContentLength, "an unknown length with a body: net/http sends it chunked")
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, 0, w.runs())
}
