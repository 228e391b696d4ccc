package kube

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/memory"
)

// TestRedteam6ConcurrentGuardsNeverHoldPastTheLimit: 16 calls at once
// (twice the team's 8), each reading a 3 MiB answer at 8 bytes a byte
// against 64 MiB: what they hold together never passes the limit, each
// is either answered whole or refused as busy (never as too large: alone
// it fits), and once all have released nothing is held. Run under -race
// (make test does), it also holds hold and Release to their lock.
func TestRedteam6ConcurrentGuardsNeverHoldPastTheLimit(t *testing.T) {
	u := &upstream{bodies: map[string]string{"/api/v1/namespaces/web/configmaps": bigList(3 << 20)}}
	answers := newAnswers(64 << 20)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n := answers.Used(); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	var answered, busy atomic.Int32
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGuard(nil)
			g.Hold = answers.Begin(AnswerCost)
			defer g.Hold.Release()
			body, err := get(t, g.Wrap(memory.Counted(u)), "/api/v1/namespaces/web/configmaps")
			switch {
			case err == nil:
				assert.Greater(t, len(body), 3<<20)
				answered.Add(1)
			case errors.Is(err, memory.ErrBusy):
				assert.ErrorIs(t, g.Hold.Refusal(), memory.ErrBusy)
				busy.Add(1)
			default:
				t.Errorf("neither answered nor busy: %v", err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	assert.LessOrEqual(t, peak.Load(), int64(64<<20), "never held past the limit")
	assert.Equal(t, int32(16), answered.Load()+busy.Load())
	assert.Positive(t, answered.Load())
	assert.Zero(t, answers.Used(), "all given back")
}

// failingBody yields n bytes of a list, then fails (a connection reset
// mid-answer), or blocks until ctx ends when block is set.
type failingBody struct {
	r     io.Reader
	ctx   context.Context
	block bool
}

func (b *failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		if b.block {
			<-b.ctx.Done()
			return 0, b.ctx.Err()
		}
		return 0, errors.New("connection reset by peer")
	}
	return n, err
}

func (b *failingBody) Close() error { return nil }

type failingUpstream struct{ block bool }

func (f failingUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	part := bigList(4 << 20)[:2<<20]
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: &failingBody{r: strings.NewReader(part), ctx: r.Context(), block: f.block}, Request: r}, nil
}

// TestRedteam6FailedReadsGiveBackAll: an answer that breaks off after
// 2 MiB (the API server's connection reset), or that stalls until the
// call's deadline cancels it, fails the request as the upstream's read
// error; what was held of it while it came is given back by Release, so
// a failed call leaves no memory held (the server would refuse all
// afterwards).
func TestRedteam6FailedReadsGiveBackAll(t *testing.T) {
	for _, block := range []bool{false, true} {
		answers := newAnswers(64 << 20)
		g := newGuard(nil)
		g.Hold = answers.Begin(AnswerCost)
		ctx, cancel := context.WithCancel(context.Background())
		g.Ctx = ctx
		if block {
			time.AfterFunc(100*time.Millisecond, cancel)
		}
		_, err := get(t, g.Wrap(memory.Counted(failingUpstream{block: block})), "/api/v1/namespaces/web/configmaps")
		cancel()
		require.Error(t, err)
		assert.ErrorContains(t, err, "read the API server's answer")
		assert.False(t, errors.Is(err, memory.ErrBusy))
		assert.Nil(t, g.Hold.Refusal())
		assert.Equal(t, int64(2<<20)*AnswerCost, answers.Used(), "held while it came")
		g.Hold.Release()
		assert.Zero(t, answers.Used(), "block=%v: all given back", block)
		g.Hold.Release() // twice, as a deferred and an explicit Release would
		assert.Zero(t, answers.Used(), "a second Release gives back nothing more")
	}
}

// TestRedteam6SpreadRefusedMidwayGivesBackAll: a list across namespaces
// for a caller limited to some (kubectl -A) reads one namespace after
// another; refused on the third for memory, the call holds what the
// first two took until Release, which gives it all back, and the error
// says to narrow the request (alone, it is too large).
func TestRedteam6SpreadRefusedMidwayGivesBackAll(t *testing.T) {
	u := &upstream{bodies: map[string]string{
		"/api/v1/namespaces/a/configmaps": bigList(1 << 20),
		"/api/v1/namespaces/b/configmaps": bigList(1 << 20),
		"/api/v1/namespaces/c/configmaps": bigList(3 << 20),
	}}
	answers := newAnswers(32 << 20)
	g := newGuard(func(ns string) bool { return ns == "a" || ns == "b" || ns == "c" })
	g.Spread = []string{"a", "b", "c"}
	g.Hold = answers.Begin(AnswerCost)
	_, err := get(t, g.Wrap(memory.Counted(u)), "/api/v1/configmaps")
	require.Error(t, err)
	assert.ErrorContains(t, err, "narrow the request")
	assert.False(t, errors.Is(err, memory.ErrBusy))
	assert.Zero(t, answers.Used(), "a refused call gives back what it read at once")
	g.Hold.Release()
	assert.Zero(t, answers.Used())
}
