package transport

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
)

func TestOriginCheck(t *testing.T) {
	h := checkOrigin([]string{"https://webui.internal"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	cases := []struct {
		origin string
		code   int
	}{{"", 200}, {"https://webui.internal", 200}, {"https://evil.example", 403}, {"http://127.0.0.1:8081", 200}}
	for _, c := range cases {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8081/mcp", nil)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, c.code, rec.Code, c.origin)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:1": false, ":8081": false, "10.0.0.5:1": false} {
		assert.Equal(t, want, IsLoopback(addr), addr)
	}
}

func TestForwardedPrefix(t *testing.T) {
	cases := map[string]string{
		"":                   "",
		"/logs":              "/logs",
		"/logs/":             "/logs",
		"/mcp/kubernetes":    "/mcp/kubernetes",
		"logs":               "",
		"//evil.example":     "",
		"/a/../b":            "",
		"/a?x=1":             "",
		"/a\r\nSet-Cookie:x": "",
		"https://evil":       "",
		"/a//b":              "",
	}
	for in, want := range cases {
		r := httptest.NewRequest("GET", "http://127.0.0.1:8081/sse", nil)
		r.Header.Set("X-Forwarded-Prefix", in)
		assert.Equal(t, want, forwardedPrefix(r), "%q", in)
	}
}

// TestSSEEndpointBehindProxy: the endpoint event of a legacy SSE session
// names /message under the prefix the proxy stripped, so the client's
// POSTs come back through the proxy to this server.
func TestSSEEndpointBehindProxy(t *testing.T) {
	h := Handler(HTTPOptions{NewServer: func(auth.Principal, string) *mcp.Server {
		return mcp.NewServer(&mcp.Implementation{Name: "t", Version: "0"}, nil)
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	for prefix, want := range map[string]string{"/kubernetes": "/kubernetes/message?sessionid=", "": "/message?sessionid=", "//evil": "/message?sessionid="} {
		req, _ := http.NewRequest("GET", srv.URL+"/sse", nil)
		req.Header.Set("X-Forwarded-Prefix", prefix)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		sc := bufio.NewScanner(resp.Body)
		var data string
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				data = d
				break
			}
		}
		resp.Body.Close()
		assert.True(t, strings.HasPrefix(data, want), "prefix %q: endpoint %q", prefix, data)
	}
}
