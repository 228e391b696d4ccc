package tools

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// redteam7Session is the swarm tools behind a binder with a memory for
// answers, as mcp-swarm's main sets it up, on the fake engine; upstream
// counts the calls the binder reported as the engine's failures (which
// mark the server not ready).
func redteam7Session(t *testing.T, f *fakeEngine, limit int64, timeout time.Duration) (*tool.Binder, *mcp.ClientSession, *atomic.Int32) {
	t.Helper()
	s := f.server(t)
	bd := &tool.Binder{Server: "mcp-swarm", Tools: s.Tools(), Masker: mask.New(nil), Audit: audit.New(io.Discard),
		Policy: testPolicy, MaxBytes: 1 << 20, Logger: slog.New(slog.DiscardHandler),
		Upstream: Upstream, MemoryCost: MemoryCost, Memory: memory.NewBudget(limit), CallTimeout: timeout}
	var upstream atomic.Int32
	bd.OnUpstreamError = func(*tool.UpstreamError) { upstream.Add(1) }
	srv := mcp.NewServer(&mcp.Implementation{Name: "mcp-swarm"}, nil)
	bd.Bind(srv, auth.Principal{User: "rt7", Roles: []string{"sre"}}, "s1")
	ct, st := mcp.NewInMemoryTransports()
	_, err := srv.Connect(context.Background(), st, nil)
	require.NoError(t, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "rt7"}, nil).Connect(context.Background(), ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { cs.Close() })
	return bd, cs, &upstream
}

func redteam7Call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (bool, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	raw, _ := json.Marshal(res)
	return res.IsError, string(raw)
}

// TestRedteam7LogsRefusedNotLimited: swarm_logs whose stream is refused
// mid-read (demux takes a read error for "limited") fails with the
// refusal, never a short log marked as merely limited; the budget
// returns to 0 and a log that fits is then answered.
func TestRedteam7LogsRefusedNotLimited(t *testing.T) {
	f := newFakeEngine(t)
	var lines [][2]string
	for i := range 4000 {
		lines = append(lines, [2]string{"stdout", "2026-01-01T00:00:00.000000000Z line " + string(rune('a'+i%26)) + " of a long log that the memory for answers cannot hold"})
	}
	f.logs[shopWebID] = lines
	bd, cs, upstream := redteam7Session(t, f, 2<<20, 10*time.Second)
	isErr, raw := redteam7Call(t, cs, "swarm_logs", map[string]any{"service": "shop_web", "tail": 4000})
	require.True(t, isErr, raw)
	assert.Contains(t, raw, "invalid arguments")
	assert.Contains(t, raw, "narrow the request")
	assert.NotContains(t, raw, "limited")
	assert.NotContains(t, raw, "line a of")
	assert.Zero(t, upstream.Load(), "a refusal is not the engine's failure")
	assert.Zero(t, bd.Memory.Used())

	f.mu.Lock()
	f.logs[shopWebID] = lines[:20] // the fake engine streams all it has
	f.mu.Unlock()
	isErr, raw = redteam7Call(t, cs, "swarm_logs", map[string]any{"service": "shop_web", "tail": 20})
	require.False(t, isErr, raw)
	assert.Contains(t, raw, "line")
	assert.Zero(t, bd.Memory.Used())
}

// TestRedteam7ConfigsWaitIsNotTheEngines: a swarm_configs call that
// waits for another one (configs are listed one call at a time) until
// its time limit is refused as busy, "retry in a moment"; it is not a
// timeout of the Docker engine, and does not count against the engine's
// health (which would mark the server not ready while the engine is
// fine).
func TestRedteam7ConfigsWaitIsNotTheEngines(t *testing.T) {
	f := newFakeEngine(t)
	bd, cs, upstream := redteam7Session(t, f, 64<<20, 300*time.Millisecond)
	// Another swarm_configs call holds the listing.
	configLists <- struct{}{}
	isErr, raw := redteam7Call(t, cs, "swarm_configs", map[string]any{})
	<-configLists
	require.True(t, isErr, raw)
	assert.Contains(t, raw, "retry in a moment")
	assert.NotContains(t, raw, "waiting for Docker engine")
	assert.Zero(t, upstream.Load(), "a busy server is not a failed engine")
	assert.Zero(t, bd.Memory.Used())

	isErr, raw = redteam7Call(t, cs, "swarm_configs", map[string]any{})
	require.False(t, isErr, raw)
}
