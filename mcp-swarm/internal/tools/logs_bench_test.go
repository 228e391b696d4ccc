package tools

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsmcp/opsmcp/shared/mask"
)

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
	var lines [][2]string
	for i := 0; i < 200; i++ {
		stream := "stdout"
		if i%5 == 0 {
			stream = "stderr"
		}
		lines = append(lines, [2]string{stream, fmt.Sprintf(`10.0.%d.%d - - [28/Nov/2026:10:00:%02d +0000] "GET /api/v1/orders/%d HTTP/1.1" 200 %d "-" "Go-http-client/1.1" rt=0.0%02d trace_id=%032x`, i%7, i%250, i%60, i*7, 100+i, i%99, i*7919)})
	}
	f.logs[shopWebID] = lines
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
