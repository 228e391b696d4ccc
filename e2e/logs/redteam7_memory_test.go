package logs_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedteam7MemoryNoLeakAfterHostileCalls: under the shipped 256 MiB,
// after eight refused newest-first searches of a one-line 16 MiB file at
// once and eight more the client gave up on mid-walk, eight ordinary
// calls of each file and Loki tool at once are all answered, each the
// same answer as one call alone before: nothing the hostile calls held
// was kept (a leak would refuse everyone afterwards), and the ordinary
// answers are never refused nor cut at the shipped limit.
func TestRedteam7MemoryNoLeakAfterHostileCalls(t *testing.T) {
	dir := filepath.Join(filesDir, "redteam7mem")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "oneline.log"), []byte(strings.Repeat("y", 16<<20)), 0o644))
	s, _ := memSession(t)

	ordinary := []struct {
		tool string
		args map[string]any
	}{
		{"logs_search", map[string]any{"path": "app/*", "pattern": "unhandled"}},
		{"logs_tail", map[string]any{"path": "nginx/access.log", "lines": 3}},
		{"logs_query", window(map[string]any{"query": `{namespace="web", app="api"} |= "status=500"`, "limit": 100})},
	}
	before := make([]string, len(ordinary))
	for i, o := range ordinary {
		before[i] = mustCall(t, s, o.tool, o.args).Text
		require.NotContains(t, before[i], "(no results)", o.tool)
	}

	hostile := map[string]any{"path": "redteam7mem/oneline.log", "pattern": "y", "limit": 1000}
	texts, errs := concurrently(t, s, 8, "logs_search", hostile)
	for i := range texts {
		// The walk stops at the long entry and says so (with what reads
		// it); or, while the others hold their chunks, busy.
		if errs[i] {
			assert.Contains(t, texts[i], "retry in a moment")
		} else {
			assert.Contains(t, texts[i], "[not searched past an entry over 8 MiB: ")
			assert.Contains(t, texts[i], "search it with order oldest]")
		}
		assert.NotContains(t, texts[i], "upstream")
		assert.NotContains(t, texts[i], "yyyy", "nothing of the long entry is shown newest first")
	}
	// Eight more, each given up on by its client mid-walk.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			_, _ = s.CallTool(ctx, &mcp.CallToolParams{Name: "logs_search", Arguments: map[string]any{"path": "redteam7mem/oneline.log", "pattern": "y", "order": "oldest"}})
		})
	}
	wg.Wait()

	for i, o := range ordinary {
		texts, errs := concurrently(t, s, 8, o.tool, o.args)
		for j := range texts {
			require.False(t, errs[j], "%s: %s", o.tool, texts[j])
			assert.Equal(t, redteam7Cursor.ReplaceAllString(before[i], "cursor"), redteam7Cursor.ReplaceAllString(texts[j], "cursor"), "%s answered whole, as before", o.tool)
		}
	}
}

// redteam7Cursor is a page's cursor, sealed afresh for each answer.
var redteam7Cursor = regexp.MustCompile(`cursor "[^"]*"`)

// TestRedteam7LongLineDeniesEverySearch: a log writer appends one 16 MiB
// line (no newline) to a file of its own under the roots; an ordinary
// newest-first search without a path (the default: every file, newest
// first) still answers every caller as before, and says that the walk of
// that one file stopped at its long entry (it was refused as the caller's
// fault, "invalid arguments ... narrow the request", for every caller
// until the file was rotated away).
func TestRedteam7LongLineDeniesEverySearch(t *testing.T) {
	dir := filepath.Join(filesDir, "redteam7long")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	s, _ := memSession(t)
	before := mustCall(t, s, "logs_search", map[string]any{"pattern": "unhandled"}).Text
	require.NoError(t, os.WriteFile(filepath.Join(dir, "oneline.log"), []byte(strings.Repeat("y", 16<<20)), 0o644))
	r := call(t, s, "logs_search", map[string]any{"pattern": "unhandled"})
	require.False(t, r.IsError, "one hostile file denies every caller's search: %s", r.Text)
	assert.Contains(t, r.Text, strings.TrimSpace(before), "the same lines")
	assert.Contains(t, r.Text, "[not searched past an entry over 8 MiB: ")
	assert.Contains(t, r.Text, "redteam7long/oneline.log; search it with order oldest]")
}
