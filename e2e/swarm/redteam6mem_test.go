package swarm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// The shipped deployments give mcp-swarm 256 MiB; a process past it is
// OOM-killed with every caller's call in it. These tests run the server
// with GOMEMLIMIT at that limit (it then holds its collector to 3/4 of it,
// as under the cgroup's limit) and measure its peak resident set (VmHWM)
// under hostile engine data and eight concurrent calls.
const memLimitMiB = 256

// memSession starts the server as in a container of memLimitMiB: with
// the Go soft limit mcp-swarm sets itself there (three quarters, see
// cmd/mcp-swarm/gc.go; at GOGC 400 the heap grows to it before the
// collector works hard, so a soft limit of the whole container's would
// let garbage alone reach it), and returns its session and pid.
func memSession(t *testing.T) (*mcp.ClientSession, string) {
	t.Helper()
	t.Setenv("GOMEMLIMIT", fmt.Sprintf("%dMiB", memLimitMiB*3/4))
	var s *mcp.ClientSession
	pid := harness.NewProcessOf(t, binary, func() { s, _ = session(t) })
	return s, pid
}

// peakMiB is the server's peak resident set so far, in MiB.
func peakMiB(t *testing.T, pid string) int64 { return harness.PeakMiB(t, pid) }

// concurrently makes n calls of one tool at once on one server and
// returns their texts and whether each was a tool error; a call the
// transport fails (the server died) fails the test.
func concurrently(t *testing.T, s *mcp.ClientSession, n int, name string, args map[string]any) ([]string, []bool) {
	t.Helper()
	return harness.CallsAtOnce(t, &seen, s, n, name, args)
}

// seedWrites is the only place these tests write to the engine (the
// fixtures' writes happen before TestZZEngineSawOnlyReads' mark): what
// the engine logged before is checked to be reads now, and when the test
// ends, everything after is checked to be reads but for the seed's own
// creates and removes, and the mark moves past them.
var seedWrite = regexp.MustCompile(`^(POST /v[0-9.]+/(services|configs)/create|DELETE /v[0-9.]+/(services|configs)/[^/]+)$`)

func seedWrites(t *testing.T) {
	t.Helper()
	calls, err := sw.Calls(logStart)
	require.NoError(t, err)
	for _, c := range calls {
		method, _, _ := strings.Cut(c, " ")
		require.Contains(t, []string{"GET", "HEAD"}, method, c)
	}
	mark := sw.LogSize()
	t.Cleanup(func() {
		calls, err := sw.Calls(mark)
		require.NoError(t, err)
		for _, c := range calls {
			method, _, _ := strings.Cut(c, " ")
			if method != "GET" && method != "HEAD" {
				assert.Regexp(t, seedWrite, c, "only the seed wrote")
			}
		}
		logStart = sw.LogSize()
	})
}

// createAll runs the docker CLI commands four at a time.
func createAll(t *testing.T, cmds [][]string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(cmds))
	sem := make(chan struct{}, 4)
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = sw.CLI(context.Background(), c...)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// memCalls makes each call once, then eight times at once, on one server
// and holds its peak RSS under bound MiB.
func memCalls(t *testing.T, bound int64, cases []memCase) {
	s, pid := memSession(t)
	for _, c := range cases {
		r := call(t, s, c.tool, c.args)
		assert.Contains(t, r.Text, c.want)
		one := peakMiB(t, pid)
		texts, _ := concurrently(t, s, 8, c.tool, c.args)
		peak := peakMiB(t, pid)
		t.Logf("%s: peak %d MiB after one call, %d MiB after eight at once (%.200q)", c.tool, one, peak, texts[0])
	}
	peak := peakMiB(t, pid)
	assert.Less(t, peak, bound, "peak RSS in MiB (the container has %d)", memLimitMiB)
}

// memCase is one call and what its answer holds.
type memCase struct {
	tool string
	args map[string]any
	want string
}

// TestRedteam6MemServices: 20 services of 1000 environment values of 200
// bytes each (200 KB a spec); eight callers at once list them and inspect
// one. Measured: swarm_services 38 MiB for one call, 121 MiB for eight;
// swarm_service 134 MiB for one, 146 MiB for eight.
func TestRedteam6MemServices(t *testing.T) {
	ctx := context.Background()
	seedWrites(t)
	envFile := filepath.Join(t.TempDir(), "env")
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "V%04d=%s\n", i, strings.Repeat("e", 200))
	}
	require.NoError(t, os.WriteFile(envFile, []byte(b.String()), 0o644))
	var cmds [][]string
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("rt6mem-svc-%02d", i))
		cmds = append(cmds, []string{"service", "create", "--detach", "--no-resolve-image", "--replicas", "0", "--name", names[i], "--env-file", envFile, harness.BusyboxImage, "sleep", "3600"})
	}
	t.Cleanup(func() { sw.CLI(ctx, append([]string{"service", "rm"}, names...)...) })
	createAll(t, cmds)
	memCalls(t, memLimitMiB*3/4, []memCase{
		{"swarm_services", map[string]any{}, "rt6mem-svc-19"},
		{"swarm_service", map[string]any{"service": "rt6mem-svc-00"}, "V0999"},
	})
}
