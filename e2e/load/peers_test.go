package load_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// kmsVersion is the containers/kubernetes-mcp-server that `make
// bench-peers` builds (e2e/peers/build.sh): the newest release whose
// whole module graph the Go module proxy serves (v0.0.67 needs
// github.com/tektoncd/pipeline v1.16.0, which it refuses).
const kmsVersion = "v0.0.66"

// peerCase is one row of the side-by-side table: a tool call on each
// server, at some number of sessions.
type peerCase struct {
	name     string
	sessions int
	ours     target
	kms      target
}

// BenchmarkPeers runs mcp-kubernetes beside containers/kubernetes-mcp-
// server (KMS, --read-only) against the same harness cluster, with the
// load harness's client (streamable HTTP, persistent 2025-11-25
// sessions), alternating the two servers round by round so both see the
// same machine. It prints the side-by-side table docs/benchmarks.md
// shows. `make bench-peers` builds KMS first:
//
//	bash e2e/peers/build.sh && go test -count=1 -run '^$' -bench Peers -benchtime 1x -timeout 30m ./e2e/load/
//
// OPSMCP_PEERS_DURATION (default 10s) is each round's length.
func BenchmarkPeers(b *testing.B) {
	duration := 10 * time.Second
	if v := os.Getenv("OPSMCP_PEERS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("OPSMCP_PEERS_DURATION=%q: want a positive duration such as 10s", v)
		}
		duration = d
	}
	kmsBin := filepath.Join(harness.CacheDir(), "bin", "kubernetes-mcp-server-"+kmsVersion)
	if _, err := os.Stat(kmsBin); err != nil {
		b.Fatalf("KMS %s is not built (%v): run `make bench-peers`, or bash e2e/peers/build.sh first", kmsVersion, err)
	}
	dir := workDir(b, "peers")
	bin, err := harness.BuildBinary(dir, "mcp-kubernetes", "mcp-kubernetes")
	if err != nil {
		b.Fatal(err)
	}
	// Two pods: the list the table's byte count is of.
	_, cfg := kubeFixture(b, dir, "peers", 2)

	url, args := serverArgs(b, dir)
	ours := harness.StartServer(b, &seen, dir, "mcp-kubernetes", url, bin, append(args, "--kubeconfig", cfg)...)
	kport, err := harness.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	kurl := fmt.Sprintf("http://127.0.0.1:%d", kport)
	kms, err := harness.Start(dir, "kubernetes-mcp-server", kmsBin, "--port", fmt.Sprint(kport), "--bind-address", "127.0.0.1",
		"--kubeconfig", cfg, "--read-only")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		kms.Stop()
		if b.Failed() {
			b.Logf("KMS log:\n%s", kms.Tail(4000))
		}
	})
	if err := harness.WaitHTTP(context.Background(), kms, kurl+"/healthz", "", metricsClient, 30*time.Second); err != nil {
		b.Fatal(err)
	}

	oursT := func(tool string, args map[string]any, want string) target {
		return target{name: "mcp-kubernetes", url: url, token: loadToken, proc: ours, tool: tool, args: args, check: contains(want)}
	}
	kmsT := func(tool string, args map[string]any, want string) target {
		return target{name: "kms", url: kurl, proc: kms, tool: tool, args: args, check: contains(want)}
	}
	noUpstream := [2]target{oursT("k8s_contexts", map[string]any{}, "e2e"), kmsT("configuration_view", map[string]any{}, "e2e")}
	pods := [2]target{oursT("k8s_get", map[string]any{"resource": "pods", "namespace": "peers"}, "peers-1"),
		kmsT("pods_list_in_namespace", map[string]any{"namespace": "peers"}, "peers-1")}
	cases := []peerCase{
		{"no upstream call (ours k8s_contexts, KMS configuration_view)", 1, noUpstream[0], noUpstream[1]},
		{"the same", 50, noUpstream[0], noUpstream[1]},
		{"list pods in a namespace (ours k8s_get, KMS pods_list_in_namespace)", 1, pods[0], pods[1]},
		{"the same", 50, pods[0], pods[1]},
	}

	once(b, func() {
		var idle, peak [2]int
		var bytes [2]int
		for i, t := range []target{pods[0], pods[1]} {
			c := peerClient(t)
			if err := c.firstCall(); err != nil {
				b.Fatalf("%s: first %s: %v", t.name, t.tool, err)
			}
			n, err := c.textBytes()
			if err != nil {
				b.Fatal(err)
			}
			bytes[i] = n
		}
		time.Sleep(2 * time.Second)
		for i, t := range []target{pods[0], pods[1]} {
			idle[i] = rssKB(b, t.proc.Cmd.Process.Pid)
		}
		var rows []string
		for _, pc := range cases {
			var r [2]round
			for i, t := range []target{pc.ours, pc.kms} {
				c := peerClient(t)
				if err := c.firstCall(); err != nil {
					b.Fatalf("%s: first %s: %v", t.name, t.tool, err)
				}
				r[i] = c.round(b, pc.sessions, duration)
				if r[i].transportErrors > 0 || r[i].toolErrors > 0 {
					b.Errorf("%s %s x%d: %d transport, %d tool errors: %s", t.name, t.tool, pc.sessions, r[i].transportErrors, r[i].toolErrors, strings.Join(r[i].firstErrors, " | "))
				}
				if r[i].peakKB > peak[i] {
					peak[i] = r[i].peakKB
				}
				b.ReportMetric(r[i].perSec, fmt.Sprintf("%s-%s-x%d-calls/s", t.name, t.tool, pc.sessions))
			}
			rows = append(rows, fmt.Sprintf("| %s, %d session%s | %.0f calls/s, p50 %s | %.0f calls/s, p50 %s | %.2fx |", pc.name, pc.sessions, plural(pc.sessions),
				r[1].perSec, ms(r[1].p50), r[0].perSec, ms(r[0].p50), r[0].perSec/r[1].perSec))
		}
		rows = append(rows,
			fmt.Sprintf("| idle / peak RSS | %.0f / %.0f MiB | %.0f / %.0f MiB | |", mib(idle[1]), mib(peak[1]), mib(idle[0]), mib(peak[0])),
			fmt.Sprintf("| text bytes to list 2 pods | %d | %d | |", bytes[1], bytes[0]))
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("side by side, %s rounds, load average at the end %s\n\n| | KMS %s --read-only | mcp-kubernetes | ours / KMS |\n|---|---|---|---|\n%s\n",
			duration, strings.Join(strings.Fields(string(load))[:3], " "), kmsVersion, strings.Join(rows, "\n"))
	})
}

// peerClient is a load client for t (2025-11-25 sessions, the bearer
// token when t has one).
func peerClient(t target) *loadClient {
	tr := directClient(200, nil).Transport.(*http.Transport)
	var rt http.RoundTripper = tr
	if t.token != "" {
		rt = harness.Bearer{Token: t.token, Next: tr}
	}
	return &loadClient{t: t, pid: t.proc.Cmd.Process.Pid, tr: tr, client: &http.Client{Transport: rt}, revision: "2025-11-25"}
}

// textBytes is the size of the text content of one call of the target's
// tool.
func (c *loadClient) textBytes() (int, error) {
	s, err := c.connect(context.Background())
	if err != nil {
		return 0, fmt.Errorf("%s: connect: %w", c.t.name, err)
	}
	defer s.Close()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: c.t.tool, Arguments: c.t.args})
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", c.t.name, c.t.tool, err)
	}
	return len(text(res)), nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
