package kubernetes_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkRSS reports the HTTP server's resident memory at idle and with
// 50 concurrent streamable HTTP sessions that have each made a call.
func BenchmarkRSS(b *testing.B) {
	srv := startHTTP(b, benchFlags...)
	pid := srv.proc.Cmd.Process.Pid
	idle := rssKB(b, pid)
	var sessions []*mcp.ClientSession
	for b.Loop() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := connect(b, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(sreToken)})
				if err := benchCall(s, map[string]any{"resource": "deployments", "namespace": "team-a"}); err != nil {
					b.Error(err)
				}
				mu.Lock()
				sessions = append(sessions, s)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(idle)/1024, "idle-MiB")
	b.ReportMetric(float64(rssKB(b, pid))/1024, "with-sessions-MiB")
	b.ReportMetric(float64(len(sessions)), "sessions")
}

func rssKB(b *testing.B, pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
