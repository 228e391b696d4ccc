package tools

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// benchLines are n access-log lines, every fifth on stderr.
func benchLines(n int) [][2]string {
	var lines [][2]string
	for i := 0; i < n; i++ {
		stream := "stdout"
		if i%5 == 0 {
			stream = "stderr"
		}
		lines = append(lines, [2]string{stream, fmt.Sprintf(`10.0.%d.%d - - [28/Nov/2026:10:00:%02d +0000] "GET /api/v1/orders/%d HTTP/1.1" 200 %d "-" "Go-http-client/1.1" rt=0.0%02d trace_id=%032x`, i%7, i%250, i%60, i*7, 100+i, i%99, i*7919)})
	}
	return lines
}

// BenchmarkLogsPath is swarm_logs' own work on 200 lines from a fake
// engine on loopback (inspect, task list, logs, demultiplexing, masking,
// sorting) and the binder's shaping of the result (Masker.Any, the
// rendering, masking the text), without MCP: where a call's time goes
// besides the engine's answers. Profile with -cpuprofile.
//
//	go test -run '^$' -bench LogsPath -cpuprofile cpu.out ./mcp-swarm/internal/tools/
func BenchmarkLogsPath(b *testing.B) {
	t := &testing.T{}
	f := newFakeEngine(t)
	f.logs[shopWebID] = benchLines(200)
	s := f.server(t)
	m := mask.New(nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c := callAs("swarm_logs", "sre")
		r, err := s.logs(ctx, c, LogsInput{Service: "shop_web", Tail: 200})
		if err != nil {
			b.Fatal(err)
		}
		data, _, err := m.Any(r.Data)
		if err != nil {
			b.Fatal(err)
		}
		m.Text(r.Render(data.(map[string]any)))
	}
}

// BenchmarkLogsCall is one swarm_logs call of 200 lines through the
// binder (policy, schema, masking, budget, audit, metrics) over the SDK's
// in-memory transport, on the fake engine: the whole of a call's cost in
// this process, text and structured result both.
//
//	go test -run '^$' -bench LogsCall -benchmem ./mcp-swarm/internal/tools/
func BenchmarkLogsCall(b *testing.B) {
	t := &testing.T{}
	f := newFakeEngine(t)
	f.logs[shopWebID] = benchLines(200)
	s := f.server(t)
	bd := &tool.Binder{Server: "mcp-swarm", Tools: s.Tools(), Masker: mask.New(nil), Audit: audit.New(io.Discard),
		Policy: testPolicy, MaxBytes: 1 << 20, Logger: slog.New(slog.DiscardHandler)}
	srv := mcp.NewServer(&mcp.Implementation{Name: "mcp-swarm"}, nil)
	bd.Bind(srv, auth.Principal{User: "bench", Roles: []string{"sre"}}, "s1")
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		b.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	args := map[string]any{"service": "shop_web", "tail": 200}
	b.ReportAllocs()
	for b.Loop() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "swarm_logs", Arguments: args})
		if err != nil || res.IsError {
			b.Fatalf("swarm_logs: %v %+v", err, res)
		}
	}
}
