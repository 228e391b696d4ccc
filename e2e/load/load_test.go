// Package load_test is the load harness of issue 17: each server's real
// binary over streamable HTTP on loopback, against its real upstream from
// e2e/harness, held by many concurrent go-sdk client sessions that call a
// tool reading that upstream, beside the same harness against a go-sdk
// server that does nothing (the transport's floor).
//
// It is a benchmark, run by `make bench`, never by `make test`:
//
//	cd e2e && go test -count=1 -run '^$' -bench Load -benchtime 1x -timeout 60m ./load/
//
// OPSMCP_LOAD_SESSIONS (default 200), OPSMCP_LOAD_DURATION (default 60s)
// and OPSMCP_LOAD_WARMUP (default 10s) shorten a run while developing;
// OPSMCP_LOAD_SETTLE (default 200s) bounds the wait for memory and
// goroutines to come back after the sessions close; OPSMCP_LOAD_REVISION
// (default 2025-11-25, sessions the server holds) picks the MCP revision.
package load_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// settings reads the run's shape from the environment.
func settings(b *testing.B) (sessions int, duration, warmup, settle time.Duration) {
	sessions, duration, warmup, settle = 200, 60*time.Second, 10*time.Second, 200*time.Second
	if v := os.Getenv("OPSMCP_LOAD_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("OPSMCP_LOAD_SESSIONS=%q: want a positive number", v)
		}
		sessions = n
	}
	for name, p := range map[string]*time.Duration{"OPSMCP_LOAD_DURATION": &duration, "OPSMCP_LOAD_WARMUP": &warmup, "OPSMCP_LOAD_SETTLE": &settle} {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				b.Fatalf("%s=%q: want a positive duration such as 10s", name, v)
			}
			*p = d
		}
	}
	return sessions, duration, warmup, settle
}

// target is one server under load.
type target struct {
	name  string
	url   string // base URL; the MCP endpoint is url+"/mcp"
	token string // bearer token, "" for none
	proc  *harness.Proc
	tool  string
	args  map[string]any
	// check rejects a result that did not really read the upstream (the
	// first call must bring back the fixture the setup made).
	check func(res *mcp.CallToolResult) error
	// direct, if set, makes the tool's main upstream request itself,
	// without any MCP server: run with the same concurrency after the
	// load, it tells the upstream's own limit from the server's.
	direct func(ctx context.Context) error
}

// round is what one load round measured.
type round struct {
	calls, toolErrors, transportErrors int64
	perSec                             float64
	p50, p99, max                      time.Duration
	peakKB, peakGoroutines             int
	firstErrors                        []string
}

// idle is the server at rest: its RSS, goroutines and heap in use, and
// how long it took to get there after the sessions closed.
type idle struct {
	rssKB, goroutines int
	heapInuse         float64
	waited            time.Duration
}

// goroutineSlack is how many goroutines above idle still count as no
// leak: the upstream client's idle keep-alive connections (a read and a
// write loop each), which close only after their idle timeout.
const goroutineSlack = 4

// runLoad loads t and reports the figures as benchmark metrics. It fails
// on any transport or tool error, a goroutine leak, or RSS after the
// sessions close more than 10% over idle.
//
// Idle is measured the same way as after: once the sessions of a warm-up
// round (the same sessions and tool, OPSMCP_LOAD_WARMUP long) have
// closed and the server's runtime has collected garbage since. The
// server's memory only goes back to the OS after a GC (an idle Go
// process runs one at least every 2 minutes, forced by the runtime) and
// the runtime keeps up to about twice the live heap for reuse, so an idle
// taken before any load ("cold") is not a level a Go process returns to;
// it is reported beside. Nothing is forced from outside: the harness
// polls the server's /metrics (go_memstats_last_gc_time_seconds) and
// /proc/<pid>/status once a second, for at most OPSMCP_LOAD_SETTLE.
func runLoad(b *testing.B, t target) {
	sessions, duration, warmup, settle := settings(b)
	for _, f := range measure(b, t, sessions, duration, warmup, settle) {
		b.Error(f)
	}
}

// measure is runLoad with the shape given; it returns what failed.
func measure(b *testing.B, t target, sessions int, duration, warmup, settle time.Duration) []string {
	var failed []string
	fail := func(format string, args ...any) { failed = append(failed, fmt.Sprintf(format, args...)) }
	revision := os.Getenv("OPSMCP_LOAD_REVISION")
	if revision == "" {
		// A 2025-11-25 client holds a session on the server (its id, its
		// standalone SSE stream) for its whole life: the case of many
		// sessions at once. A 2026-07-28 client is stateless.
		revision = "2025-11-25"
	}
	pid := t.proc.Cmd.Process.Pid
	// One transport for every session, so that no client-side limit
	// throttles the run: no cap on connections per host, and an idle pool
	// large enough for every session's POSTs (each session also holds its
	// standalone SSE GET open, as an IDE's client does).
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxConnsPerHost:     0,
		MaxIdleConns:        4 * sessions,
		MaxIdleConnsPerHost: 4 * sessions,
		IdleConnTimeout:     90 * time.Second,
	}
	var rt http.RoundTripper = tr
	if t.token != "" {
		rt = harness.Bearer{Token: t.token, Next: tr}
	}
	c := &loadClient{t: t, pid: pid, tr: tr, client: &http.Client{Transport: rt}, revision: revision}

	// First call: the upstream must answer with the fixture (a cold
	// upstream's first answers may be slow, so it is retried).
	if err := c.firstCall(); err != nil {
		b.Fatalf("%s: first %s: %v", t.name, t.tool, err)
	}
	time.Sleep(2 * time.Second)
	cold := idle{rssKB: rssKB(b, pid), goroutines: int(scrape(b, t.url)["go_goroutines"]), heapInuse: scrape(b, t.url)["go_memstats_heap_inuse_bytes"]}

	warm := c.round(b, sessions, warmup)
	if warm.transportErrors > 0 || warm.toolErrors > 0 {
		fail("%s: warm-up: %d transport errors, %d tool errors; first: %s", t.name, warm.transportErrors, warm.toolErrors, strings.Join(warm.firstErrors, " | "))
	}
	base := c.settle(b, settle, 0, 0)

	r := c.round(b, sessions, duration)
	limitKB := base.rssKB + base.rssKB/10
	after := c.settle(b, settle, limitKB, base.goroutines+goroutineSlack)

	var d round
	if t.direct != nil {
		dd := duration
		if dd > 20*time.Second {
			dd = 20 * time.Second
		}
		d = directRound(sessions, dd, t.direct)
		b.ReportMetric(d.perSec, "direct-calls/s")
		b.ReportMetric(float64(d.p50.Microseconds())/1000, "direct-p50-ms")
		b.ReportMetric(float64(d.p99.Microseconds())/1000, "direct-p99-ms")
		b.Logf("%s: the upstream directly, %d clients for %s: %d requests (%.0f/s), p50 %s, p99 %s; %d errors %s",
			t.name, sessions, dd, d.calls, d.perSec, d.p50.Round(10*time.Microsecond), d.p99.Round(10*time.Microsecond), d.transportErrors, strings.Join(d.firstErrors, " | "))
		if d.transportErrors > 0 {
			fail("%s: the direct upstream requests failed %d times: the upstream, not the server, was failing", t.name, d.transportErrors)
		}
	}

	b.ReportMetric(float64(sessions), "sessions")
	b.ReportMetric(r.perSec, "calls/s")
	b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(r.transportErrors), "transport-errors")
	b.ReportMetric(float64(r.toolErrors), "tool-errors")
	b.ReportMetric(float64(cold.rssKB)/1024, "cold-MiB")
	b.ReportMetric(float64(base.rssKB)/1024, "idle-MiB")
	b.ReportMetric(float64(r.peakKB)/1024, "peak-MiB")
	b.ReportMetric(float64(after.rssKB)/1024, "after-MiB")
	b.ReportMetric(float64(base.goroutines), "goroutines-before")
	b.ReportMetric(float64(r.peakGoroutines), "goroutines-peak")
	b.ReportMetric(float64(after.goroutines), "goroutines-after")
	b.Logf("%s: MCP %s, %d sessions for %s calling %s: %d calls (%.0f/s), p50 %s, p99 %s, max %s; errors: %d transport, %d tool",
		t.name, revision, sessions, duration, t.tool, r.calls, r.perSec, r.p50.Round(time.Microsecond*10), r.p99.Round(time.Microsecond*10), r.max.Round(time.Millisecond), r.transportErrors, r.toolErrors)
	b.Logf("%s: RSS cold %.1f MiB, idle %.1f MiB (settled %s after the warm-up), peak %.1f MiB, after %.1f MiB (settled %s); heap in use cold %.1f, idle %.1f, after %.1f MiB; goroutines cold %d, idle %d, peak %d, after %d",
		t.name, mib(cold.rssKB), mib(base.rssKB), base.waited.Round(time.Second), mib(r.peakKB), mib(after.rssKB), after.waited.Round(time.Second),
		cold.heapInuse/(1<<20), base.heapInuse/(1<<20), after.heapInuse/(1<<20), cold.goroutines, base.goroutines, r.peakGoroutines, after.goroutines)
	if r.transportErrors > 0 || r.toolErrors > 0 {
		fail("%s: %d transport errors, %d tool errors; first: %s", t.name, r.transportErrors, r.toolErrors, strings.Join(r.firstErrors, " | "))
	}
	if r.calls < int64(sessions) {
		fail("%s: only %d calls from %d sessions", t.name, r.calls, sessions)
	}
	if after.goroutines > base.goroutines+goroutineSlack {
		fail("%s: goroutine leak: %d at idle, %d after the sessions closed (waited %s)", t.name, base.goroutines, after.goroutines, after.waited.Round(time.Second))
	}
	if after.rssKB > limitKB {
		fail("%s: RSS %d kB after the sessions closed, more than 10%% over idle %d kB (waited %s)", t.name, after.rssKB, base.rssKB, after.waited.Round(time.Second))
	}
	if t.proc.Exited() {
		fail("%s exited during the load: %s", t.name, t.proc.Tail(3000))
	}
	return failed
}

func mib(kb int) float64 { return float64(kb) / 1024 }

// loadClient opens sessions to one target over one HTTP transport.
type loadClient struct {
	t      target
	pid    int
	tr     *http.Transport
	client *http.Client
	// revision is the MCP revision every session asks for.
	revision string
}

func (c *loadClient) connect(ctx context.Context) (*mcp.ClientSession, error) {
	cl := mcp.NewClient(&mcp.Implementation{Name: "load", Version: "1"}, nil)
	s, err := cl.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: c.t.url + "/mcp", HTTPClient: c.client},
		&mcp.ClientSessionOptions{ProtocolVersion: c.revision})
	if err != nil {
		return nil, err
	}
	if got := s.InitializeResult().ProtocolVersion; got != c.revision {
		s.Close()
		return nil, fmt.Errorf("asked for MCP %s, the server speaks %s", c.revision, got)
	}
	return s, nil
}

// firstCall makes calls on one session until one answers with the
// fixture, then closes the session.
func (c *loadClient) firstCall() error {
	ctx := context.Background()
	s, err := c.connect(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer s.Close()
	var last error
	for i := 0; i < 30; i++ {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		res, err := s.CallTool(cctx, &mcp.CallToolParams{Name: c.t.tool, Arguments: c.t.args})
		cancel()
		switch {
		case err != nil:
			last = err
		case res.IsError:
			last = fmt.Errorf("tool error: %s", text(res))
		default:
			last = c.t.check(res)
		}
		if last == nil {
			return nil
		}
		time.Sleep(time.Second)
	}
	return last
}

// round opens n sessions, and once all are open, has each call the tool
// back to back for d; then closes them all (a DELETE ends each on the
// server) and the client's idle connections.
func (c *loadClient) round(b *testing.B, n int, d time.Duration) round {
	ctx := context.Background()
	var (
		r         round
		mu        sync.Mutex
		latencies []time.Duration
		toolErrs  atomic.Int64
		transErrs atomic.Int64
		open      []*mcp.ClientSession
		ready     sync.WaitGroup
		done      sync.WaitGroup
		start     = make(chan struct{})
		began     time.Time
	)
	note := func(kind, msg string) {
		mu.Lock()
		if len(r.firstErrors) < 5 {
			r.firstErrors = append(r.firstErrors, kind+": "+msg)
		}
		mu.Unlock()
	}
	for i := 0; i < n; i++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			s, err := c.connect(cctx)
			cancel()
			if err != nil {
				transErrs.Add(1)
				note("connect", err.Error())
				ready.Done()
				return
			}
			mu.Lock()
			open = append(open, s)
			mu.Unlock()
			ready.Done()
			<-start
			end := began.Add(d)
			var mine []time.Duration
			for time.Now().Before(end) {
				cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				t0 := time.Now()
				res, err := s.CallTool(cctx, &mcp.CallToolParams{Name: c.t.tool, Arguments: c.t.args})
				took := time.Since(t0)
				cancel()
				switch {
				case err != nil:
					transErrs.Add(1)
					note("call", err.Error())
				case res.IsError:
					toolErrs.Add(1)
					note("tool error", text(res))
				}
				mine = append(mine, took)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	ready.Wait()

	// RSS and goroutines are sampled for the whole round, so the peak is
	// the peak.
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if kb, err := readRSS(c.pid); err == nil && kb > r.peakKB {
				r.peakKB = kb
			}
			if i%4 == 0 {
				if m, err := metrics(c.t.url); err == nil && int(m["go_goroutines"]) > r.peakGoroutines {
					r.peakGoroutines = int(m["go_goroutines"])
				}
			}
		}
	}()
	// Every session starts at once, when all are open: the run is n
	// concurrent callers for its whole length.
	began = time.Now()
	close(start)
	done.Wait()
	elapsed := time.Since(began)
	close(stop)
	<-sampled

	for _, s := range open {
		if err := s.Close(); err != nil && !errors.Is(err, context.Canceled) {
			transErrs.Add(1)
			note("close", err.Error())
		}
	}
	c.tr.CloseIdleConnections()
	r.toolErrors, r.transportErrors = toolErrs.Load(), transErrs.Load()
	r.calls = int64(len(latencies))
	r.perSec = float64(r.calls) / elapsed.Seconds()
	if len(latencies) > 0 {
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		r.p50 = latencies[len(latencies)/2]
		r.p99 = latencies[len(latencies)*99/100]
		r.max = latencies[len(latencies)-1]
	}
	return r
}

// directRound has n goroutines make do back to back for d.
func directRound(n int, d time.Duration, do func(context.Context) error) round {
	var (
		r         round
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	end := time.Now().Add(d)
	began := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				t0 := time.Now()
				err := do(ctx)
				mine = append(mine, time.Since(t0))
				cancel()
				if err != nil {
					mu.Lock()
					r.transportErrors++
					if len(r.firstErrors) < 3 {
						r.firstErrors = append(r.firstErrors, err.Error())
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.calls = int64(len(latencies))
	r.perSec = float64(r.calls) / time.Since(began).Seconds()
	if len(latencies) > 0 {
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		r.p50 = latencies[len(latencies)/2]
		r.p99 = latencies[len(latencies)*99/100]
		r.max = latencies[len(latencies)-1]
	}
	return r
}

// directGet returns a direct request: GET url on client with the
// headers, which must answer 200; the body is read to its end.
func directGet(client *http.Client, url string, header http.Header) func(context.Context) error {
	return directDo(client, http.MethodGet, url, "", header)
}

// directDo is directGet for any method, with a body.
func directDo(client *http.Client, method, url, body string, header http.Header) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return fmt.Errorf("read %s: %w", url, err)
		}
		if resp.StatusCode != http.StatusOK || n == 0 {
			return fmt.Errorf("%s %s: %s, %d bytes", method, url, resp.Status, n)
		}
		return nil
	}
}

// directClient is an HTTP client with no per-host connection cap.
func directClient(n int, tr *http.Transport) *http.Client {
	if tr == nil {
		tr = &http.Transport{}
	}
	tr.MaxConnsPerHost, tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, 2*n, 2*n
	return &http.Client{Transport: tr}
}

// settle waits, after a round's sessions closed, until the server's
// runtime has collected garbage since, and then until RSS and goroutines
// are at or under the limits given (0: until RSS has not fallen for 5 s),
// or max passes; it returns where the server then stands.
func (c *loadClient) settle(b *testing.B, max time.Duration, limitKB, limitGoroutines int) idle {
	closed := time.Now()
	var (
		at          idle
		lowest      int
		lowestSince time.Time
	)
	for {
		m := scrape(b, c.t.url)
		at = idle{rssKB: rssKB(b, c.pid), goroutines: int(m["go_goroutines"]), heapInuse: m["go_memstats_heap_inuse_bytes"], waited: time.Since(closed)}
		collected := m["go_memstats_last_gc_time_seconds"] > float64(closed.UnixNano())/1e9
		if lowest == 0 || at.rssKB < lowest {
			lowest, lowestSince = at.rssKB, time.Now()
		}
		if collected {
			if limitKB > 0 && at.rssKB <= limitKB && at.goroutines <= limitGoroutines {
				return at
			}
			if limitKB == 0 && time.Since(lowestSince) >= 5*time.Second {
				return at
			}
		}
		if at.waited > max {
			return at
		}
		time.Sleep(time.Second)
	}
}

// text is a result's text content.
func text(res *mcp.CallToolResult) string {
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	return sb.String()
}

// readRSS is VmRSS of pid in kB, from /proc/<pid>/status.
func readRSS(pid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read RSS of %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0, fmt.Errorf("VmRSS of %d: %q: %w", pid, line, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func rssKB(b *testing.B, pid int) int {
	kb, err := readRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	return kb
}

// metricsClient opens a new connection per scrape, so the scrapes leave
// no keep-alive connection (and its goroutines) in the server.
var metricsClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// metrics reads the unlabelled gauges of the server's /metrics (the Go
// collector's: go_goroutines, go_memstats_*).
func metrics(base string) (map[string]float64, error) {
	resp, err := metricsClient.Get(base + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("scrape %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s/metrics: %s", base, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			out[name] = f
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s/metrics: %w", base, err)
	}
	for _, want := range []string{"go_goroutines", "go_memstats_last_gc_time_seconds", "go_memstats_heap_inuse_bytes"} {
		if _, ok := out[want]; !ok {
			return nil, fmt.Errorf("%s/metrics has no %s", base, want)
		}
	}
	return out, nil
}

func scrape(b *testing.B, base string) map[string]float64 {
	m, err := metrics(base)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// buildFloor builds the floor server (e2e/load/floor) into dir.
func buildFloor(dir string) (string, error) {
	out := filepath.Join(dir, "floor")
	cmd := exec.Command("go", "build", "-o", out, "./load/floor")
	cmd.Dir = filepath.Join(harness.Root(), "e2e")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the floor server: %w", err)
	}
	return out, nil
}
