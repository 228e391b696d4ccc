package memory

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHoldTakesGivesAndRefuses: a Hold takes n bytes at its cost; past
// the whole Budget it is refused as too large, past what other calls
// leave as busy, and either way gives back what it held at once; Release
// closes it; a nil Budget or Hold bounds nothing.
func TestHoldTakesGivesAndRefuses(t *testing.T) {
	b := NewBudget(100)
	b.Costs, b.Narrow = ", more for X", " (a selector)"
	a := b.Begin(2)
	require.NoError(t, a.Take(30))
	assert.Equal(t, int64(60), b.Used())

	c := b.Begin(2)
	require.NoError(t, c.Take(10))
	err := c.Take(20) // 20+60+40 > 100
	assert.ErrorIs(t, err, ErrBusy)
	assert.ErrorContains(t, err, "this server is holding other calls' large answers (0 of the 0 MiB it gives answers): retry in a moment")
	assert.Equal(t, int64(60), b.Used(), "the refused call gave back its 20 at once")
	assert.ErrorIs(t, c.Refusal(), ErrBusy)

	d := b.Begin(4)
	err = d.Take(30) // 120 > 100 alone
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.ErrorContains(t, err, "the answers to this call take more memory than this server gives all calls' answers (0 MiB; it holds about 4 bytes for each byte of answer, more for X): narrow the request (a selector), or give the server more memory")

	a.Give(10) // bytes of memory
	assert.Equal(t, int64(50), b.Used())
	a.Give(1000)
	assert.Zero(t, b.Used(), "no more than it holds")
	require.NoError(t, a.TakeAt(5, 3))
	assert.Equal(t, int64(15), b.Used())
	a.Release()
	assert.Zero(t, b.Used())
	assert.ErrorContains(t, a.Take(1), "the call has ended")
	assert.Zero(t, b.Used(), "nothing kept after Release")
	a.Release()

	var none *Hold
	assert.NoError(t, none.Take(1<<40))
	assert.Nil(t, none.Refusal())
	none.Release()
	assert.Nil(t, (*Budget)(nil).Begin(1))
}

// TestReaderHoldsWhatIsRead: reads through Reader are held; a read past
// the Budget fails with the refusal.
func TestReaderHoldsWhatIsRead(t *testing.T) {
	b := NewBudget(1 << 20)
	h := b.Begin(1)
	n, err := io.Copy(io.Discard, Reader(h, io.NopCloser(strings.NewReader(strings.Repeat("x", 1000)))))
	require.NoError(t, err)
	assert.Equal(t, int64(1000), n)
	assert.Equal(t, int64(1000), b.Used())
	_, err = io.Copy(io.Discard, Reader(h, io.NopCloser(strings.NewReader(strings.Repeat("x", 2<<20)))))
	assert.True(t, errors.Is(err, ErrTooLarge), "%v", err)
	assert.Zero(t, b.Used())
	assert.Equal(t, io.NopCloser(nil), Reader(nil, io.NopCloser(nil)), "no Hold, the reader as it is")
}
