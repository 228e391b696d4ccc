package logfile

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSwappedSymlinkIsNotFollowed: issue 13 checked a path, then opened it
// again, following a symlink swapped in between. The file is now opened
// beneath its root without following any symlink, so a swap after the
// check (of the file, or of a directory on its path) fails the read, with
// openat2 and with the O_NOFOLLOW walk alike.
func TestSwappedSymlinkIsNotFollowed(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		noOpenat2.Store(fallback)
		t.Cleanup(func() { noOpenat2.Store(false) })
		root := t.TempDir()
		outside := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(outside, "shadow.log"), []byte("2026-03-01T10:00:00Z INFO root:"+jsonPass+"\n"), 0o644))
		require.NoError(t, os.MkdirAll(filepath.Join(outside, "sub"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(outside, "sub", "app.log"), []byte("2026-03-01T10:00:00Z INFO "+jsonPass+"\n"), 0o644))
		require.NoError(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "app.log"), []byte("2026-03-01T10:00:00Z INFO fine\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(root, "sub", "app.log"), []byte("2026-03-01T10:00:00Z INFO fine too\n"), 0o644))
		roots, err := NewRoots([]string{root})
		require.NoError(t, err)
		files, _, err := roots.List("", 10)
		require.NoError(t, err)
		require.Len(t, files, 2)
		q := Query{Limit: 10}
		ms, _, _, err := Search(context.Background(), files, q, nil)
		require.NoError(t, err)
		require.Len(t, ms, 2, "fallback=%v", fallback)
		if !fallback && noOpenat2.Load() {
			t.Log("this kernel refuses openat2: both runs used the O_NOFOLLOW walk")
		}

		// The swap: the file becomes a symlink out, the directory too.
		real, _ := filepath.EvalSymlinks(root)
		require.NoError(t, os.Remove(filepath.Join(real, "app.log")))
		require.NoError(t, os.Symlink(filepath.Join(outside, "shadow.log"), filepath.Join(real, "app.log")))
		require.NoError(t, os.RemoveAll(filepath.Join(real, "sub")))
		require.NoError(t, os.Symlink(filepath.Join(outside, "sub"), filepath.Join(real, "sub")))
		for _, f := range files {
			for _, oldest := range []bool{false, true} {
				q.Oldest = oldest
				ms, _, _, err := Search(context.Background(), []File{f}, q, nil)
				require.Error(t, err, "fallback=%v %s", fallback, f.Path)
				assert.ErrorIs(t, err, ErrOutside)
				assert.Empty(t, ms)
			}
			_, _, err := Tail(context.Background(), f, 5, 0, nil, nil)
			assert.ErrorIs(t, err, ErrOutside)
			_, _, err = Span(context.Background(), f, 1<<20)
			assert.ErrorIs(t, err, ErrOutside)
			_, err = roots.Stat(f.Path)
			assert.Error(t, err)
		}

		// A FIFO is refused at once, not waited on.
		fifo := filepath.Join(real, "pipe.log")
		require.NoError(t, syscall.Mkfifo(fifo, 0o644))
		_, err = roots.Stat(fifo)
		assert.ErrorContains(t, err, "not a regular file")
	}
}

func writeFile(p, body string) error { return os.WriteFile(p, []byte(body), 0o644) }
