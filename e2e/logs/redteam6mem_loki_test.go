package logs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// The shipped deployments give mcp-logs 256 MiB; a process past it is
// OOM-killed with every caller's call in it. These tests run the server
// with GOMEMLIMIT at that limit (the Go runtime then behaves as in the
// container; the kernel's limit is what would kill) and measure its peak
// resident set (VmHWM) under hostile answers, files and concurrency.
const memLimitMiB = 256

// memSession starts the server under GOMEMLIMIT=256MiB and returns its
// session and pid.
func memSession(t *testing.T, extra ...string) (*mcp.ClientSession, string) {
	t.Helper()
	t.Setenv("GOMEMLIMIT", fmt.Sprintf("%dMiB", memLimitMiB))
	var s *mcp.ClientSession
	pid := harness.NewProcessOf(t, binary, func() { s, _ = session(t, extra...) })
	return s, pid
}

// concurrently makes n calls of one tool at once (harness.CallsAtOnce).
func concurrently(t *testing.T, s *mcp.ClientSession, n int, name string, args map[string]any) ([]string, []bool) {
	t.Helper()
	return harness.CallsAtOnce(t, &seen, s, n, name, args)
}

// peakMiB is the server's peak resident set so far, in MiB.
func peakMiB(t *testing.T, pid string) int64 { return harness.PeakMiB(t, pid) }

// TestRedteam6MemLokiBigLines: a log writer pushes 128 lines of 28 KiB,
// 3.5 MiB in all (Loki's default gRPC messages hold 4 MiB, so that is the
// most one answer of Loki as configured by default can carry); eight
// callers ask for them at once with the largest page (1000 lines), with and
// without a filter (a filtered call reads up to 10 batches). Measured:
// 33 MiB for one call, 90-105 MiB for eight. (Loki cannot delete what was
// pushed: the lines are in a namespace of their own, after the fixtures'
// window.)
func TestRedteam6MemLokiBigLines(t *testing.T) {
	ctx := context.Background()
	start := time.Now().UTC()
	pad := strings.Repeat("abcdefgh ", 28<<10/9)
	var streams []harness.Stream
	for st := range 8 {
		s := harness.Stream{Labels: map[string]string{"namespace": "redteam6mem", "app": fmt.Sprintf("big%d", st), "env": "redteam"}}
		for i := range 16 {
			n := st*16 + i
			s.Lines = append(s.Lines, harness.Line{Time: start.Add(time.Duration(n) * time.Millisecond), Text: fmt.Sprintf("line %d %s", n, pad)})
		}
		streams = append(streams, s)
	}
	// Under Loki's gRPC message size and its ingestion burst (6 MB).
	require.NoError(t, loki.Push(ctx, streams[:4]))
	require.NoError(t, loki.Push(ctx, streams[4:]))
	args := map[string]any{"query": `{namespace="redteam6mem"}`, "limit": 1000,
		"start": rfc(start.Add(-time.Minute)), "end": rfc(time.Now().Add(time.Minute))}

	s, pid := memSession(t)
	r := mustCall(t, s, "logs_query", args)
	require.NotEmpty(t, items(r))
	assert.Equal(t, "line 127 abcdefgh", fmt.Sprint(items(r)[0]["line"])[:17], "the newest line first")
	t.Logf("one call: %d items, peak %d MiB", len(items(r)), peakMiB(t, pid))
	filtered := map[string]any{"query": `{namespace="redteam6mem"} |= "line"`, "limit": 1000, "start": args["start"], "end": args["end"]}
	for _, a := range []map[string]any{args, filtered} {
		texts, errs := concurrently(t, s, 8, "logs_query", a)
		for i := range texts {
			assert.False(t, errs[i], texts[i])
			assert.Contains(t, texts[i], "line 127 abcdefgh")
		}
		t.Logf("eight calls of %s: peak %d MiB", a["query"], peakMiB(t, pid))
	}
	peak := peakMiB(t, pid)
	assert.Less(t, peak, int64(memLimitMiB*3/4), "peak RSS in MiB under 3/4 of the container's %d", memLimitMiB)
}
