// Package storetest is the conformance suite every store.Store passes:
// the SQLite store in its unit tests, Qdrant when QDRANT_URL is set.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
)

func chunk(source, path, kind, version string, ordinal int, heading []string, text string) store.Chunk {
	return store.Chunk{ID: store.ChunkID(source, path, ordinal), Source: source, Path: path, Kind: kind, Version: version,
		Heading: heading, Ordinal: ordinal, Text: text, Hash: store.TextHash(text)}
}

func put(t *testing.T, s store.Store, source, path, kind, version string, texts ...string) []store.Chunk {
	t.Helper()
	var cs []store.Chunk
	for i, tx := range texts {
		cs = append(cs, chunk(source, path, kind, version, i, []string{path, "part"}, tx))
	}
	require.NoError(t, s.PutFile(context.Background(), store.File{Source: source, Path: path, Kind: kind, Version: version,
		Hash: store.TextHash(path + version), Indexed: time.Now()}, cs))
	return cs
}

func ids(h []store.Hit) []string {
	var out []string
	for _, x := range h {
		out = append(out, x.ID)
	}
	return out
}

// Run runs the suite; open returns an empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("FilesChunksGet", func(t *testing.T) {
		s := open(t)
		cs := put(t, s, "docs", "runbooks/failover.md", "markdown", "v1", "drain the node", "cordon the node", "check the pods")
		files, err := s.Files(ctx, "docs")
		require.NoError(t, err)
		require.Contains(t, files, "runbooks/failover.md")
		assert.Equal(t, "v1", files["runbooks/failover.md"].Version)
		assert.Equal(t, 3, files["runbooks/failover.md"].Chunks)
		got, err := s.Get(ctx, cs[1].ID)
		require.NoError(t, err)
		assert.Equal(t, cs[1], got)
		_, err = s.Get(ctx, "0000000000000000")
		assert.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
		around, err := s.Chunks(ctx, "docs", "runbooks/failover.md", 1, 2)
		require.NoError(t, err)
		require.Len(t, around, 2)
		assert.Equal(t, "cordon the node", around[0].Text)
		assert.Equal(t, "check the pods", around[1].Text)
	})

	t.Run("KeywordRanksAndFilters", func(t *testing.T) {
		s := open(t)
		put(t, s, "docs", "runbooks/ollama.md", "markdown", "abc123", "restart ollama on the gpu host when it hangs")
		put(t, s, "docs", "runbooks/network/wireguard.md", "markdown", "abc123", "wireguard peers on the mesh; restart wg-quick")
		put(t, s, "infra", "main.tf", "terraform", "def456", "resource google_compute_instance ollama")
		h, err := s.Keyword(ctx, "ollama gpu", store.Filter{}, 10)
		require.NoError(t, err)
		require.NotEmpty(t, h)
		assert.Equal(t, "runbooks/ollama.md", h[0].Path, "both words beat one")
		assert.Greater(t, h[0].Score, 0.0)
		h, err = s.Keyword(ctx, "restarting", store.Filter{}, 10)
		require.NoError(t, err)
		assert.Len(t, h, 2, "stemmed: restarting finds restart")
		for f, want := range map[store.Filter]int{
			{Source: "infra"}:             1,
			{Kind: "markdown"}:            1,
			{Path: "runbooks/*"}:          1, // * crosses folders: runbooks/ollama.md, not main.tf
			{Path: "runbooks/**/*.md"}:    1, // **/ is any folders or none
			{Path: "runbooks/network/**"}: 0, // ollama is not said under network/
			{Path: "*.tf"}:                1,
			{Version: "def"}:              1, // a commit prefix
			{Source: "nope"}:              0,
		} {
			h, err := s.Keyword(ctx, "ollama", f, 10)
			require.NoError(t, err)
			assert.Len(t, h, want, "%+v", f)
		}
		h, err = s.Keyword(ctx, "restart", store.Filter{Path: "runbooks/**/wireguard.md"}, 10)
		require.NoError(t, err)
		assert.Len(t, h, 1, "**/ spans a folder")
		h, err = s.Keyword(ctx, "?!", store.Filter{}, 10)
		require.NoError(t, err)
		assert.Empty(t, h, "no words, no hits")
	})

	t.Run("ReplaceAndDelete", func(t *testing.T) {
		s := open(t)
		put(t, s, "docs", "a.md", "markdown", "v1", "the old zebra text")
		put(t, s, "docs", "a.md", "markdown", "v2", "the new giraffe text")
		h, err := s.Keyword(ctx, "zebra", store.Filter{}, 10)
		require.NoError(t, err)
		assert.Empty(t, h, "replaced chunks are gone")
		h, err = s.Keyword(ctx, "giraffe", store.Filter{}, 10)
		require.NoError(t, err)
		require.Len(t, h, 1)
		assert.Equal(t, "v2", h[0].Version)
		require.NoError(t, s.SetVersion(ctx, "docs", "a.md", "v3"))
		h, _ = s.Keyword(ctx, "giraffe", store.Filter{}, 10)
		require.Len(t, h, 1)
		assert.Equal(t, "v3", h[0].Version)
		require.NoError(t, s.DeleteFile(ctx, "docs", "a.md"))
		h, _ = s.Keyword(ctx, "giraffe", store.Filter{}, 10)
		assert.Empty(t, h)
		files, _ := s.Files(ctx, "docs")
		assert.Empty(t, files)
	})

	t.Run("VectorsAndDense", func(t *testing.T) {
		s := open(t)
		a := put(t, s, "docs", "a.md", "markdown", "v1", "north", "east")
		b := put(t, s, "docs", "b.md", "markdown", "v1", "north") // same text as a.md#0: one vector
		put(t, s, "other", "c.md", "text", "v9", "south")
		pending, err := s.Unembedded(ctx, "m", 100)
		require.NoError(t, err)
		assert.Len(t, pending, 3, "one per distinct text")
		require.NoError(t, s.PutVectors(ctx, "m", map[string][]float32{
			store.TextHash("north"): {0, 2}, store.TextHash("east"): {3, 0}, store.TextHash("south"): {0, -1},
		}))
		pending, err = s.Unembedded(ctx, "m", 100)
		require.NoError(t, err)
		assert.Empty(t, pending)
		pending, _ = s.Unembedded(ctx, "other-model", 100)
		assert.Len(t, pending, 3, "vectors are per model")

		h, err := s.Dense(ctx, "m", []float32{0.1, 1}, store.Filter{}, 2)
		require.NoError(t, err)
		require.Len(t, h, 2)
		assert.ElementsMatch(t, []string{a[0].ID, b[0].ID}, ids(h), "both north chunks")
		assert.InDelta(t, 0.995, h[0].Score, 0.01, "cosine")
		h, err = s.Dense(ctx, "m", []float32{1, 0}, store.Filter{}, 1)
		require.NoError(t, err)
		assert.Equal(t, []string{a[1].ID}, ids(h))
		h, err = s.Dense(ctx, "m", []float32{0, -1}, store.Filter{Source: "docs"}, 5)
		require.NoError(t, err)
		assert.Len(t, h, 3)
		assert.NotEqual(t, "south", h[0].Text, "filtered out")
		h, err = s.Dense(ctx, "m", []float32{0, -1}, store.Filter{Kind: "text", Version: "v9"}, 5)
		require.NoError(t, err)
		require.Len(t, h, 1)
		assert.Equal(t, "south", h[0].Text)
		_, err = s.Dense(ctx, "m", []float32{1, 2, 3}, store.Filter{}, 1)
		assert.Error(t, err, "wrong dimensions")

		require.NoError(t, s.DeleteFile(ctx, "docs", "a.md"))
		h, err = s.Dense(ctx, "m", []float32{1, 0}, store.Filter{Source: "docs"}, 5)
		require.NoError(t, err)
		assert.Equal(t, []string{b[0].ID}, ids(h), "deleted chunks leave dense search")
	})

	t.Run("Sources", func(t *testing.T) {
		s := open(t)
		put(t, s, "docs", "a.md", "markdown", "v1", "one", "two")
		put(t, s, "docs", "b.md", "markdown", "v1", "three")
		now := time.Now().Truncate(time.Millisecond)
		require.NoError(t, s.PutSource(ctx, store.Source{Name: "docs", Kind: "folder", Version: "v1", Indexed: now, Changed: 2, Embedded: 3,
			Skipped: []string{"bad.pdf: pdf: page tree loops", "big.md: larger than 20 MiB"}}))
		require.NoError(t, s.PutSource(ctx, store.Source{Name: "infra", Kind: "git", Version: "abc", Indexed: now, Error: "fetch failed"}))
		all, err := s.Sources(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
		assert.Equal(t, "docs", all[0].Name)
		assert.Equal(t, 2, all[0].Files)
		assert.Equal(t, 3, all[0].Chunks)
		assert.Equal(t, 2, all[0].Changed)
		assert.Equal(t, 3, all[0].Embedded)
		assert.True(t, now.Equal(all[0].Indexed), "%v vs %v", now, all[0].Indexed)
		assert.Equal(t, "fetch failed", all[1].Error)
		assert.Equal(t, []string{"bad.pdf: pdf: page tree loops", "big.md: larger than 20 MiB"}, all[0].Skipped)
		assert.Empty(t, all[1].Skipped)
	})

	t.Run("FileNote", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.PutFile(ctx, store.File{Source: "docs", Path: "bad.pdf", Kind: "pdf", Version: "v1", Hash: "h1",
			Indexed: time.Now(), Note: "parse took longer than 20s"}, nil))
		files, err := s.Files(ctx, "docs")
		require.NoError(t, err)
		assert.Equal(t, "parse took longer than 20s", files["bad.pdf"].Note, "a skipped file keeps why, so an unchanged one is not parsed again")
		assert.Equal(t, 0, files["bad.pdf"].Chunks)
	})
}
