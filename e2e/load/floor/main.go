// Command floor is the load harness's floor: a go-sdk MCP server over
// streamable HTTP with one tool that does nothing, and none of opsmcp's
// middleware (auth, policy, masking, audit, budgets). What the harness
// measures against it is the cost of the transport and the client alone.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
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
	// As the servers do (shared/transport), a 2026-07-28 request, which
	// names its revision in a header or in its _meta, goes to a stateless
	// handler, and anything else to the session-holding one.
	stateful := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	stateless := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		if statelessRequest(r) {
			stateless.ServeHTTP(w, r)
			return
		}
		stateful.ServeHTTP(w, r)
	})
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

// statelessRequest reports whether r speaks MCP 2026-07-28 or later: by
// its MCP-Protocol-Version header, or without one by the _meta version in
// its body (a looser test than the servers', enough for the go-sdk
// client the harness runs).
func statelessRequest(r *http.Request) bool {
	if v := r.Header.Get("MCP-Protocol-Version"); v != "" {
		return v >= "2026-07-28"
	}
	if r.Method != http.MethodPost || r.Header.Get("Mcp-Session-Id") != "" {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(b))
	return err == nil && bytes.Contains(b, []byte(`"io.modelcontextprotocol/protocolVersion":"2026-07-28"`))
}
