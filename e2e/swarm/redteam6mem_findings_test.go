package swarm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// The red team's memory findings on mcp-swarm (under GOMEMLIMIT=256MiB):
// eight swarm_logs calls on a token-dense 8 MiB log peaked at 267 MiB,
// one swarm_configs call on 40 configs of 480 KB at 268 MiB (455 for
// eight), eight swarm_compose calls of a 1 MiB file at 260-267 MiB. Each
// call's reads are now held against half the memory limit at what they
// cost (LogsCost, ConfigCost, ComposeCost), swarm_configs shows at most
// 2 MiB of config data, and the peaks stay under the container's limit
// with the soft limit mcp-swarm sets itself there (memSession).

// answeredOrBusy checks that each of the texts is an answer holding want
// or a refusal as busy, and that at least one was answered.
func answeredOrBusy(t *testing.T, texts []string, errs []bool, want string) {
	t.Helper()
	answered := 0
	for i := range texts {
		if errs[i] {
			assert.True(t, strings.Contains(texts[i], "retry in a moment"), "refused only as busy: %.300s", texts[i])
			continue
		}
		answered++
		assert.True(t, strings.Contains(texts[i], want), "answer %d holds %q", i, want)
	}
	assert.Positive(t, answered, "at least one of the eight is answered")
}

// TestRedteam6MemLogs: a service's two tasks each write 8 MiB of
// token-dense lines; eight callers at once read its logs with the
// largest tail, up to the 4 MiB each call reads from the engine.
func TestRedteam6MemLogs(t *testing.T) {
	ctx := context.Background()
	seedWrites(t)
	const svc = "rt6mem-logs"
	script := `awk 'BEGIN{for(i=0;i<100000;i++) printf "level=error token=ghp_%036d password=Pw%08d AKIA%016d key=%x\n", i, i, i, i}'; sleep 3600`
	_, err := sw.CLI(ctx, "service", "create", "--detach", "--no-resolve-image", "--name", svc, "--replicas", "2", harness.BusyboxImage, "sh", "-c", script)
	require.NoError(t, err)
	t.Cleanup(func() { sw.CLI(ctx, "service", "rm", svc) })
	require.NoError(t, waitRunning(ctx, svc, 2))
	// The tasks are running; their lines are written within a second.
	time.Sleep(3 * time.Second)

	s, pid := memSession(t)
	args := map[string]any{"service": svc, "tail": 1000000}
	r := mustCall(t, s, "swarm_logs", args)
	assert.Contains(t, r.Text, "token=[MASKED:github-token:")
	one := peakMiB(t, pid)
	texts, errs := concurrently(t, s, 8, "swarm_logs", args)
	answeredOrBusy(t, texts, errs, "token=[MASKED:github-token:")
	peak := peakMiB(t, pid)
	t.Logf("swarm_logs: peak %d MiB after one call, %d MiB after eight at once", one, peak)
	assert.Less(t, peak, int64(memLimitMiB), "peak RSS in MiB under the container's %d", memLimitMiB)
}

// TestRedteam6MemConfigs: 40 configs of 480 KB of token-dense text (the
// engine takes up to 500 KB each); one caller, then eight at once, list
// them: the first 2 MiB of data are shown masked, one list at a time.
func TestRedteam6MemConfigs(t *testing.T) {
	ctx := context.Background()
	seedWrites(t)
	data := filepath.Join(t.TempDir(), "data")
	var b strings.Builder
	for i := 0; b.Len() < 480_000; i++ {
		fmt.Fprintf(&b, "key%d: password=Pw%08d token=ghp_%036d\n", i, i, i)
	}
	require.NoError(t, os.WriteFile(data, []byte(b.String()), 0o644))
	var cmds [][]string
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("rt6mem-cfg-%02d", i))
		cmds = append(cmds, []string{"config", "create", names[i], data})
	}
	t.Cleanup(func() { sw.CLI(ctx, append([]string{"config", "rm"}, names...)...) })
	createAll(t, cmds)

	s, pid := memSession(t)
	r := mustCall(t, s, "swarm_configs", map[string]any{})
	assert.True(t, strings.Contains(r.Text, "token=[MASKED:github-token:"), "the first configs' data, masked")
	assert.False(t, strings.Contains(r.Text, "ghp_0000"), "no token in clear")
	// Which configs show their data: mcp-swarm/internal/tools
	// TestConfigsShowBoundedData (this answer's first page is one config's
	// data, cut by the output budget).
	one := peakMiB(t, pid)
	texts, errs := concurrently(t, s, 8, "swarm_configs", map[string]any{})
	answeredOrBusy(t, texts, errs, "token=[MASKED:github-token:")
	peak := peakMiB(t, pid)
	t.Logf("swarm_configs: peak %d MiB after one call, %d MiB after eight at once", one, peak)
	assert.Less(t, peak, int64(memLimitMiB), "peak RSS in MiB under the container's %d", memLimitMiB)
}

// TestRedteam6MemCompose: eight callers at once hand swarm_compose a
// compose file at its 1 MiB bound, of many services with long values.
func TestRedteam6MemCompose(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 0; b.Len() < 1<<20-8<<10; i++ {
		fmt.Fprintf(&b, "  s%d:\n    image: busybox\n    environment:\n      A: %s\n      B: %s\n", i, strings.Repeat("a", 1000), strings.Repeat("b", 1000))
	}
	s, pid := memSession(t)
	args := map[string]any{"content": b.String(), "stack": "shop"}
	r := call(t, s, "swarm_compose", args)
	assert.Contains(t, r.Text, "s0")
	one := peakMiB(t, pid)
	texts, errs := concurrently(t, s, 8, "swarm_compose", args)
	answeredOrBusy(t, texts, errs, "s0")
	peak := peakMiB(t, pid)
	t.Logf("swarm_compose: peak %d MiB after one call, %d MiB after eight at once", one, peak)
	assert.Less(t, peak, int64(memLimitMiB), "peak RSS in MiB under the container's %d", memLimitMiB)
}
