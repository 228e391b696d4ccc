package logfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/memory"
)

// TestRedteam7NewestFirstGivesBackAndNeverCutsShort: a newest-first
// search of an 8 MiB file holds one chunk at a time and has given it all
// back when it returns (before its call ends); refused for a Budget too
// small for one chunk, or busy with another call's answers, it fails with
// the refusal and never returns the matches it had found so far as if
// they were all; and the budget is whole again after.
func TestRedteam7NewestFirstGivesBackAndNeverCutsShort(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := 0; sb.Len() < 8<<20; i++ {
		level := "INFO"
		if i%50 == 0 {
			level = "ERROR"
		}
		fmt.Fprintf(&sb, "2026-03-01T00:%02d:%02dZ %s request %d served token=%040d\n", i/60%60, i%60, level, i, i)
	}
	p := filepath.Join(dir, "big.log")
	require.NoError(t, os.WriteFile(p, []byte(sb.String()), 0o644))
	f, err := Stat(p)
	require.NoError(t, err)
	search := func(b *memory.Budget, pattern string) ([]Match, error) {
		before := b.Used() // another call's
		h := b.Begin(1)
		defer h.Release()
		ms, _, _, err := Search(memory.WithHold(context.Background(), h), []File{f}, Query{Pattern: mustCompile(pattern), Limit: 100000}, nil)
		assert.Equal(t, before, b.Used(), "every chunk given back when the walk returns")
		return ms, err
	}

	roomy := memory.NewBudget(128 << 20)
	all, err := search(roomy, "ERROR")
	require.NoError(t, err)
	require.Greater(t, len(all), 1000)
	none, err := search(roomy, "matches-nothing-at-all")
	require.NoError(t, err)
	assert.Empty(t, none)

	small := memory.NewBudget(8 << 20) // less than one 2 MiB chunk at chunkCost
	ms, err := search(small, "ERROR")
	require.ErrorIs(t, err, memory.ErrTooLarge)
	assert.Empty(t, ms, "no matches returned beside a refusal")

	busy := memory.NewBudget(64 << 20)
	other := busy.Begin(1)
	require.NoError(t, other.Take(50<<20))
	ms, err = search(busy, "ERROR")
	require.ErrorIs(t, err, memory.ErrBusy)
	assert.Empty(t, ms)
	other.Release()
	again, err := search(busy, "ERROR")
	require.NoError(t, err)
	assert.Equal(t, len(all), len(again), "once the other call is done, the same search is answered whole")
	assert.Zero(t, busy.Used())
}
