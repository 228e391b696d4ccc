package tool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/policy"
)

// redteam7In picks what the hostile handler does after it has read n
// bytes through its call's Hold.
type redteam7In struct {
	N    int    `json:"n"`
	Mode string `json:"mode,omitempty"`
}

// redteam7Tool reads n bytes through the call's Hold, then misbehaves as
// mode says. zombie is closed when a handler that outlived its call has
// made its late read.
func redteam7Tool(zombie chan<- struct{}, started chan<- struct{}, release <-chan struct{}) Tool {
	return New[redteam7In, map[string]any]("rt7", "rt7", "rt7", func(ctx context.Context, c *Call, in redteam7In) (*Result, error) {
		h := memory.HoldFrom(ctx)
		r := memory.Reader(h, io.NopCloser(strings.NewReader(strings.Repeat("x", in.N))))
		b, readErr := io.ReadAll(r)
		switch in.Mode {
		case "panic":
			panic("hostile handler after reading " + string(b[:min(len(b), 8)]))
		case "error":
			return nil, errors.New("handler failed after its read")
		case "wrap":
			// A client that reports every failed read as the upstream's
			// (gitea's ensureVersion, the SDKs).
			return nil, Upstream("gitea", "http://127.0.0.1:1", readErr)
		case "swallow":
			return &Result{Data: map[string]any{"read": len(b)}, Text: "swallowed-whole"}, nil
		case "hold":
			// Keeps its answer while another call reads.
			started <- struct{}{}
			<-release
		case "overstay":
			// Outlives the call's deadline and StopGrace, then reads more.
			<-ctx.Done()
			time.Sleep(150 * time.Millisecond)
			_, _ = io.ReadAll(memory.Reader(h, io.NopCloser(strings.NewReader(strings.Repeat("y", in.N)))))
			close(zombie)
			return &Result{Text: "late-result"}, nil
		case "cancel":
			started <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		case "refused-then-wait":
			// A read refused as busy, then the handler waits on its
			// upstream (a retrying client) until the call's deadline.
			<-ctx.Done()
			return nil, Upstream("gitea", "http://127.0.0.1:1", ctx.Err())
		}
		if readErr != nil {
			return nil, readErr
		}
		return &Result{Data: map[string]any{"read": len(b)}, Text: "read all"}, nil
	})
}

func redteam7Binder(t *testing.T, limit int64, tools ...Tool) (*Binder, *mcp.ClientSession, *atomic.Int32, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	b := binder(&log, policy.OpenPolicy(), tools...)
	b.Memory, b.MemoryCost = memory.NewBudget(limit), 1
	b.Upstream = "gitea"
	var upstreamFailures atomic.Int32
	b.OnUpstreamError = func(*UpstreamError) { upstreamFailures.Add(1) }
	cs := connect(t, b, auth.Principal{User: "a"})
	return b, cs, &upstreamFailures, &log
}

// TestRedteam7HoldGivenBackOnEveryPath: whatever a handler does after
// it read (panics, fails, swallows a refusal, outlives its deadline and
// reads again, is cancelled by its client), the budget returns to 0 and a
// call that fits is answered afterwards: no leak turns into refusing
// everyone.
func TestRedteam7HoldGivenBackOnEveryPath(t *testing.T) {
	zombie := make(chan struct{})
	started := make(chan struct{}, 1)
	b, cs, _, _ := redteam7Binder(t, 1<<20, redteam7Tool(zombie, started, nil))
	b.CallTimeout, b.StopGrace = 100*time.Millisecond, 20*time.Millisecond

	fits := func() {
		t.Helper()
		res, raw := callTool(t, cs, "rt7", map[string]any{"n": 900 << 10}, nil)
		require.False(t, res.IsError, raw)
		assert.Contains(t, raw, "read all")
		assert.Zero(t, b.Memory.Used())
	}
	fits()
	for _, mode := range []string{"panic", "error", "swallow"} {
		n := 512 << 10
		if mode == "swallow" {
			n = 2 << 20 // refused mid-read, the refusal taken for the end
		}
		res, raw := callTool(t, cs, "rt7", map[string]any{"n": n, "mode": mode}, nil)
		require.True(t, res.IsError, "%s: %s", mode, raw)
		assert.NotContains(t, raw, "swallowed-whole")
		assert.Zero(t, b.Memory.Used(), mode)
		fits()
	}

	res, raw := callTool(t, cs, "rt7", map[string]any{"n": 512 << 10, "mode": "overstay"}, nil)
	require.True(t, res.IsError, raw)
	assert.NotContains(t, raw, "late-result")
	select {
	case <-zombie:
	case <-time.After(5 * time.Second):
		t.Fatal("the overstaying handler never made its late read")
	}
	assert.Zero(t, b.Memory.Used(), "a read after the call ended is never kept")
	fits()

	ctx, cancel := context.WithCancel(context.Background())
	b.CallTimeout = 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = cs.CallTool(ctx, &mcp.CallToolParams{Name: "rt7", Arguments: map[string]any{"n": 512 << 10, "mode": "cancel"}})
	}()
	<-started
	require.NotZero(t, b.Memory.Used(), "the cancelled call holds its read while it runs")
	cancel()
	<-done
	require.Eventually(t, func() bool { return b.Memory.Used() == 0 }, 5*time.Second, 10*time.Millisecond, "a cancelled call gives back what it held")
	fits()
}

// TestRedteam7RefusalSaysWhoseItIs: a busy refusal says retry and is not
// the upstream's (nor counted against its health); a refusal the client
// wrapped as the upstream's is still said as a refusal; a too-large one
// is the caller's to narrow; and the upstream's own failure is still the
// upstream's.
func TestRedteam7RefusalSaysWhoseItIs(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	b, cs, upstreamFailures, log := redteam7Binder(t, 1<<20, redteam7Tool(nil, started, release))

	res, raw := callTool(t, cs, "rt7", map[string]any{"n": 2 << 20}, nil)
	require.True(t, res.IsError, raw)
	assert.Contains(t, raw, "invalid arguments")
	assert.Contains(t, raw, "narrow the request")

	res, raw = callTool(t, cs, "rt7", map[string]any{"n": 2 << 20, "mode": "wrap"}, nil)
	require.True(t, res.IsError, raw)
	assert.Contains(t, raw, "invalid arguments", "a refusal the client wrapped is still the caller's to narrow")
	assert.NotContains(t, raw, "upstream error")
	assert.Zero(t, upstreamFailures.Load(), "a refusal is not the upstream's failure")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, raw := callTool(t, cs, "rt7", map[string]any{"n": 800 << 10, "mode": "hold"}, nil)
		assert.False(t, res.IsError, raw)
	}()
	<-started
	res, raw = callTool(t, cs, "rt7", map[string]any{"n": 400 << 10, "mode": "wrap"}, nil)
	require.True(t, res.IsError, raw)
	assert.Contains(t, raw, "retry in a moment")
	assert.NotContains(t, raw, "invalid arguments", "busy is not the caller's fault")
	assert.NotContains(t, raw, "upstream error", "busy is not the upstream's fault")
	assert.Zero(t, upstreamFailures.Load())
	close(release)
	wg.Wait()
	assert.Zero(t, b.Memory.Used())
	assert.NotContains(t, log.String(), `"upstream_error"`)

	// The upstream's own failure, with no refusal, is still the
	// upstream's.
	failing := New[redteam7In, map[string]any]("rt7_down", "down", "down", func(ctx context.Context, c *Call, in redteam7In) (*Result, error) {
		return nil, UpstreamStatus("gitea", "http://127.0.0.1:1", 503, errors.New("503 Service Unavailable"))
	})
	_, cs2, upstreamFailures2, _ := redteam7Binder(t, 1<<20, failing)
	res, raw = callTool(t, cs2, "rt7_down", map[string]any{"n": 1}, nil)
	require.True(t, res.IsError, raw)
	assert.Contains(t, raw, "upstream error")
	assert.EqualValues(t, 1, upstreamFailures2.Load())
}

// TestRedteam7NoBudgetNoCrash: a server without a memory for answers
// (mcp-docs declares no MemoryCost) runs handlers that read through
// their call's Hold, concurrently, without a crash nor a refusal.
func TestRedteam7NoBudgetNoCrash(t *testing.T) {
	var log bytes.Buffer
	b := binder(&log, policy.OpenPolicy(), redteam7Tool(nil, nil, nil))
	cs := connect(t, b, auth.Principal{User: "a"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, raw := callTool(t, cs, "rt7", map[string]any{"n": 4 << 20}, nil)
			assert.False(t, res.IsError, raw)
			assert.Contains(t, raw, "read all")
		})
	}
	wg.Wait()
}

// TestRedteam7BusyRefusalThenDeadline: a call whose read was refused as
// busy, and whose handler then waited on its upstream until the call's
// deadline (a retrying client), is still said as busy: not a timeout of
// the upstream, and not counted against the upstream's health.
func TestRedteam7BusyRefusalThenDeadline(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	b, cs, upstreamFailures, log := redteam7Binder(t, 1<<20, redteam7Tool(nil, started, release))
	b.CallTimeout = 300 * time.Millisecond
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, raw := callTool(t, cs, "rt7", map[string]any{"n": 800 << 10, "mode": "hold"}, nil)
		assert.False(t, res.IsError, raw)
	}()
	<-started
	res, raw := callTool(t, cs, "rt7", map[string]any{"n": 400 << 10, "mode": "refused-then-wait"}, nil)
	close(release)
	wg.Wait()
	require.True(t, res.IsError, raw)
	assert.Contains(t, raw, "retry in a moment", "the refusal is what failed the call")
	assert.NotContains(t, raw, "timed out after", "not the upstream's timeout")
	assert.Zero(t, upstreamFailures.Load(), "a busy server is not a failed upstream")
	assert.NotContains(t, log.String(), `"upstream_error"`)
	assert.Zero(t, b.Memory.Used())
}
