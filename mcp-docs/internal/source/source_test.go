package source

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

func paths(snap *Snapshot) []string {
	var out []string
	for _, f := range snap.Files {
		out = append(out, f.Path)
	}
	sort.Strings(out)
	return out
}

func skips(snap *Snapshot) map[string]string {
	out := map[string]string{}
	for _, s := range snap.Skipped {
		out[s.Path] = s.Reason
	}
	return out
}

// readSoon reads a source and fails the test if the read stalls.
func readSoon(t *testing.T, r *Reader, s Source) *Snapshot {
	t.Helper()
	type res struct {
		snap *Snapshot
		err  error
	}
	done := make(chan res, 1)
	go func() {
		snap, err := r.Read(context.Background(), s)
		done <- res{snap, err}
	}()
	select {
	case x := <-done:
		require.NoError(t, x.err)
		return x.snap
	case <-time.After(10 * time.Second):
		t.Fatal("reading the folder stalled")
		return nil
	}
}

// TestFolderReadsOnlyItsRegularFiles: a FIFO, a symlink out of the
// folder, a symlink inside it and a hard link to a file outside are not
// read (and a FIFO does not stall the read); each is reported.
func TestFolderReadsOnlyItsRegularFiles(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "docs")
	outside := filepath.Join(base, "secret.md")
	writeFile(t, outside, "outside the folder: do not index")
	writeFile(t, filepath.Join(dir, "runbooks/ok.md"), "# OK\n\nread me\n")
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "runbooks/fifo.md"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "runbooks/out.md")))
	require.NoError(t, os.Symlink("ok.md", filepath.Join(dir, "runbooks/in.md")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "linked"), 0o755))
	require.NoError(t, os.Link(outside, filepath.Join(dir, "linked/hard.md")))
	require.NoError(t, os.Symlink(base, filepath.Join(dir, "up")))

	snap := readSoon(t, &Reader{}, Source{Name: "docs", Path: dir})
	assert.Equal(t, []string{"runbooks/ok.md"}, paths(snap))
	sk := skips(snap)
	assert.Contains(t, sk["runbooks/fifo.md"], "not a regular file")
	assert.Contains(t, sk["runbooks/out.md"], "symlink")
	assert.Contains(t, sk["runbooks/in.md"], "symlink")
	assert.Contains(t, sk["linked/hard.md"], "hard links")
	assert.Contains(t, sk["up"], "symlink")
	for _, f := range snap.Files {
		assert.NotContains(t, string(f.Data), "outside the folder")
	}
}

// TestFolderSkipsDevices: a character device like /dev/zero (which
// reads for ever) in a folder is not opened, and is reported.
func TestFolderSkipsDevices(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok.md"), "# OK\n")
	if err := syscall.Mknod(filepath.Join(dir, "zero.md"), syscall.S_IFCHR|0o644, 1<<8|5); err != nil {
		t.Skipf("making a device needs CAP_MKNOD: %v", err)
	}
	snap := readSoon(t, &Reader{}, Source{Name: "docs", Path: dir})
	assert.Equal(t, []string{"ok.md"}, paths(snap))
	assert.Contains(t, skips(snap)["zero.md"], "not a regular file")
}

// TestFolderSwapsAreRefused: a file swapped between the walk's lstat and
// the open, for a FIFO, for a symlink out of the folder, or for another
// file, is not read; a file that grew past max_file_bytes after the walk
// saw it is not read whole.
func TestFolderSwapsAreRefused(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "docs")
	outside := filepath.Join(base, "secret.md")
	writeFile(t, outside, "outside the folder: do not index")
	for _, n := range []string{"fifo.md", "link.md", "other.md", "grows.md", "plain.md"} {
		writeFile(t, filepath.Join(dir, n), "small")
	}
	beforeOpen = func(rel string) {
		p := filepath.Join(dir, rel)
		switch rel {
		case "fifo.md":
			os.Remove(p)
			syscall.Mkfifo(p, 0o644)
		case "link.md":
			os.Remove(p)
			os.Symlink(outside, p)
		case "other.md":
			os.WriteFile(p+".new", []byte("a different file"), 0o644)
			os.Rename(p+".new", p)
		case "grows.md":
			os.WriteFile(p, []byte(strings.Repeat("x", 5000)), 0o644)
		}
	}
	t.Cleanup(func() { beforeOpen = nil })
	snap := readSoon(t, &Reader{}, Source{Name: "docs", Path: dir, MaxFileBytes: 1000})
	assert.Equal(t, []string{"plain.md"}, paths(snap))
	sk := skips(snap)
	assert.Contains(t, sk["fifo.md"], "changed while being read")
	assert.NotEmpty(t, sk["link.md"])
	assert.Contains(t, sk["other.md"], "changed while being read")
	assert.Contains(t, sk["grows.md"], "larger than 1000 bytes")
}

// TestSourceBudget: past the source's size budget, files are skipped and
// say why; what fits is read.
func TestSourceBudget(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.md", "b.md", "c.md"} {
		writeFile(t, filepath.Join(dir, n), strings.Repeat("y", 40))
	}
	snap := readSoon(t, &Reader{MaxSourceBytes: 100}, Source{Name: "docs", Path: dir})
	assert.Equal(t, []string{"a.md", "b.md"}, paths(snap))
	assert.Contains(t, skips(snap)["c.md"], "size budget")
}

// gitRepo makes a repository at dir with files committed on main.
func gitRepo(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	repo, err := git.PlainInit(dir, false)
	require.NoError(t, err)
	wt, err := repo.Worktree()
	require.NoError(t, err)
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
		_, err := wt.Add(name)
		require.NoError(t, err)
	}
	_, err = wt.Commit("docs", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@e2e.test", When: time.Now()}})
	require.NoError(t, err)
}

// TestMirrors: team/private and team_private get two mirrors; a source
// re-pointed at another repository serves the new one; mirrors no source
// uses are evicted past the budget, mirrors in use are not.
func TestMirrors(t *testing.T) {
	base := t.TempDir()
	repoA, repoB := filepath.Join(base, "a"), filepath.Join(base, "b")
	gitRepo(t, repoA, map[string]string{"a.md": "alpha"})
	gitRepo(t, repoB, map[string]string{"b.md": "bravo"})
	cache := filepath.Join(base, "cache")
	r := &Reader{CacheDir: cache}
	slash := Source{Name: "team/private", Git: "file://" + repoA}
	under := Source{Name: "team_private", Git: "file://" + repoB}
	assert.Equal(t, []string{"a.md"}, paths(readSoon(t, r, slash)))
	assert.Equal(t, []string{"b.md"}, paths(readSoon(t, r, under)))
	assert.NotEqual(t, MirrorKey(slash), MirrorKey(under))
	mirrors, err := os.ReadDir(filepath.Join(cache, "git"))
	require.NoError(t, err)
	assert.Len(t, mirrors, 2, "one mirror per source")

	repointed := Source{Name: "team/private", Git: "file://" + repoB}
	assert.Equal(t, []string{"b.md"}, paths(readSoon(t, r, repointed)), "the re-pointed source serves the new repository")
	mirrors, _ = os.ReadDir(filepath.Join(cache, "git"))
	assert.Len(t, mirrors, 3, "a new mirror; the old one is unused")

	r.Keep, r.MirrorBudget = []Source{repointed, under}, 1
	readSoon(t, r, under)
	mirrors, _ = os.ReadDir(filepath.Join(cache, "git"))
	var names []string
	for _, m := range mirrors {
		names = append(names, m.Name())
	}
	assert.ElementsMatch(t, []string{MirrorKey(repointed) + ".git", MirrorKey(under) + ".git"}, names, "the unused mirror is evicted, those in use stay")
}

// TestMirrorURLMustMatch: a mirror folder whose remote is another URL (the
// same repository with other credentials, or a folder put there) is
// cloned afresh, so a token is only ever sent to the URL of its source.
func TestMirrorURLMustMatch(t *testing.T) {
	base := t.TempDir()
	repoA, repoB := filepath.Join(base, "a"), filepath.Join(base, "b")
	gitRepo(t, repoA, map[string]string{"a.md": "alpha"})
	gitRepo(t, repoB, map[string]string{"b.md": "bravo"})
	r := &Reader{CacheDir: filepath.Join(base, "cache")}
	src := Source{Name: "docs", Git: "file://" + repoA}
	// A mirror of B planted where docs' mirror lives.
	_, err := git.PlainClone(r.mirrorDir(src), true, &git.CloneOptions{URL: "file://" + repoB, Mirror: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"a.md"}, paths(readSoon(t, r, src)))
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://bot:tok@Gitea.Example:3000/devops/docs.git/": "http://gitea.example:3000/devops/docs",
		"HTTP://gitea.example:3000/devops/docs":              "http://gitea.example:3000/devops/docs",
		"http://gitea.example:3000/devops/Docs.git":          "http://gitea.example:3000/devops/Docs",
	} {
		assert.Equal(t, want, NormalizeURL(in), in)
	}
}
