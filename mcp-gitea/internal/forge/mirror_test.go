package forge

import (
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitServer serves bare repositories under root over git's smart HTTP
// (git http-backend), as Gitea serves /owner/name.git.
func gitServer(t *testing.T, root string) *httptest.Server {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git is not installed: %v", err)
	}
	h := &cgi.Handler{Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// bareRepo makes root/owner/name.git with one commit holding files.
func bareRepo(t *testing.T, root, full string, files map[string]string) {
	t.Helper()
	work := t.TempDir()
	run := func(dir string, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	for name, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(work, name), []byte(body), 0o644))
	}
	run(work, "init", "-q", "-b", "main")
	run(work, "add", "-A")
	run(work, "commit", "-q", "-m", "init")
	dst := filepath.Join(root, full+".git")
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	os.RemoveAll(dst)
	run(work, "clone", "-q", "--bare", work, dst)
}

func readme(t *testing.T, m *Mirrors, id Identity) string {
	t.Helper()
	r, h, _, err := m.Open(t.Context(), id, "")
	require.NoError(t, err)
	defer h.Release()
	c, err := Commit(r, "main")
	require.NoError(t, err)
	f, err := c.File("README.md")
	require.NoError(t, err)
	s, err := f.Contents()
	require.NoError(t, err)
	return s
}

func mirrorDirs(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestDirNameIsIdentity(t *testing.T) {
	m, err := NewMirrors("http://127.0.0.1:3000/", MirrorOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	a := m.DirName(Identity{FullName: "a/b__c", ID: 1})
	b := m.DirName(Identity{FullName: "a__b/c", ID: 1})
	assert.NotEqual(t, a, b, "names that differ only by separators do not share a directory")
	assert.Equal(t, m.DirName(Identity{FullName: "ops/infra", ID: 7}), m.DirName(Identity{FullName: "OPS/Infra", ID: 7}), "letter case is one repository")
	assert.NotEqual(t, m.DirName(Identity{FullName: "ops/infra", ID: 7}), m.DirName(Identity{FullName: "ops/infra", ID: 8}), "made again under the same name: another repository")
	other, err := NewMirrors("http://127.0.0.1:3001", MirrorOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	assert.NotEqual(t, m.DirName(Identity{FullName: "ops/infra", ID: 7}), other.DirName(Identity{FullName: "ops/infra", ID: 7}), "another Gitea: another mirror")
	same, err := NewMirrors("HTTP://127.0.0.1:3000", MirrorOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, m.DirName(Identity{FullName: "ops/infra", ID: 7}), same.DirName(Identity{FullName: "ops/infra", ID: 7}), "one URL, spelled twice")
	assert.Regexp(t, `^[0-9a-f]{32}\.git$`, a)
	for _, bad := range []string{"../x/y", "ops/infra/../../z", "ops", "ops/x.git"} {
		_, _, _, err := m.Open(t.Context(), Identity{FullName: bad, ID: 1}, "")
		assert.Error(t, err, bad)
	}
}

// TestMirrorFollowsURL: a mirror made from one Gitea is not served when
// the server points at another (the bug: it stayed bound to its first
// URL, and fetched from it, forever).
func TestMirrorFollowsURL(t *testing.T) {
	rootA, rootB, dir := t.TempDir(), t.TempDir(), t.TempDir()
	bareRepo(t, rootA, "ops/infra", map[string]string{"README.md": "from A\n"})
	bareRepo(t, rootB, "ops/infra", map[string]string{"README.md": "from B\n"})
	a, b := gitServer(t, rootA), gitServer(t, rootB)
	ma, err := NewMirrors(a.URL, MirrorOptions{Dir: dir})
	require.NoError(t, err)
	id := Identity{FullName: "ops/infra", ID: 1}
	assert.Equal(t, "from A\n", readme(t, ma, id))
	mb, err := NewMirrors(b.URL, MirrorOptions{Dir: dir}) // a restart with another --gitea-url
	require.NoError(t, err)
	assert.Equal(t, "from B\n", readme(t, mb, id))
	assert.Len(t, mirrorDirs(t, dir), 2)

	// A directory that claims the identity but was cloned from elsewhere
	// is made again.
	require.NoError(t, os.RemoveAll(filepath.Join(dir, mb.DirName(id))))
	require.NoError(t, os.Rename(filepath.Join(dir, ma.DirName(id)), filepath.Join(dir, mb.DirName(id))))
	mb2, err := NewMirrors(b.URL, MirrorOptions{Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, "from B\n", readme(t, mb2, id))
}

func TestMirrorBudgetEvictsLRU(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		bareRepo(t, root, "ops/"+n, map[string]string{"README.md": n + "\n"})
	}
	srv := gitServer(t, root)
	probe, err := NewMirrors(srv.URL, MirrorOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	readme(t, probe, Identity{FullName: "ops/a", ID: 1})
	one := dirSize(filepath.Join(probe.dir, probe.DirName(Identity{FullName: "ops/a", ID: 1})))
	require.Positive(t, one)

	// Room for two mirrors, not three.
	m, err := NewMirrors(srv.URL, MirrorOptions{Dir: dir, MaxBytes: one*2 + one/2})
	require.NoError(t, err)
	ida, idb, idc := Identity{FullName: "ops/a", ID: 1}, Identity{FullName: "ops/b", ID: 2}, Identity{FullName: "ops/c", ID: 3}
	readme(t, m, ida)
	time.Sleep(10 * time.Millisecond)
	readme(t, m, idb)
	time.Sleep(10 * time.Millisecond)
	readme(t, m, ida) // a is now more recent than b
	time.Sleep(10 * time.Millisecond)
	readme(t, m, idc)
	got := mirrorDirs(t, dir)
	assert.ElementsMatch(t, []string{m.DirName(ida), m.DirName(idc)}, got, "b, the least recently used, went")

	// A mirror in use is never evicted, even past the budget.
	r, ha, _, err := m.Open(t.Context(), ida, "")
	require.NoError(t, err)
	m.mu.Lock()
	m.maxBytes = 1
	m.mu.Unlock()
	_, hb, st, err := m.Open(t.Context(), idb, "")
	require.NoError(t, err)
	hb.Release()
	assert.Equal(t, 1, st.Evicted, "c went; a is in use, b is the one opened")
	assert.ElementsMatch(t, []string{m.DirName(ida), m.DirName(idb)}, mirrorDirs(t, dir))
	ha.Release()
	_, err = r.Head()
	assert.NoError(t, err, "the mirror in use still reads")

	// A restart sees what is on disk and keeps to its budget.
	tiny, err := NewMirrors(srv.URL, MirrorOptions{Dir: dir, MaxBytes: 1})
	require.NoError(t, err)
	_, hc, st, err := tiny.Open(t.Context(), idc, "")
	require.NoError(t, err)
	hc.Release()
	assert.Equal(t, 2, st.Evicted)
	assert.Equal(t, []string{tiny.DirName(idc)}, mirrorDirs(t, dir))
}

// TestMirrorsConcurrent: calls opening the same and other mirrors at once,
// under a budget that keeps evicting, each get a working repository.
func TestMirrorsConcurrent(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		bareRepo(t, root, "ops/"+n, map[string]string{"README.md": n + "\n"})
	}
	srv := gitServer(t, root)
	m, err := NewMirrors(srv.URL, MirrorOptions{Dir: t.TempDir(), MaxBytes: 1, TTL: time.Millisecond})
	require.NoError(t, err)
	errs := make(chan error, 24)
	for i := 0; i < 24; i++ {
		go func(i int) {
			n := []string{"a", "b", "c"}[i%3]
			r, h, _, err := m.Open(t.Context(), Identity{FullName: "ops/" + n, ID: int64(i%3 + 1)}, "")
			if err != nil {
				errs <- err
				return
			}
			defer h.Release()
			c, err := Commit(r, "main")
			if err == nil {
				_, err = c.File("README.md")
			}
			errs <- err
		}(i)
	}
	for i := 0; i < 24; i++ {
		assert.NoError(t, <-errs)
	}
}

// TestHandleRefresh: a commit pushed after the mirror was made is found
// after Refresh, through the same handle's repository; a second Refresh
// within the floor fetches nothing.
func TestHandleRefresh(t *testing.T) {
	root := t.TempDir()
	bareRepo(t, root, "ops/a", map[string]string{"README.md": "one\n"})
	srv := gitServer(t, root)
	m, err := NewMirrors(srv.URL, MirrorOptions{Dir: t.TempDir(), TTL: time.Hour})
	require.NoError(t, err)
	id := Identity{FullName: "ops/a", ID: 1}
	r, h, _, err := m.Open(t.Context(), id, "")
	require.NoError(t, err)
	defer h.Release()
	bareRepo(t, root, "ops/a", map[string]string{"README.md": "two\n"}) // the repository, made again with a new commit
	out, err := exec.Command("git", "--git-dir", filepath.Join(root, "ops/a.git"), "rev-parse", "main").Output()
	require.NoError(t, err)
	sha := strings.TrimSpace(string(out))
	_, err = Commit(r, sha)
	require.Error(t, err, "not fetched yet")
	require.NoError(t, h.Refresh(t.Context()))
	_, err = Commit(r, sha)
	require.Error(t, err, "fetched just now (at clone): within the floor, no fetch")
	h.mr.mu.Lock()
	h.mr.fetched = time.Now().Add(-time.Minute)
	h.mr.mu.Unlock()
	require.NoError(t, h.Refresh(t.Context()))
	_, err = Commit(r, sha)
	assert.NoError(t, err, "the handle's repository sees the fetch")
}
