package gateway

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFairQueue: with one slot busy, ann queues three requests, then bob
// one; as slots free, bob is served second, not after all of ann's.
func TestFairQueue(t *testing.T) {
	g := New(nil)
	g.SetParallel("primary", 1)
	ctx := context.Background()
	hold, waited, err := g.Acquire(ctx, "primary", "holder")
	require.NoError(t, err)
	assert.Zero(t, waited)

	var gr grants
	// Enqueue one at a time, so the queue order is known.
	for _, id := range []string{"ann-1", "ann-2", "ann-3"} {
		gr.join(t, g, id, "ann")
	}
	gr.join(t, g, "bob-1", "bob")
	require.Equal(t, 4, g.Waiting("primary"))

	hold()
	gr.wg.Wait()
	assert.Equal(t, []string{"ann-1", "bob-1", "ann-2", "ann-3"}, gr.order)
	assert.Zero(t, g.Waiting("primary"))
}

// grants records the order in which queued requests get their slot.
type grants struct {
	mu    sync.Mutex
	order []string
	wg    sync.WaitGroup
}

// join queues a request of user, recorded as id, and returns once it
// waits in the queue; it frees its slot as soon as it gets one.
func (gr *grants) join(t *testing.T, g *Gateway, id, user string) {
	t.Helper()
	before := g.Waiting("primary")
	gr.wg.Add(1)
	go func() {
		defer gr.wg.Done()
		release, _, err := g.Acquire(context.Background(), "primary", user)
		if err != nil {
			return
		}
		gr.mu.Lock()
		gr.order = append(gr.order, id)
		gr.mu.Unlock()
		release()
	}()
	waitFor(t, func() bool { return g.Waiting("primary") == before+1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached")
}

func TestCapAndCancel(t *testing.T) {
	g := New(nil)
	g.SetParallel("primary", 2)
	ctx := context.Background()
	r1, _, _ := g.Acquire(ctx, "primary", "a")
	r2, _, _ := g.Acquire(ctx, "primary", "b")
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, waited, err := g.Acquire(cctx, "primary", "c")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the third waits: the cap is 2")
	assert.GreaterOrEqual(t, waited, 25*time.Millisecond)
	assert.Zero(t, g.Waiting("primary"), "a cancelled waiter leaves the queue")
	r1()
	r3, waited, err := g.Acquire(ctx, "primary", "c")
	require.NoError(t, err)
	assert.Zero(t, waited)
	r2()
	r3()
}

// TestQueuePosition: a request that has to wait learns how many are ahead.
func TestQueuePosition(t *testing.T) {
	g := New(nil)
	g.SetParallel("primary", 1)
	ctx := context.Background()
	hold, _, err := g.Acquire(ctx, "primary", "holder")
	require.NoError(t, err)
	got := make(chan int, 2)
	var wg sync.WaitGroup
	for i, user := range []string{"ann", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, waited, err := g.Acquire(ctx, "primary", user, func(ahead int) { got <- ahead })
			if assert.NoError(t, err) {
				assert.Positive(t, waited)
				release()
			}
		}()
		waitFor(t, func() bool { return g.Waiting("primary") == i+1 })
	}
	assert.Equal(t, 0, <-got, "ann is first in line")
	assert.Equal(t, 1, <-got, "bob has ann ahead")
	hold()
	wg.Wait()
	_, waited, err := g.Acquire(ctx, "primary", "carol", func(int) { t.Error("a free slot does not queue") })
	require.NoError(t, err)
	assert.Zero(t, waited)
}

// TestFairnessTenUsers: ten users queue three requests each behind a
// busy slot; every user's first request is served before anyone's second.
func TestFairnessTenUsers(t *testing.T) {
	g := New(nil)
	g.SetParallel("primary", 1)
	ctx := context.Background()
	hold, _, err := g.Acquire(ctx, "primary", "holder")
	require.NoError(t, err)
	var gr grants
	for round := 0; round < 3; round++ {
		for u := 0; u < 10; u++ {
			user := fmt.Sprintf("u%d", u)
			gr.join(t, g, user, user)
		}
	}
	hold()
	gr.wg.Wait()
	order := gr.order
	require.Len(t, order, 30)
	seen := map[string]int{}
	for i, u := range order {
		seen[u]++
		if i < 10 {
			assert.Equal(t, 1, seen[u], "the first ten grants go to ten different users: %v", order[:10])
		}
	}
}
