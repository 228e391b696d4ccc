package logs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeDense plants a 64 MiB log of token-dense lines (every word a
// masking candidate: a GitHub token, a password, an AWS key id) under the
// files root, removed when the test ends; it returns its path for the
// tools.
func writeDense(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(filesDir, "redteam6mem-dense")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	var dense strings.Builder
	now := time.Now().UTC()
	for i := 0; dense.Len() < 64<<20; i++ {
		fmt.Fprintf(&dense, "%s ERROR token=ghp_%036d password=Pw%08d AKIA%016d key=%x\n", rfc(now.Add(time.Duration(i)*time.Millisecond)), i, i, i, i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dense.log"), []byte(dense.String()), 0o644))
	return "redteam6mem-dense/dense.log"
}

// memCase is one call made once, then eight times at once, on a server of
// its own; want is in its answer.
type memCase struct {
	tool string
	args map[string]any
	want string
}

// runMemCases runs each case and holds the server's peak RSS under 3/4
// of the container's limit.
func runMemCases(t *testing.T, cases []memCase) {
	for _, c := range cases {
		t.Run(fmt.Sprint(c.tool, c.args), func(t *testing.T) {
			s, pid := memSession(t)
			r := call(t, s, c.tool, c.args)
			assert.Contains(t, r.Text, c.want)
			one := peakMiB(t, pid)
			texts, _ := concurrently(t, s, 8, c.tool, c.args)
			peak := peakMiB(t, pid)
			t.Logf("peak %d MiB after one call, %d MiB after eight at once (an answer: %.120q)", one, peak, texts[0])
			assert.Less(t, peak, int64(memLimitMiB*3/4), "peak RSS in MiB under 3/4 of the container's %d", memLimitMiB)
		})
	}
}

// TestRedteam6MemFileTokenDense: eight callers at once search a 64 MiB
// token-dense log (every line, newest and oldest first; a literal on every
// line; a literal inside masked values read oldest first) and tail it.
// Measured: 23-26 MiB for one call, 42-67 MiB for eight.
func TestRedteam6MemFileTokenDense(t *testing.T) {
	path := writeDense(t)
	const masked = "token=[MASKED:github-token:"
	runMemCases(t, []memCase{
		{"logs_search", map[string]any{"path": path, "pattern": ".", "limit": 1000}, masked},
		{"logs_search", map[string]any{"path": path, "pattern": ".", "limit": 1000, "order": "oldest"}, masked},
		{"logs_search", map[string]any{"path": path, "pattern": "ERROR", "limit": 1000}, masked},
		{"logs_search", map[string]any{"path": path, "pattern": "key", "limit": 1000, "order": "oldest"}, masked},
		{"logs_search", map[string]any{"path": path, "pattern": "Pw0000", "limit": 1000, "order": "oldest"}, "(no results)"},
		{"logs_tail", map[string]any{"path": path, "lines": 1000}, masked},
	})
}
