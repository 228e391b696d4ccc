package tool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/policy"
)

type onDoneIn struct {
	Fail bool `json:"fail,omitempty"`
}

// TestOnDoneRunsAfterTheShaping: what a handler gives OnDone runs once,
// after the binder has rendered its result (so memory held for the result
// is given back when nothing works on it any more), last first, and on a
// failed call too.
func TestOnDoneRunsAfterTheShaping(t *testing.T) {
	var mu sync.Mutex
	var events []string
	note := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	held := New[onDoneIn, map[string]any]("test_ondone", "OnDone", "ondone", func(ctx context.Context, c *Call, in onDoneIn) (*Result, error) {
		c.OnDone(func() { note("first") })
		c.OnDone(func() { note("second") })
		if in.Fail {
			return nil, errors.New("upstream broke")
		}
		return &Result{Data: map[string]any{"n": 1}, Render: func(map[string]any) string {
			note("render")
			return "rendered"
		}}, nil
	})
	var log bytes.Buffer
	cs := connect(t, binder(&log, policy.OpenPolicy(), held), auth.Principal{User: "a"})

	res, raw := callTool(t, cs, "test_ondone", map[string]any{}, nil)
	require.False(t, res.IsError, raw)
	mu.Lock()
	assert.Equal(t, []string{"render", "second", "first"}, events)
	events = nil
	mu.Unlock()

	res, raw = callTool(t, cs, "test_ondone", map[string]any{"fail": true}, nil)
	require.True(t, res.IsError, raw)
	mu.Lock()
	assert.Equal(t, []string{"second", "first"}, events)
	mu.Unlock()
}

// TestRefusedReadFailsTheCall: a handler whose read the memory for
// answers refused fails the call with the refusal, also when it took the
// failed read for the end of the answer and returned a result: a result
// cut short without saying so is never sent.
func TestRefusedReadFailsTheCall(t *testing.T) {
	swallow := New[onDoneIn, map[string]any]("test_swallow", "Swallow", "swallow", func(ctx context.Context, c *Call, in onDoneIn) (*Result, error) {
		r := memory.Reader(memory.HoldFrom(ctx), io.NopCloser(strings.NewReader(strings.Repeat("x", 4096))))
		b, _ := io.ReadAll(r) // the refusal taken for the end
		return &Result{Data: map[string]any{"read": len(b)}, Text: fmt.Sprintf("read %d bytes", len(b))}, nil
	})
	var log bytes.Buffer
	b := binder(&log, policy.OpenPolicy(), swallow)
	b.Memory, b.MemoryCost = memory.NewBudget(1024), 1
	cs := connect(t, b, auth.Principal{User: "a"})
	res, raw := callTool(t, cs, "test_swallow", map[string]any{}, nil)
	require.True(t, res.IsError, raw)
	assert.Contains(t, raw, "the answers to this call take more memory than this server gives all calls' answers")
	assert.NotContains(t, raw, "read 1024 bytes")
	assert.Zero(t, b.Memory.Used(), "given back")
}
