package catalog

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sleepIn struct {
	MS int `json:"ms"`
}

// slow serves one tool over the real MCP protocol (in memory) that sleeps
// and records how many calls run at once.
func slow(t *testing.T, peak *int32) *Catalog {
	srv := mcp.NewServer(&mcp.Implementation{Name: "slow"}, nil)
	var now int32
	mcp.AddTool(srv, &mcp.Tool{Name: "slow_sleep", Description: "sleeps"}, func(ctx context.Context, r *mcp.CallToolRequest, in sleepIn) (*mcp.CallToolResult, any, error) {
		n := atomic.AddInt32(&now, 1)
		defer atomic.AddInt32(&now, -1)
		for {
			p := atomic.LoadInt32(peak)
			if n <= p || atomic.CompareAndSwapInt32(peak, p, n) {
				break
			}
		}
		select {
		case <-time.After(time.Duration(in.MS) * time.Millisecond):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "slept"}}}, nil, nil
	})
	ct, st := mcp.NewInMemoryTransports()
	_, err := srv.Connect(context.Background(), st, nil)
	require.NoError(t, err)
	sess, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	require.NoError(t, err)
	c := New()
	require.NoError(t, c.Attach(context.Background(), "slow", sess))
	t.Cleanup(c.Close)
	return c
}

func TestServerLimits(t *testing.T) {
	var peak int32
	c := slow(t, &peak)
	// A timeout far above the sleeps: on a loaded machine a call that
	// timed out would free its slot while the server still ran it.
	c.Limit("slow", 10*time.Second, 2)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Call(context.Background(), "slow_sleep", map[string]any{"ms": 20})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 2, peak, "at most 2 calls in flight to the server")

	c.Limit("slow", 80*time.Millisecond, 2)
	_, err := c.Call(context.Background(), "slow_sleep", map[string]any{"ms": 500})
	var ae *ArgError
	require.ErrorAs(t, err, &ae, "a call over the timeout goes back to the model as a tool error")
	assert.Contains(t, err.Error(), "took longer than 80ms")

	_, err = c.Call(context.Background(), "slow_sleep", map[string]any{"ms": "x"})
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, err.Error(), "do not fit its schema")
}
