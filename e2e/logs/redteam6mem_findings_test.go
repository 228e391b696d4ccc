package logs_test

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The red team's memory findings on mcp-logs' file tools (under
// GOMEMLIMIT=256MiB): eight calls at once on a file of one 128 MiB line
// peaked at 271-420 MiB, on a gzip file of one 256 MiB line at 379-415,
// and eight newest-first searches of a token-dense 64 MiB file that
// matched nothing at 842-900. A line is now kept up to 1 MiB (it was
// 16 MiB), a newest-first walk reads 2 MiB at once (it grew to 16 MiB)
// and holds what it reads against the memory for answers (it stops at an
// entry over 8 MiB and says so); the peaks stay under three quarters of
// the limit.

// TestRedteam6MemFileHugeLine: a log writer plants a file of one 128 MiB
// line with no newline; eight callers at once tail it or search it.
func TestRedteam6MemFileHugeLine(t *testing.T) {
	dir := filepath.Join(filesDir, "redteam6mem-huge")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	f, err := os.Create(filepath.Join(dir, "oneline.log"))
	require.NoError(t, err)
	chunk := []byte(strings.Repeat("x", 1<<20))
	for range 128 {
		_, err := f.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	const path, cut = "redteam6mem-huge/oneline.log", "oneline.log:1 xxxx"
	// Newest first, the walk back to the line's start would read it whole:
	// it stops there and says so, with what works instead (oldest first
	// reads its first MiB).
	const refused = "[not searched past an entry over 8 MiB: "
	runMemCases(t, []memCase{
		{Tool: "logs_tail", Args: map[string]any{"path": path, "lines": 1000}, Want: refused},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": "x"}, Want: refused},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": ".", "order": "oldest"}, Want: cut},
	})
}

// TestRedteam6MemFileNewestFirstNoMatch: newest-first searches over the
// 64 MiB token-dense log that keep nothing: a literal that is on many
// lines but only inside masked values (so every such record is masked and
// dropped), and a literal on no line.
func TestRedteam6MemFileNewestFirstNoMatch(t *testing.T) {
	path := writeDense(t)
	runMemCases(t, []memCase{
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": "Pw0000", "limit": 1000}, Want: "(no results)"},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": "nowhere", "limit": 1000}, Want: "(no results)"},
	})
}

// TestRedteam6MemGzipLine: a log writer plants a gzip file (about 325 KB
// on disk) of one 256 MiB line with no newline; eight callers at once
// list, tail and search it.
func TestRedteam6MemGzipLine(t *testing.T) {
	dir := filepath.Join(filesDir, "redteam6mem-gz")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	f, err := os.Create(filepath.Join(dir, "oneline.log.1.gz"))
	require.NoError(t, err)
	z, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	chunk := []byte(strings.Repeat("x", 1<<20))
	for range 256 {
		_, err := z.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, z.Close())
	require.NoError(t, f.Close())
	const path, cut = "redteam6mem-gz/oneline.log.1.gz", "oneline.log.1.gz:1 xxxx"
	runMemCases(t, []memCase{
		{Tool: "logs_files", Args: map[string]any{"path": "redteam6mem-gz/*"}, Want: "oneline.log.1.gz"},
		{Tool: "logs_tail", Args: map[string]any{"path": path, "lines": 1000}, Want: cut},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": "x"}, Want: cut},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": ".", "order": "oldest"}, Want: cut},
	})
}
