package swarm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/moby/moby/client"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// fifty makes 50 more services (0 replicas: listing cost, not containers).
var fifty = sync.OnceValue(func() error {
	for i := 0; i < 50; i++ {
		if _, err := sw.CLI(context.Background(), "service", "create", "--detach", "--no-resolve-image", "--replicas", "0",
			"--name", fmt.Sprintf("bench-%02d", i), "--env", "A=1", "--label", "team=bench", harness.BusyboxImage, "sleep", "3600"); err != nil {
			return err
		}
	}
	return nil
})

func direct(b *testing.B) *client.Client {
	c, err := client.New(client.WithHost(sw.Host))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchCall(b *testing.B, s *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil || res.IsError {
		b.Fatalf("%s: %v %v", name, err, res)
	}
	return res
}

// BenchmarkServices: swarm_services over stdio (list with status, shape,
// mask, budget, audit) beside ServiceList with the Docker client, with 53
// services; reports the bytes of the MCP text.
func BenchmarkServices(b *testing.B) {
	if err := fifty(); err != nil {
		b.Fatal(err)
	}
	b.Run("mcp-stdio", func(b *testing.B) {
		s, _ := session(b)
		var n int
		benchCall(b, s, "swarm_services", map[string]any{})
		for b.Loop() {
			res := benchCall(b, s, "swarm_services", map[string]any{})
			n = len(res.Content[0].(*mcp.TextContent).Text)
		}
		b.ReportMetric(float64(n), "text-bytes")
	})
	b.Run("docker-client", func(b *testing.B) {
		c := direct(b)
		var n int
		for b.Loop() {
			res, err := c.ServiceList(context.Background(), client.ServiceListOptions{Status: true})
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := json.Marshal(res.Items)
			n = len(raw)
		}
		b.ReportMetric(float64(n), "json-bytes")
	})
}

// BenchmarkLogs: the last 100 lines per task of shop_web (2 tasks, stdout
// and stderr) through swarm_logs beside ServiceLogs read whole.
func BenchmarkLogs(b *testing.B) {
	b.Run("mcp-stdio", func(b *testing.B) {
		s, _ := session(b)
		var n int
		for b.Loop() {
			res := benchCall(b, s, "swarm_logs", map[string]any{"service": "shop_web", "tail": 100})
			n = len(res.Content[0].(*mcp.TextContent).Text)
		}
		b.ReportMetric(float64(n), "text-bytes")
	})
	b.Run("docker-client", func(b *testing.B) {
		c := direct(b)
		var n int64
		for b.Loop() {
			rc, err := c.ServiceLogs(context.Background(), "shop_web", client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Tail: "100"})
			if err != nil {
				b.Fatal(err)
			}
			n, _ = io.Copy(io.Discard, rc)
			rc.Close()
		}
		b.ReportMetric(float64(n), "stream-bytes")
	})
}
