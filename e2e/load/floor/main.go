// Command floor is the load harness's floor: a go-sdk MCP server over
// streamable HTTP with one tool that does nothing, and none of opsmcp's
// middleware (auth, policy, masking, audit, budgets). What the harness
// measures against it is the cost of the transport and the client alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// NoopInput is the no-op tool's (empty) argument object.
type NoopInput struct{}

// NoopOutput is the no-op tool's result.
type NoopOutput struct {
	OK bool `json:"ok"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "HTTP listen address")
	leak := flag.Bool("leak", false, "keep 8 KiB and a parked goroutine per call: the harness's proof that it sees a leak")
	flag.Parse()
	var (
		mu   sync.Mutex
		kept [][]byte
	)
	srv := mcp.NewServer(&mcp.Implementation{Name: "floor", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "noop", Description: "Does nothing."},
		func(context.Context, *mcp.CallToolRequest, NoopInput) (*mcp.CallToolResult, NoopOutput, error) {
			if *leak {
				b := make([]byte, 8<<10)
				for i := range b {
					b[i] = byte(i)
				}
				mu.Lock()
				kept = append(kept, b)
				mu.Unlock()
				go func() { select {} }()
			}
			return nil, NoopOutput{OK: true}, nil
		})
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	// The gauges the servers' Prometheus Go collector exports under the
	// same names, so the harness reads both the same way.
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "go_goroutines %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_last_gc_time_seconds %g\n",
			runtime.NumGoroutine(), ms.HeapInuse, float64(ms.LastGC)/1e9)
	})
	slog.Info("serving", "addr", *listen)
	if err := http.ListenAndServe(*listen, mux); err != nil {
		slog.Error("serve", "err", err)
		os.Exit(1)
	}
}
