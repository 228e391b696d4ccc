package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store/storetest"
)

func openSQLite(t *testing.T) store.Store {
	s, err := store.OpenSQLite(filepath.Join(t.TempDir(), "docs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) { storetest.Run(t, openSQLite) }

// TestMaskKeyIsStable: the key is made once and kept in the file.
func TestMaskKeyIsStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "docs.db")
	s, err := store.OpenSQLite(path)
	require.NoError(t, err)
	k1, err := s.MaskKey(context.Background())
	require.NoError(t, err)
	require.Len(t, k1, 32)
	s.Close()
	s, err = store.OpenSQLite(path)
	require.NoError(t, err)
	defer s.Close()
	k2, err := s.MaskKey(context.Background())
	require.NoError(t, err)
	assert.Equal(t, k1, k2)
}

// TestBackupWhileOpen: VACUUM INTO makes a copy that opens and answers.
func TestBackupWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := store.OpenSQLite(filepath.Join(dir, "docs.db"))
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	c := store.Chunk{ID: store.ChunkID("d", "a.md", 0), Source: "d", Path: "a.md", Kind: "markdown", Version: "v", Text: "backup me", Hash: store.TextHash("backup me")}
	require.NoError(t, s.PutFile(ctx, store.File{Source: "d", Path: "a.md", Kind: "markdown", Version: "v", Hash: "h"}, []store.Chunk{c}))
	copyPath := filepath.Join(dir, "copy.db")
	require.NoError(t, s.Backup(ctx, copyPath))
	cp, err := store.OpenSQLite(copyPath)
	require.NoError(t, err)
	defer cp.Close()
	h, err := cp.Keyword(ctx, "backup", store.Filter{}, 5)
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Equal(t, "backup me", h[0].Text)
	assert.Error(t, s.Backup(ctx, copyPath), "an existing file is not overwritten")
	_, err = os.Stat(copyPath)
	require.NoError(t, err)
}

// TestCommonWords: above 1000 chunks, a word in most chunks is not
// scored when a rarer one is asked too, and a query of only common words
// finds the chunks that hold all of them.
func TestCommonWords(t *testing.T) {
	s := openSQLite(t).(*store.SQLite)
	ctx := context.Background()
	for f := 0; f < 120; f++ {
		var cs []store.Chunk
		p := fmt.Sprintf("f%d.md", f)
		for i := 0; i < 10; i++ {
			text := "pod service"
			switch {
			case f == 7 && i < 3:
				text += " zebra"
			case f%2 == 0:
				text += " ingress"
			}
			cs = append(cs, store.Chunk{ID: store.ChunkID("d", p, i), Source: "d", Path: p, Kind: "markdown", Version: "v", Ordinal: i, Text: text, Hash: store.TextHash(text)})
		}
		require.NoError(t, s.PutFile(ctx, store.File{Source: "d", Path: p, Kind: "markdown", Version: "v", Hash: p}, cs))
	}
	h, err := s.Keyword(ctx, "pod zebra", store.Filter{}, 10)
	require.NoError(t, err)
	assert.Len(t, h, 3, "only the rare word is scored")
	for _, x := range h {
		assert.Contains(t, x.Text, "zebra")
	}
	h, err = s.Keyword(ctx, "service ingress", store.Filter{}, 10)
	require.NoError(t, err)
	require.Len(t, h, 10)
	for _, x := range h {
		assert.Contains(t, x.Text, "ingress", "both common words")
	}
	h, err = s.Keyword(ctx, "pod", store.Filter{Path: "f7.md"}, 10)
	require.NoError(t, err)
	assert.Len(t, h, 10, "a narrow filter widens the window until it finds its chunks")
}

// TestOldIndexFileMigrates: an index written before files.note and
// sources.skipped existed opens, keeps its rows, and takes the new fields.
func TestOldIndexFileMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE sources(name TEXT PRIMARY KEY, kind TEXT, version TEXT, indexed_at INTEGER, error TEXT, changed INTEGER, embedded INTEGER);
CREATE TABLE files(source TEXT, path TEXT, kind TEXT, version TEXT, hash TEXT, chunks INTEGER, indexed_at INTEGER, PRIMARY KEY(source, path));
INSERT INTO sources VALUES ('docs', 'folder', 'v1', 0, '', 1, 0);
INSERT INTO files VALUES ('docs', 'a.md', 'markdown', 'v1', 'h', 0, 0);`)
	require.NoError(t, err)
	db.Close()
	s, err := store.OpenSQLite(path)
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	srcs, err := s.Sources(ctx)
	require.NoError(t, err)
	require.Len(t, srcs, 1)
	assert.Empty(t, srcs[0].Skipped)
	files, err := s.Files(ctx, "docs")
	require.NoError(t, err)
	assert.Equal(t, "", files["a.md"].Note)
	require.NoError(t, s.PutSource(ctx, store.Source{Name: "docs", Skipped: []string{"x.pdf: loops"}}))
	srcs, err = s.Sources(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"x.pdf: loops"}, srcs[0].Skipped)
}
