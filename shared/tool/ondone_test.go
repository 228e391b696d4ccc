package tool

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
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
