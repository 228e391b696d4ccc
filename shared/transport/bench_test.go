package transport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// BenchmarkToolCall: one tools/call over streamable HTTP on loopback,
// with auth, for a 2026-07-28 client (a stateless request: the server is
// built per request) beside a 2025-11-25 client (one session): the
// protocol's own cost, with a tool that does nothing.
//
//	go test -run '^$' -bench ToolCall -benchtime 3s ./shared/transport/
func BenchmarkToolCall(b *testing.B) {
	for _, rev := range []string{"2026-07-28", "2025-11-25"} {
		b.Run(rev, func(b *testing.B) {
			w := &whoami{}
			toks, err := auth.ParseTokens([]byte(sessionTokens))
			if err != nil {
				b.Fatal(err)
			}
			srv := newBenchServer(b, Handler(HTTPOptions{NewServer: w.newServer, Verifier: toks}))
			c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "0"}, nil)
			cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv + "/mcp",
				HTTPClient: &http.Client{Transport: auth.Bearer{Token: "alice-tok"}}, DisableStandaloneSSE: true, MaxRetries: -1},
				&mcp.ClientSessionOptions{ProtocolVersion: rev})
			if err != nil {
				b.Fatal(err)
			}
			defer cs.Close()
			if got := cs.InitializeResult().ProtocolVersion; got != rev {
				b.Fatalf("speaks %s", got)
			}
			params := &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}}
			b.ResetTimer()
			for b.Loop() {
				res, err := cs.CallTool(context.Background(), params)
				if err != nil || res.IsError {
					b.Fatal(err, res)
				}
			}
		})
	}
}

func newBenchServer(b *testing.B, h http.Handler) string {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}
