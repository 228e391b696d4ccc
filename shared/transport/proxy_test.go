package transport

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAllowedHostReachesMCPOnLoopback (issue 22): a server on loopback
// behind a reverse proxy gets the proxy's public name as Host. With that
// name in --allowed-hosts, the MCP endpoints themselves answer it, not
// only the chat routes: the SDK's own localhost-only Host check refused
// every /mcp and /sse request through nginx and Traefik with 403, though
// this package's check (checkHost) had admitted the name. A name not in
// the list is still refused on every MCP endpoint.
func TestAllowedHostReachesMCPOnLoopback(t *testing.T) {
	f := newHostFixture(t, HTTPOptions{AllowedHosts: []string{"mcp.example.internal"}})
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	code, body := f.do(t, hostReq{method: "POST", path: "/mcp", host: "mcp.example.internal", contentType: "application/json", body: init})
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"protocolVersion":"2025-11-25"`)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/sse", nil)
	require.NoError(t, err)
	req.Host = "mcp.example.internal"
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Forwarded-Prefix", "/kubernetes")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	endpoint := ""
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			endpoint = d
			break
		}
	}
	assert.True(t, strings.HasPrefix(endpoint, "/kubernetes/message?sessionid="), "endpoint %q", endpoint)

	for _, c := range []hostReq{
		{method: "POST", path: "/mcp", host: "other.example.org", contentType: "application/json", body: init},
		{method: "GET", path: "/sse", host: "other.example.org"},
	} {
		code, body := f.do(t, c)
		assert.Equal(t, http.StatusForbidden, code, "%s %s: %s", c.method, c.path, body)
	}
}
