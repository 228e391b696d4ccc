package swarm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
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

// directSession starts the server under test on the engine's own socket,
// as the Docker client side reaches it: not through the recording proxy
// the tests read (an HTTP hop in this process per engine request).
func directSession(b *testing.B) *mcp.ClientSession { return directSessionOf(b, binary) }

// directSessionOf is directSession for the server binary bin.
func directSessionOf(b *testing.B, bin string) *mcp.ClientSession {
	prev := os.Getenv("DOCKER_HOST")
	os.Setenv("DOCKER_HOST", sw.Host)
	defer os.Setenv("DOCKER_HOST", prev)
	return harness.StdioSession(b, &seen, bin, "--audit-log", filepath.Join(b.TempDir(), "audit.log"), "--rate-limit", "0", "--compose-root", stackDir)
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
		s := directSession(b)
		var n int
		benchCall(b, s, "swarm_logs", map[string]any{"service": "shop_web", "tail": 100})
		cpu0, self0 := serverCPU(), selfCPU()
		for b.Loop() {
			res := benchCall(b, s, "swarm_logs", map[string]any{"service": "shop_web", "tail": 100})
			n = len(res.Content[0].(*mcp.TextContent).Text)
		}
		b.ReportMetric(float64(n), "text-bytes")
		b.ReportMetric((serverCPU()-cpu0).Seconds()*1e3/float64(b.N), "server-cpu-ms/op")
		b.ReportMetric((selfCPU()-self0).Seconds()*1e3/float64(b.N), "client-cpu-ms/op")
		b.ReportMetric(float64(serverPeakRSS())/(1<<20), "server-peak-rss-MiB")
	})
	b.Run("mcp-stdio-recorded", func(b *testing.B) {
		s, _ := session(b)
		for b.Loop() {
			benchCall(b, s, "swarm_logs", map[string]any{"service": "shop_web", "tail": 100})
		}
	})
	b.Run("docker-client", func(b *testing.B) {
		c := direct(b)
		var n int64
		for b.Loop() {
			n = readLogs(b, c, "shop_web", false)
		}
		b.ReportMetric(float64(n), "stream-bytes")
	})
}

// BenchmarkLogsWire is what the go-sdk spends carrying one swarm_logs
// result of the BenchmarkLogs call (the real page: text and structured
// content) besides the server's own work: "encode" is the server side
// (the result marshalled as the SDK's jsonrpc2 does, then the response
// message framed), "decode" the client side (the message parsed, then the
// result). Neither is this repository's code; with the engine's answer
// they bound how close swarm_logs can come to the Docker client.
func BenchmarkLogsWire(b *testing.B) {
	s := directSession(b)
	got := benchCall(b, s, "swarm_logs", map[string]any{"service": "shop_web", "tail": 100})
	structured, err := json.Marshal(got.StructuredContent)
	if err != nil {
		b.Fatal(err)
	}
	res := &mcp.CallToolResult{Content: got.Content, StructuredContent: json.RawMessage(structured)}
	id, _ := jsonrpc.MakeID(float64(7))
	encode := func() []byte {
		raw, err := json.Marshal(res)
		if err != nil {
			b.Fatal(err)
		}
		msg, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Result: raw})
		if err != nil {
			b.Fatal(err)
		}
		return msg
	}
	wire := encode()
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			encode()
		}
		b.ReportMetric(float64(len(wire)), "message-bytes")
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			msg, err := jsonrpc.DecodeMessage(wire)
			if err != nil {
				b.Fatal(err)
			}
			var out mcp.CallToolResult
			if err := json.Unmarshal(msg.(*jsonrpc.Response).Result, &out); err != nil {
				b.Fatal(err)
			}
			if len(out.Content) != 1 || out.StructuredContent == nil {
				b.Fatalf("decoded %+v", out)
			}
		}
	})
}

// readLogs reads the last 100 lines per task of a service's stdout and
// stderr, with timestamps, whole, as the Docker client gets them, and
// returns the stream's size.
func readLogs(b *testing.B, c *client.Client, service string, details bool) int64 {
	rc, err := c.ServiceLogs(context.Background(), service, client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Details: details, Tail: "100"})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkLogsRoundTrips times the engine requests swarm_logs makes for
// a service, each alone with the Docker client: what the call's path
// costs at the engine before any work of the server's.
func BenchmarkLogsRoundTrips(b *testing.B) {
	c := direct(b)
	ctx := context.Background()
	sv, err := c.ServiceInspect(ctx, "shop_web", client.ServiceInspectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	id := sv.Service.ID
	b.Run("inspect", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.ServiceInspect(ctx, "shop_web", client.ServiceInspectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tasks", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", id)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("logs", func(b *testing.B) {
		for b.Loop() {
			readLogs(b, c, id, false)
		}
	})
	// swarm_logs asks for details: each line's task ID, to name it by
	// slot as docker service logs does.
	b.Run("logs-details", func(b *testing.B) {
		for b.Loop() {
			readLogs(b, c, id, true)
		}
	})
}

// BenchmarkLogsBeforeAfter compares swarm_logs of two builds and the
// Docker client call by call, in turn (before, after, docker, before,
// ...), so a busy moment of this shared machine hits all three alike; it
// reports each one's median. The build before is the binary in
// OPSMCP_E2E_SWARM_BEFORE (without it the benchmark is skipped):
//
//	git worktree add /tmp/old <commit> && (cd /tmp/old/mcp-swarm && go build -o /tmp/mcp-swarm-old ./cmd/mcp-swarm)
//	cd e2e && OPSMCP_E2E_SWARM_BEFORE=/tmp/mcp-swarm-old go test -count=1 -run '^$' -bench LogsBeforeAfter -benchtime 300x ./swarm/
func BenchmarkLogsBeforeAfter(b *testing.B) {
	old := os.Getenv("OPSMCP_E2E_SWARM_BEFORE")
	if old == "" {
		b.Skip("OPSMCP_E2E_SWARM_BEFORE names no binary to compare with")
	}
	before, after, c := directSessionOf(b, old), directSession(b), direct(b)
	args := map[string]any{"service": "shop_web", "tail": 100}
	benchCall(b, before, "swarm_logs", args)
	benchCall(b, after, "swarm_logs", args)
	var tb, ta, td []time.Duration
	timed := func(ts *[]time.Duration, f func()) {
		start := time.Now()
		f()
		*ts = append(*ts, time.Since(start))
	}
	for b.Loop() {
		timed(&tb, func() { benchCall(b, before, "swarm_logs", args) })
		timed(&ta, func() { benchCall(b, after, "swarm_logs", args) })
		timed(&td, func() { readLogs(b, c, "shop_web", false) })
	}
	b.ReportMetric(median(tb).Seconds()*1e3, "before-p50-ms")
	b.ReportMetric(median(ta).Seconds()*1e3, "after-p50-ms")
	b.ReportMetric(median(td).Seconds()*1e3, "docker-p50-ms")
	b.ReportMetric(float64(median(ta))/float64(median(td)), "after/docker")
	b.ReportMetric(float64(median(tb))/float64(median(td)), "before/docker")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// serverPeakRSS is the largest peak resident set (VmHWM) of the servers
// under test running now, in bytes.
func serverPeakRSS() int64 {
	var peak int64
	for _, pid := range serverPIDs() {
		peak = max(peak, harness.PeakRSS(pid))
	}
	return peak
}

// serverPIDs are the processes running the binary under test.
func serverPIDs() []string { return harness.PIDsOf(binary) }

// serverCPU is the CPU time (user and system) the servers under test
// have used so far, from /proc: what a call costs the server's process
// beside its latency.
func serverCPU() time.Duration {
	var total time.Duration
	for _, pid := range serverPIDs() {
		total += procCPU(filepath.Join("/proc", pid, "stat"))
	}
	return total
}

// selfCPU is this process's CPU time so far: the client's side (and the
// recording proxy's, which a direct session does not use).
func selfCPU() time.Duration { return procCPU("/proc/self/stat") }

func procCPU(stat string) time.Duration {
	raw, err := os.ReadFile(stat)
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 12th and 13th, in clock ticks (100 a second here).
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}
