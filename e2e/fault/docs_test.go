package fault_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestDocsIndexSurvivesSIGKILL (issue 17, item 5): mcp-docs killed with
// SIGKILL in the middle of indexing loses nothing it had committed to
// the SQLite store, and the next run continues from where it stopped:
// the files committed before the kill are found unchanged (not parsed
// again), the rest are indexed, and a search finds the first and the
// last file once each.
func TestDocsIndexSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	bin, err := harness.BuildBinary(dir, "mcp-docs", "mcp-docs")
	require.NoError(t, err)
	docs := filepath.Join(dir, "docs")
	require.NoError(t, os.MkdirAll(docs, 0o755))
	const n = 1500
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("# Runbook %04d\n\nRestart procedure for service word%04dx. Check the dashboards first.\n\n## Rollback\n\nRoll back service word%04dx with the previous image.\n", i, i, i)
		require.NoError(t, os.WriteFile(filepath.Join(docs, fmt.Sprintf("rb%04d.md", i)), []byte(body), 0o644))
	}
	cfg := filepath.Join(dir, "sources.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("sources:\n  - name: local\n    path: "+docs+"\n"), 0o644))
	db := filepath.Join(dir, "docs.db")
	args := []string{"index", "--config", cfg, "--db", db, "--cache-dir", dir, "--embed-model", "", "--json"}

	// First run: killed with SIGKILL once commits have reached the WAL.
	first, err := harness.Start(dir, "index-1", bin, args...)
	require.NoError(t, err)
	killed := false
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && !first.Exited() {
		if st, err := os.Stat(db + "-wal"); err == nil && st.Size() > 1<<20 {
			require.NoError(t, syscall.Kill(first.Cmd.Process.Pid, syscall.SIGKILL))
			killed = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.True(t, killed, "the first run ended before it could be killed mid-way; log: %s", first.Tail(2000))
	require.Eventually(t, first.Exited, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, -1, first.Cmd.ProcessState.ExitCode(), "killed by a signal")

	// Second run: continues where the first stopped.
	var out, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	var reps []struct {
		Files, Changed, Unchanged, Deleted, Chunks int
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &reps), out.String())
	require.Len(t, reps, 1)
	r := reps[0]
	t.Logf("after SIGKILL: %d files kept (committed before the kill), %d indexed now", r.Unchanged, r.Changed)
	assert.Equal(t, n, r.Files)
	assert.Greater(t, r.Unchanged, 0, "nothing committed before the kill was kept")
	assert.Greater(t, r.Changed, 0, "the kill came after the last file: nothing was left to continue")
	assert.Equal(t, n, r.Unchanged+r.Changed, "every file is either kept or indexed now")
	assert.Equal(t, 0, r.Deleted)

	// The store answers for the first file (committed before the kill)
	// and the last (after), each exactly once: no half-written file.
	s := harness.StdioSession(t, &seen, bin, "serve", "--config", cfg, "--db", db, "--cache-dir", dir, "--embed-model", "", "--reindex-every", "0")
	for _, word := range []string{"word0000x", fmt.Sprintf("word%04dx", n-1)} {
		res := harness.MustCall(t, &seen, s, "docs_search", map[string]any{"query": word, "mode": "keyword", "k": 5})
		paths := map[string]int{}
		for _, it := range res.Items() {
			p, _ := it["path"].(string)
			paths[p]++
		}
		assert.Len(t, paths, 1, "%s: %v", word, paths)
	}
}
