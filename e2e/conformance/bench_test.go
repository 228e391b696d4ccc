package conformance_test

import (
	"context"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolCallByRevision: the same tool call on the same real server
// binary for a 2026-07-28 client (stateless: each request stands alone)
// beside a 2025-11-25 client (one session). mcp-kubernetes answers
// k8s_get from a real kube-apiserver; mcp-docs answers docs_search
// (keyword) from its SQLite index, so its figure is mostly the protocol's
// and the binder's own cost.
//
//	go test -run '^$' -bench ToolCallByRevision -benchtime 5s ./e2e/conformance/
func BenchmarkToolCallByRevision(b *testing.B) {
	for _, s := range []struct {
		name  string
		start func(t testing.TB, dir string) *target
	}{
		{"mcp-kubernetes", startKubernetes},
		{"mcp-docs", startDocs},
	} {
		b.Run(s.name, func(b *testing.B) {
			tg := s.start(b, b.TempDir())
			for _, rev := range revisions {
				b.Run(rev, func(b *testing.B) {
					cs := session(b, tg.url, rev)
					if got := cs.InitializeResult().ProtocolVersion; got != rev {
						b.Fatalf("speaks %s", got)
					}
					params := &mcp.CallToolParams{Name: tg.tool, Arguments: tg.args}
					for b.Loop() {
						res, err := cs.CallTool(context.Background(), params)
						if err != nil || res.IsError || !strings.Contains(resultText(res), tg.want) {
							b.Fatalf("%s: %v %v", tg.tool, err, res)
						}
					}
				})
			}
		})
	}
}
