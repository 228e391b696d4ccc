package logs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
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

// memCase is one call of a memory test (harness.MemCase).
type memCase = harness.MemCase

// runMemCases runs the cases, each on a server of its own, and holds its
// peak RSS under 3/4 of the container's limit.
func runMemCases(t *testing.T, cases []memCase) {
	harness.RunMemCases(t, &seen, int64(memLimitMiB*3/4), func(t *testing.T) (*mcp.ClientSession, string) { return memSession(t) }, cases)
}

// TestRedteam6MemFileTokenDense: eight callers at once search a 64 MiB
// token-dense log (every line, newest and oldest first; a literal on every
// line; a literal inside masked values read oldest first) and tail it.
// Measured: 23-26 MiB for one call, 42-67 MiB for eight.
func TestRedteam6MemFileTokenDense(t *testing.T) {
	path := writeDense(t)
	const masked = "token=[MASKED:github-token:"
	runMemCases(t, []memCase{
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": ".", "limit": 1000}, Want: masked},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": ".", "limit": 1000, "order": "oldest"}, Want: masked},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": "ERROR", "limit": 1000}, Want: masked},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": "key", "limit": 1000, "order": "oldest"}, Want: masked},
		{Tool: "logs_search", Args: map[string]any{"path": path, "pattern": "Pw0000", "limit": 1000, "order": "oldest"}, Want: "(no results)"},
		{Tool: "logs_tail", Args: map[string]any{"path": path, "lines": 1000}, Want: masked},
	})
}
