package memory

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedteam7ConcurrentHoldsNeverOverCommit: many calls taking, giving
// and ending at once (under -race) never hold more than the Budget nor
// less than nothing, and when every call has ended the Budget is whole
// again: a call of the whole Budget fits.
func TestRedteam7ConcurrentHoldsNeverOverCommit(t *testing.T) {
	const limit = 1 << 20
	b := NewBudget(limit)
	var bad atomic.Int64
	stop := make(chan struct{})
	watch := make(chan struct{})
	go func() {
		defer close(watch)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if u := b.Used(); u < 0 || u > limit {
				bad.Store(u)
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 300 {
				h := b.Begin(int64(r.IntN(20)) - 2) // a cost of 0 or less is 1
				for range r.IntN(8) {
					switch r.IntN(5) {
					case 0:
						_ = h.Take(r.IntN(64 << 10))
					case 1:
						_ = h.TakeAt(r.IntN(32<<10), int64(1+r.IntN(12)))
					case 2:
						h.Give(int64(r.IntN(128 << 10)))
					case 3:
						h.SetCost(int64(r.IntN(10)) - 3)
					case 4:
						_, _ = io.Copy(io.Discard, Reader(h, io.NopCloser(strings.NewReader(strings.Repeat("x", r.IntN(64<<10))))))
					}
				}
				h.Release()
				require.Error(t, h.Take(1), "a Hold that ended takes nothing")
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-watch
	assert.Zero(t, bad.Load(), "the Budget was over-committed or below nothing")
	assert.Zero(t, b.Used())
	whole := b.Begin(1)
	require.NoError(t, whole.Take(limit))
	whole.Release()
}

// TestRedteam7NilHoldsAndOddSizes: a server without a Budget (mcp-docs,
// a handler called without a binder) reads through nil Holds without a
// crash nor a refusal; sizes of 0 or less take nothing; a refused Reader
// says so on every later read, never io.EOF.
func TestRedteam7NilHoldsAndOddSizes(t *testing.T) {
	var nb *Budget
	h := nb.Begin(12)
	require.Nil(t, h)
	require.NoError(t, h.Take(1<<40))
	require.NoError(t, h.TakeAt(1<<30, 1<<20))
	h.Give(-5)
	h.SetCost(-1)
	assert.Equal(t, int64(1), h.Cost())
	h.Release()
	require.NoError(t, h.Refusal())
	assert.Nil(t, HoldFrom(context.Background()))
	assert.Equal(t, context.Background(), WithHold(context.Background(), nil))
	body, err := io.ReadAll(Reader(nil, io.NopCloser(strings.NewReader("all of it"))))
	require.NoError(t, err)
	assert.Equal(t, "all of it", string(body))

	b := NewBudget(1000)
	k := b.Begin(10)
	require.NoError(t, k.Take(0))
	require.NoError(t, k.Take(-100))
	require.NoError(t, k.TakeAt(-100, 10))
	assert.Zero(t, b.Used())
	r := Reader(k, io.NopCloser(strings.NewReader(strings.Repeat("z", 4096))))
	_, err = io.ReadAll(r)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Zero(t, b.Used())
}

// TestRedteam7CountedOnlyWithAHold: Counted holds the body of a request
// whose context carries a Hold against it, refuses it past the Budget,
// and leaves one without a Hold (a readiness check, a shared cache's
// fill) as it is.
func TestRedteam7CountedOnlyWithAHold(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("{\"k\":\"v\"}", 1<<12))
	}))
	defer srv.Close()
	cl := &http.Client{Transport: Counted(http.DefaultTransport)}
	get := func(ctx context.Context) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := cl.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	n, err := get(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 9<<12, n)

	b := NewBudget(40 << 10)
	h := b.Begin(4)
	_, err = get(WithHold(context.Background(), h))
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorIs(t, h.Refusal(), ErrTooLarge)
	assert.Zero(t, b.Used())
	h.Release()
	fits := b.Begin(1)
	n, err = get(WithHold(context.Background(), fits))
	require.NoError(t, err)
	assert.Equal(t, 9<<12, n)
	fits.Release()
	assert.Zero(t, b.Used())
}

// TestRedteam7RefusedHoldStaysRefused: once a call's read is refused
// (and what it held given back), the call fails; a handler that goes on
// reading past the refusal (demux's io.CopyN, a decoder that retries)
// must not hold the memory for answers again for a result that is never
// sent.
func TestRedteam7RefusedHoldStaysRefused(t *testing.T) {
	b := NewBudget(1000)
	k := b.Begin(10)
	r := Reader(k, io.NopCloser(strings.NewReader(strings.Repeat("z", 4096))))
	_, err := io.ReadAll(r)
	require.ErrorIs(t, err, ErrTooLarge)
	n, err := r.Read(make([]byte, 16))
	assert.Zero(t, n)
	require.Error(t, err, "a refused body never reads on")
	assert.False(t, errors.Is(err, io.EOF))
	assert.Zero(t, b.Used(), "nothing held past the refusal")
}

// TestRedteam7HugeSizeNeverWraps: a size times its cost past int64 is
// refused as too large; it never wraps to less than nothing, which gives
// the calls beside it memory that is not there.
func TestRedteam7HugeSizeNeverWraps(t *testing.T) {
	b := NewBudget(1 << 30)
	other := b.Begin(1)
	require.NoError(t, other.Take(1<<29))
	h := b.Begin(12)
	require.ErrorIs(t, h.Take(math.MaxInt), ErrTooLarge)
	require.ErrorIs(t, b.Begin(1).TakeAt(math.MaxInt, 12), ErrTooLarge)
	assert.Equal(t, int64(1<<29), b.Used())
	h.Give(-(1 << 40)) // a negative give is nothing, not a take past the Budget
	assert.Equal(t, int64(1<<29), b.Used())
	other.Release()
	h.Release()
	assert.Zero(t, b.Used())
}
