package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
)

// TestRestoreFromBackup: a backup restored onto a new path (a new
// machine's empty data directory) answers the same as the index it was
// taken from, and the restore says what it brought back.
func TestRestoreFromBackup(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := store.OpenSQLite(filepath.Join(dir, "docs.db"))
	require.NoError(t, err)
	defer s.Close()
	for i, text := range []string{"restore the ledger database from last night's snapshot", "rotate the ingress certificate"} {
		p := []string{"runbooks/ledger.md", "runbooks/ingress.md"}[i]
		c := store.Chunk{ID: store.ChunkID("rb", p, 0), Source: "rb", Path: p, Kind: "markdown", Version: "v1", Text: text, Hash: store.TextHash(text)}
		require.NoError(t, s.PutFile(ctx, store.File{Source: "rb", Path: p, Kind: "markdown", Version: "v1", Hash: p}, []store.Chunk{c}))
	}
	require.NoError(t, s.PutSource(ctx, store.Source{Name: "rb", Kind: "folder", Version: "v1"}))
	backup := filepath.Join(dir, "backup", "docs.db")
	require.NoError(t, os.MkdirAll(filepath.Dir(backup), 0o700))
	require.NoError(t, s.Backup(ctx, backup))

	to := filepath.Join(dir, "new-machine", "var", "lib", "opsmcp", "docs.db")
	sum, err := store.Restore(ctx, backup, to)
	require.NoError(t, err)
	assert.Equal(t, store.RestoreSummary{Sources: 1, Files: 2, Chunks: 2}, sum)
	r, err := store.OpenSQLite(to)
	require.NoError(t, err)
	defer r.Close()
	want, err := s.Keyword(ctx, "ledger snapshot", store.Filter{}, 5)
	require.NoError(t, err)
	got, err := r.Keyword(ctx, "ledger snapshot", store.Filter{}, 5)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, want, got)
	left, _ := filepath.Glob(to + ".restoring*")
	assert.Empty(t, left, "no temporary file is left behind")
}

// TestRestoreRefusesWhatItShouldNot: a restore never overwrites an index
// (the one a running server uses, or a newer one), and a file that is not
// a whole mcp-docs index is refused with the reason, leaving nothing at
// the destination.
func TestRestoreRefusesWhatItShouldNot(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := store.OpenSQLite(filepath.Join(dir, "docs.db"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	good := filepath.Join(dir, "good.db")
	s, err = store.OpenSQLite(filepath.Join(dir, "docs.db"))
	require.NoError(t, err)
	require.NoError(t, s.Backup(ctx, good))
	require.NoError(t, s.Close())

	_, err = store.Restore(ctx, good, filepath.Join(dir, "docs.db"))
	require.ErrorContains(t, err, "already exists")

	junk := filepath.Join(dir, "junk.db")
	require.NoError(t, os.WriteFile(junk, []byte("not a database at all, just some bytes of a truncated download"), 0o600))
	to := filepath.Join(dir, "fresh", "docs.db")
	_, err = store.Restore(ctx, junk, to)
	require.ErrorContains(t, err, "not an mcp-docs index")
	_, statErr := os.Stat(to)
	assert.True(t, os.IsNotExist(statErr), "nothing written at the destination")

	// A SQLite file of something else (no chunks table).
	other := filepath.Join(dir, "other.db")
	o, err := store.OpenSQLite(filepath.Join(dir, "seed.db"))
	require.NoError(t, err)
	require.NoError(t, o.Close())
	require.NoError(t, os.WriteFile(other, nil, 0o600))
	_, err = store.Restore(ctx, other, to)
	require.ErrorContains(t, err, "not an mcp-docs index")

	cut := filepath.Join(dir, "cut.db")
	b, err := os.ReadFile(good)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cut, b[:len(b)/2], 0o600))
	_, err = store.Restore(ctx, cut, to)
	require.Error(t, err, "a backup cut short is refused")
	_, statErr = os.Stat(to)
	assert.True(t, os.IsNotExist(statErr))

	_, err = store.Restore(ctx, filepath.Join(dir, "missing.db"), to)
	require.ErrorContains(t, err, "missing.db")
}

// FuzzRestore: a backup file's bytes are whatever storage handed back
// (cut, corrupted, tampered). Restore never panics; it either refuses and
// leaves nothing at the destination, or makes an index that opens and
// holds what its summary says.
func FuzzRestore(f *testing.F) {
	dir := f.TempDir()
	s, err := store.OpenSQLite(filepath.Join(dir, "seed.db"))
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	text := "fail over Ollama to the secondary host"
	c := store.Chunk{ID: store.ChunkID("rb", "a.md", 0), Source: "rb", Path: "a.md", Kind: "markdown", Version: "v", Text: text, Hash: store.TextHash(text)}
	if err := s.PutFile(ctx, store.File{Source: "rb", Path: "a.md", Kind: "markdown", Version: "v", Hash: "h"}, []store.Chunk{c}); err != nil {
		f.Fatal(err)
	}
	if err := s.Backup(ctx, filepath.Join(dir, "seed-backup.db")); err != nil {
		f.Fatal(err)
	}
	s.Close()
	good, err := os.ReadFile(filepath.Join(dir, "seed-backup.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte("SQLite format 3\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		from := filepath.Join(d, "backup.db")
		if err := os.WriteFile(from, b, 0o600); err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(d, "restored", "docs.db")
		sum, err := store.Restore(ctx, from, to)
		if err != nil {
			if _, serr := os.Stat(to); !os.IsNotExist(serr) {
				t.Fatalf("refused (%v) but left %s behind", err, to)
			}
			return
		}
		r, err := store.OpenSQLite(to)
		if err != nil {
			t.Fatalf("restored index does not open: %v", err)
		}
		defer r.Close()
		srcs, err := r.Sources(ctx)
		if err != nil {
			t.Fatalf("restored index does not answer: %v", err)
		}
		if len(srcs) != sum.Sources {
			t.Fatalf("summary says %d sources, index has %d", sum.Sources, len(srcs))
		}
	})
}
