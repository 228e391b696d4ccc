package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// TestDiffOfAHugeRewriteIsBounded: a commit that rewrites every line of a
// large text file (a few hundred bytes once packed) made gitea_diff run a
// line diff whose cost grows with the square of the file's lines, for
// up to go-git's hour, past the call's deadline and holding a core; and
// every blob was read whole, however large. The diff now stops at the
// call's deadline, and a file over the patch size is listed without its
// patch.
func TestDiffOfAHugeRewriteIsBounded(t *testing.T) {
	root := t.TempDir()
	var a, b, huge strings.Builder
	for i := 0; i < 60000; i++ {
		a.WriteString("a\n")
		b.WriteString("b\n")
	}
	for huge.Len() < 3<<20 {
		huge.WriteString("plain line of a generated file\n")
	}
	shas := bareRepo(t, root, "ops/infra", []map[string]string{
		{"README.md": "# infra\n", "gen.txt": a.String(), "big.txt": "small\n"},
		{"README.md": "# infra\nsecond\n", "gen.txt": b.String(), "big.txt": huge.String()},
	})
	g := newFakeGitea(t)
	g.git = gitBackend(t, root)
	s := testServer(t, g)
	var h tool.Handler
	for _, tl := range s.Tools() {
		if tl.Name == "gitea_diff" {
			h = tl.Handler
		}
	}
	require.NotNil(t, h)
	// Warm the mirror so the deadline below is the diff's alone.
	_, err := run(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "commit": shas[0], "detail": "files"}, nil)
	require.NoError(t, err)

	raw, _ := json.Marshal(map[string]any{"repo": "ops/infra", "commit": shas[1]})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	res, err := h(ctx, &tool.Call{Tool: "gitea_diff", Args: raw})
	took := time.Since(start)
	assert.Less(t, took, 6*time.Second, "gitea_diff ran past its deadline")
	if err != nil {
		return // stopped by the deadline: fine, as long as it stopped
	}
	out := res.Data.(DiffOutput)
	byPath := map[string]DiffFile{}
	for _, f := range out.Items {
		byPath[f.Path] = f
	}
	assert.Contains(t, byPath["README.md"].Patch, "+second", "a small file keeps its patch")
	assert.Empty(t, byPath["big.txt"].Patch, "a file over the patch size has no patch")
	assert.Equal(t, "too large", byPath["big.txt"].Status)
}

// manyPathsRepo makes root/full.git with one commit whose tree names the
// same blob (body) at n paths: git stores it once, so the pack stays a
// few kilobytes however large n times the blob is.
func manyPathsRepo(t *testing.T, root, full string, n int, body string, name func(int) string) {
	t.Helper()
	work := t.TempDir()
	git := func(stdin string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "HOME="+work, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git("", "init", "-q", "-b", "main")
	blob := git(body, "hash-object", "-w", "--stdin")
	var idx strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&idx, "100644 %s\t%s\n", blob, name(i))
	}
	git(idx.String(), "update-index", "--add", "--index-info")
	git("", "commit", "-q", "-m", "many paths, one blob")
	dst := filepath.Join(root, full+".git")
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	git("", "clone", "-q", "--bare", work, dst)
}

// TestIaCReadsABoundedTotal: gitea_iac kept every candidate file's content
// in memory, each under 512 KiB but with no total, and analysed them all
// whatever the call's deadline. One blob named at 2,000 paths (a pack of
// a few kilobytes) made it hold a gigabyte. It now reads at most a total
// budget, says how many files it left out, and stops at the deadline.
func TestIaCReadsABoundedTotal(t *testing.T) {
	root := t.TempDir()
	var body strings.Builder
	body.WriteString("resource \"null_resource\" \"x\" {}\n")
	for body.Len() < maxIaCFile-64 {
		body.WriteString("# padding of a generated file, line after line\n")
	}
	manyPathsRepo(t, root, "ops/infra", 2000, body.String(), func(i int) string { return fmt.Sprintf("m/f%04d.tf", i) })
	g := newFakeGitea(t)
	g.git = gitBackend(t, root)
	s := testServer(t, g)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := run(t, s, "gitea_iac", map[string]any{"repo": "ops/infra"}, nil)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	out := res.Data.(IaCOutput)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("files read %d, skipped %d, allocated %d MiB", out.Files, out.Skipped, allocated>>20)
	assert.Less(t, allocated, uint64(512<<20), "gitea_iac allocated far more than its budget (12.7 GiB before the bound)")
	assert.Positive(t, out.Skipped, "the files past the budget are counted")
	assert.Equal(t, 2000, out.Files+out.Skipped)
}

// alternatingRepo makes root/full.git whose main rewrites path commits
// times, alternating between two contents (git fast-import: two blobs,
// so the pack stays tiny).
func alternatingRepo(t *testing.T, root, full, path, a, b string, commits int) {
	t.Helper()
	dst := filepath.Join(root, full+".git")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	var st strings.Builder
	fmt.Fprintf(&st, "blob\nmark :1\ndata %d\n%s\nblob\nmark :2\ndata %d\n%s\n", len(a), a, len(b), b)
	for i := 0; i < commits; i++ {
		fmt.Fprintf(&st, "commit refs/heads/main\nmark :%d\ncommitter t <t@t> %d +0000\ndata 6\nstep %d\n", 100+i, 1700000000+i, i%10)
		if i > 0 {
			fmt.Fprintf(&st, "from :%d\n", 99+i)
		}
		fmt.Fprintf(&st, "M 100644 :%d %s\n\n", 1+i%2, path)
	}
	for _, args := range [][]string{{"init", "-q", "--bare", "-b", "main", dst}, {"--git-dir", dst, "fast-import", "--quiet"}} {
		cmd := exec.Command("git", args...)
		cmd.Stdin = strings.NewReader(st.String())
		cmd.Env = append(os.Environ(), "HOME="+root, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
}

// TestBlameIsBounded: gitea_blame ran go-git's blame, which diffs every
// version of the file with an hour's timeout and no context: a file whose
// lines are all rewritten, commit after commit (two blobs, a tiny pack),
// held a core far past the call's deadline. A file with more lines than
// blame serves is refused at once, and any blame returns at the call's
// deadline, with at most one left running in the background.
func TestBlameIsBounded(t *testing.T) {
	serve := func(a, b string, commits int) *Server {
		root := t.TempDir()
		alternatingRepo(t, root, "ops/infra", "gen.txt", a, b, commits)
		g := newFakeGitea(t)
		g.git = gitBackend(t, root)
		s := testServer(t, g)
		// Fetch the mirror first, so the deadlines below are blame's alone.
		_, err := run(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "base": "main", "head": "main", "detail": "files"}, nil)
		require.NoError(t, err)
		return s
	}
	blame := func(s *Server, timeout time.Duration) (time.Duration, error) {
		raw, _ := json.Marshal(map[string]any{"repo": "ops/infra", "path": "gen.txt"})
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var h tool.Handler
		for _, tl := range s.Tools() {
			if tl.Name == "gitea_blame" {
				h = tl.Handler
			}
		}
		start := time.Now()
		_, err := h(ctx, &tool.Call{Tool: "gitea_blame", Args: raw})
		return time.Since(start), err
	}

	big := serve(strings.Repeat("a\n", 60000), strings.Repeat("b\n", 60000), 2)
	took, err := blame(big, 3*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lines")
	assert.Less(t, took, time.Second, "a file over the line limit is refused before blame runs")

	var a, b strings.Builder
	for i := 0; i < maxBlameLines; i++ {
		// Even lines survive every version (so blame walks the whole
		// history); odd lines change in each (so each diff is costly).
		if i%2 == 0 {
			fmt.Fprintf(&a, "keep %d\n", i)
			fmt.Fprintf(&b, "keep %d\n", i)
		} else {
			fmt.Fprintf(&a, "a%d\n", i)
			fmt.Fprintf(&b, "b%d\n", i)
		}
	}
	// 0.39 s a version on the 2-core CI machine: 400 versions blamed for
	// 2m34s with no deadline; 20 take ~8 s, 6 of them in the background.
	long := serve(a.String(), b.String(), 20)
	took, err = blame(long, 2*time.Second)
	t.Logf("blame of 20 versions of %d lines: %v, %v", maxBlameLines, took, err)
	assert.Less(t, took, 4*time.Second, "blame returned at the call's deadline")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deadline")
	// The one left running holds the only slot: another blame waits for
	// it until its own deadline, then is refused as busy (the server's
	// state, red team 7), rather than starting a second.
	took, err = blame(long, 2*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another blame is still running on this server (a long history is finished in the background): retry in a moment")
	assert.ErrorIs(t, err, memory.ErrBusy)
	assert.Less(t, took, 3*time.Second, "no longer than the call's deadline")
}

// TestBlameBackToBack: a caller's next blame is never refused by its own
// last one (the slot was freed only after the result was sent, so a
// blame right after another was refused now and then: seen in e2e).
func TestBlameBackToBack(t *testing.T) {
	root := t.TempDir()
	alternatingRepo(t, root, "ops/infra", "gen.txt", "a\nb\n", "a\nc\n", 2)
	g := newFakeGitea(t)
	g.git = gitBackend(t, root)
	s := testServer(t, g)
	for i := 0; i < 200; i++ {
		_, err := run(t, s, "gitea_blame", map[string]any{"repo": "ops/infra", "path": "gen.txt"}, nil)
		require.NoError(t, err, "blame %d", i)
	}
}
