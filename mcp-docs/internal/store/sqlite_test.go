package store_test

import (
	"context"
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
