package transport

import (
	"context"
	"encoding/json"
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

// meta2026 is the per-request _meta a 2026-07-28 client sends.
const meta2026 = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`

// post2026 sends one raw 2026-07-28 request to /mcp; headers are set as a
// conforming client sets them, then overridden by extra ("" deletes).
func post2026(t *testing.T, url, token, method, name, params string, extra map[string]string) (int, map[string]any) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":{` + params + `}}`
	req, err := http.NewRequest("POST", url+"/mcp", strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", method)
	if name != "" {
		req.Header.Set("Mcp-Name", name)
	}
	for k, v := range extra {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	s := string(raw)
	// An SSE answer carries the message on its data line.
	if i := strings.Index(s, "data: "); i >= 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		s = strings.TrimSpace(strings.SplitN(s[i+len("data: "):], "\n", 2)[0])
	}
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		m = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, m
}

func errCode(m map[string]any) float64 {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

// TestBothRevisionsOnOneEndpoint (issue 16): a 2026-07-28 client and a
// 2025-11-25 client use the same /mcp; the new one has no session, the old
// one keeps its own, and both are served as their caller.
func TestBothRevisionsOnOneEndpoint(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	cur := connectVersion(t, srv.URL, auth.Bearer{Token: "alice-tok"}, "2026-07-28")
	assert.Equal(t, "2026-07-28", cur.InitializeResult().ProtocolVersion)
	assert.Empty(t, cur.ID(), "2026-07-28 has no session")
	assert.Equal(t, "alice via ", callText(t, cur, context.Background()))

	old := connect(t, srv.URL, auth.Bearer{Token: "bob-tok"})
	assert.Equal(t, "2025-11-25", old.InitializeResult().ProtocolVersion)
	assert.NotEmpty(t, old.ID())
	assert.Equal(t, "bob via ", callText(t, old, context.Background()))

	for _, v := range []string{"2025-06-18", "2025-03-26", "2024-11-05"} {
		cs := connectVersion(t, srv.URL, auth.Bearer{Token: "bob-tok"}, v)
		assert.Equal(t, v, cs.InitializeResult().ProtocolVersion)
		assert.Equal(t, "bob via ", callText(t, cs, context.Background()), v)
	}
	assert.Equal(t, 5, w.runs())
}

// TestStatelessAuthPerRequest: every 2026-07-28 request is authenticated
// on its own; none runs without a token, and a delegate's request runs as
// the user it names.
func TestStatelessAuthPerRequest(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	call := `"name":"whoami","arguments":{},` + meta2026
	code, _ := post2026(t, srv.URL, "", "tools/call", "whoami", call, nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = post2026(t, srv.URL, "wrong", "tools/call", "whoami", call, nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, 0, w.runs())

	code, m := post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", call, nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Contains(t, toJSON(m), `"bob via "`)
	code, m = post2026(t, srv.URL, "orch-tok", "tools/call", "whoami", call, map[string]string{auth.HeaderOnBehalfOf: "alice"})
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Contains(t, toJSON(m), `"alice via orchestrator"`)
	// A user is no delegate: naming someone else is refused, not ignored.
	code, _ = post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", call, map[string]string{auth.HeaderOnBehalfOf: "alice"})
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, 2, w.runs())
}

// TestStatelessIgnoresSessionIDs: bob sending alice's session id with a
// 2026-07-28 request runs as bob, on no session; alice's session is
// untouched.
func TestStatelessIgnoresSessionIDs(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	alice := connect(t, srv.URL, auth.Bearer{Token: "alice-tok"})
	code, m := post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", `"name":"whoami","arguments":{},`+meta2026,
		map[string]string{"Mcp-Session-Id": alice.ID()})
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Contains(t, toJSON(m), `"bob via "`)
	assert.NotContains(t, toJSON(m), "alice")
	assert.Equal(t, "alice via ", callText(t, alice, context.Background()))
}

// TestStatelessSpecErrors: what the 2026-07-28 spec asks of a server for
// removed methods (404, -32601), headers that disagree with the body
// (400, -32020) and a version it does not speak (400, -32022), where the
// stateful handler used to answer 400/-32022 to all of them.
func TestStatelessSpecErrors(t *testing.T) {
	w := &whoami{}
	srv := sessionServer(t, w)
	for _, method := range []string{"initialize", "ping", "logging/setLevel", "resources/subscribe"} {
		params := meta2026
		if method == "initialize" {
			params = `"protocolVersion":"2026-07-28","capabilities":{},"clientInfo":{"name":"x","version":"0"},` + meta2026
		}
		if method == "logging/setLevel" {
			params = `"level":"debug",` + meta2026
		}
		if method == "resources/subscribe" {
			params = `"uri":"file:///x",` + meta2026
		}
		code, m := post2026(t, srv.URL, "bob-tok", method, "", params, nil)
		assert.Equal(t, http.StatusNotFound, code, "%s: %v", method, m)
		assert.Equal(t, float64(-32601), errCode(m), "%s: %v", method, m)
	}
	code, m := post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", `"name":"whoami","arguments":{},`+meta2026,
		map[string]string{"Mcp-Method": "tools/list"})
	assert.Equal(t, http.StatusBadRequest, code, "%v", m)
	assert.Equal(t, float64(-32020), errCode(m), "%v", m)
	code, m = post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", `"name":"whoami","arguments":{},`+meta2026,
		map[string]string{"Mcp-Name": "other"})
	assert.Equal(t, http.StatusBadRequest, code, "%v", m)
	assert.Equal(t, float64(-32020), errCode(m), "%v", m)
	// _meta names 2026-07-28 but the header is missing: the request is
	// still the stateless protocol's, and refused as its spec says.
	code, m = post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", `"name":"whoami","arguments":{},`+meta2026,
		map[string]string{"Mcp-Protocol-Version": ""})
	assert.Equal(t, http.StatusBadRequest, code, "%v", m)
	assert.Equal(t, float64(-32020), errCode(m), "%v", m)
	code, m = post2026(t, srv.URL, "bob-tok", "tools/list", "", strings.ReplaceAll(meta2026, "2026-07-28", "2099-01-01"),
		map[string]string{"Mcp-Protocol-Version": "2099-01-01"})
	assert.Equal(t, http.StatusBadRequest, code, "%v", m)
	assert.Equal(t, float64(-32022), errCode(m), "%v", m)
	assert.Equal(t, 0, w.runs())

	// server/discover answers with both revisions.
	code, m = post2026(t, srv.URL, "bob-tok", "server/discover", "", meta2026, nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	res, _ := m["result"].(map[string]any)
	assert.Contains(t, res["supportedVersions"], "2026-07-28", "%v", m)
	assert.Contains(t, res["supportedVersions"], "2025-11-25", "%v", m)
}

// TestStatelessGuards: the same checks as every /mcp request: Host,
// Origin, JSON only, and the body limit.
func TestStatelessGuards(t *testing.T) {
	w := &whoami{}
	toks, err := auth.ParseTokens([]byte(sessionTokens))
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(HTTPOptions{NewServer: w.newServer, Verifier: toks, MaxBodyBytes: 2048}))
	defer srv.Close()
	call := `"name":"whoami","arguments":{},` + meta2026
	code, _ := post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", call, map[string]string{"Origin": "http://evil.example"})
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", call, map[string]string{"Content-Type": "text/plain"})
	assert.Equal(t, http.StatusUnsupportedMediaType, code)
	code, _ = post2026(t, srv.URL, "bob-tok", "tools/call", "whoami", `"name":"whoami","arguments":{"pad":"`+strings.Repeat("x", 4096)+`"},`+meta2026, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{}`))
	req.Host = "evil.example"
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, 0, w.runs())
}

// TestLegacySSEOff: DisableLegacySSE removes /sse and /message; /mcp
// still serves.
func TestLegacySSEOff(t *testing.T) {
	w := &whoami{}
	srv := httptest.NewServer(Handler(HTTPOptions{NewServer: w.newServer, DisableLegacySSE: true}))
	defer srv.Close()
	for _, path := range []string{"/sse", "/message?sessionid=x"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
	cs := connectVersion(t, srv.URL, http.DefaultTransport, "2026-07-28")
	assert.Equal(t, "anonymous via ", callText(t, cs, context.Background()))
}

func TestStatelessRequest(t *testing.T) {
	for _, tc := range []struct {
		header, session, body string
		want                  bool
	}{
		{"2026-07-28", "", `{}`, true},
		{"2099-01-01", "", `{}`, true},
		{"2025-11-25", "", `{"params":{` + meta2026 + `}}`, false},
		{"", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + meta2026 + `}}`, true},
		{"", "", `[{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + meta2026 + `}}]`, true},
		{"", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2026-07-28"}}`, false},
		{"", "s1", `{"params":{` + meta2026 + `}}`, false},
		{"", "", `{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":7}}}`, false},
		{"", "", `not json`, false},
		{"", "", `{"PARAMS":{` + meta2026 + `}}`, false},
		{"", "", `{"params":{"_META":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, false},
		{"", "", `[]`, false},
	} {
		r := httptest.NewRequest("POST", "/mcp", strings.NewReader(tc.body))
		if tc.header != "" {
			r.Header.Set("Mcp-Protocol-Version", tc.header)
		}
		if tc.session != "" {
			r.Header.Set("Mcp-Session-Id", tc.session)
		}
		assert.Equal(t, tc.want, StatelessRequest(r), "%+v", tc)
		rest, _ := io.ReadAll(r.Body)
		assert.Equal(t, tc.body, string(rest), "the body is left whole for the handler")
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzStatelessRequest: whatever the headers and body, routing never
// panics, leaves the body whole for the handler, keeps a request naming a
// session (without a version header) on its session's path, follows the
// version header when there is one, and routes by body only when the body
// names a 2026-07-28-or-later version under the exact _meta key.
func FuzzStatelessRequest(f *testing.F) {
	f.Add("", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{`+meta2026+`}}`)
	f.Add("2026-07-28", "", `{}`)
	f.Add("2025-11-25", "abc", `{"params":{`+meta2026+`}}`)
	f.Add("", "", `[{"params":{`+meta2026+`}},{"params":{}}]`)
	f.Add("", "", `{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/protocolVersion":"1"}}}`)
	f.Add("", "", `{"Params":{`+meta2026+`}}`)
	f.Fuzz(func(t *testing.T, header, session, body string) {
		r := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		r.Header["Mcp-Protocol-Version"] = []string{header}
		r.Header["Mcp-Session-Id"] = []string{session}
		got := StatelessRequest(r)
		rest, _ := io.ReadAll(r.Body)
		if string(rest) != body {
			t.Fatalf("body changed: %q -> %q", body, rest)
		}
		switch {
		case header != "":
			if got != (header >= Stateless) {
				t.Fatalf("header %q routed stateless=%v", header, got)
			}
		case session != "":
			if got {
				t.Fatalf("session %q without a version header routed stateless", session)
			}
		case got:
			if !strings.Contains(body, metaProtocolVersion) || bodyProtocolVersion([]byte(body)) < Stateless {
				t.Fatalf("body %q routed stateless without naming a 2026 version", body)
			}
		}
	})
}

// TestStatelessAuditLabel: a 2026-07-28 request has no session id, so its
// server gets a per-request label for the audit line (a 2025-11-25
// session is labelled by its session id, as before).
func TestStatelessAuditLabel(t *testing.T) {
	w := &whoami{}
	var mu sync.Mutex
	var labels []string
	srv := httptest.NewServer(Handler(HTTPOptions{NewServer: func(p auth.Principal, session string) *mcp.Server {
		mu.Lock()
		labels = append(labels, session)
		mu.Unlock()
		return w.newServer(p, session)
	}}))
	defer srv.Close()
	code, m := post2026(t, srv.URL, "", "tools/call", "whoami", `"name":"whoami","arguments":{},`+meta2026, nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	mu.Lock()
	require.Len(t, labels, 1, "one server per request (the SDK asks twice)")
	for _, l := range labels {
		assert.Regexp(t, `^stateless-[A-Z2-7]{12}$`, l)
	}
	labels = nil
	mu.Unlock()
	old := connect(t, srv.URL, http.DefaultTransport)
	callText(t, old, context.Background())
	mu.Lock()
	defer mu.Unlock()
	for _, l := range labels {
		assert.Empty(t, l, "a session's label is its id, read by the binder")
	}
}
