package index_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/chunk"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/embed/embedtest"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/index"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/source"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/shared/mask"
)

const planted = "hunter2-Planted-Docs-Pw-7731"

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

func section(title, word string) string {
	return "## " + title + "\n\n" + strings.Repeat(word+" ", 120) + "\n\n"
}

func setup(t *testing.T) (string, *index.Indexer, *store.SQLite, *embedtest.Embedder) {
	dir := t.TempDir()
	docs := filepath.Join(dir, "docs")
	write(t, docs, "runbooks/failover.md", "# Failover\n\n"+section("Detect", "alpha")+section("Switch", "bravo")+section("Verify", "charlie"))
	write(t, docs, "runbooks/db.md", "# Database\n\n"+section("Backup", "delta")+"\n\nconnection: postgres://app:"+planted+"@db:5432/app\n")
	write(t, docs, "k8s/api.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n")
	write(t, docs, "logo.png", "\x89PNG not a doc")
	st, err := store.OpenSQLite(filepath.Join(dir, "docs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	key, err := st.MaskKey(context.Background())
	require.NoError(t, err)
	emb := &embedtest.Embedder{}
	ix := &index.Indexer{Store: st, Reader: &source.Reader{CacheDir: dir}, Embedder: emb, Masker: mask.New(key),
		Chunk: chunk.Options{MinTokens: 50, MaxTokens: 200, OverlapTokens: 10}}
	return docs, ix, st, emb
}

// TestIncremental: a second run changes nothing; an edited section
// re-embeds exactly its chunks; a deleted file leaves the index.
func TestIncremental(t *testing.T) {
	docs, ix, st, emb := setup(t)
	ctx := context.Background()
	src := source.Source{Name: "docs", Path: docs}
	rep, err := ix.Index(ctx, src)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Files, "the png is not a document")
	assert.Equal(t, 3, rep.Changed)
	assert.Greater(t, rep.Chunks, 5)
	assert.Equal(t, emb.Calls, rep.Embedded)
	first := emb.Calls

	rep, err = ix.Index(ctx, src)
	require.NoError(t, err)
	assert.Equal(t, 0, rep.Changed)
	assert.Equal(t, 3, rep.Unchanged)
	assert.Equal(t, 0, rep.Embedded)
	assert.Equal(t, first, emb.Calls, "nothing embedded again")

	before := chunksOf(t, st, "runbooks/failover.md")
	write(t, docs, "runbooks/failover.md", "# Failover\n\n"+section("Detect", "alpha")+strings.Replace(section("Switch", "bravo"), "bravo", "edited", 1)+section("Verify", "charlie"))
	rep, err = ix.Index(ctx, src)
	require.NoError(t, err)
	after := chunksOf(t, st, "runbooks/failover.md")
	changed := 0
	for h := range after {
		if !before[h] {
			changed++
		}
	}
	assert.Equal(t, 1, rep.Changed)
	assert.Equal(t, 1, changed, "one chunk's text changed")
	assert.Equal(t, changed, rep.Embedded, "and only it was embedded")
	assert.Equal(t, first+changed, emb.Calls)

	require.NoError(t, os.Remove(filepath.Join(docs, "k8s/api.yaml")))
	rep, err = ix.Index(ctx, src)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted)
	h, err := st.Keyword(ctx, "Service api", store.Filter{Kind: "manifest"}, 5)
	require.NoError(t, err)
	assert.Empty(t, h)
}

func chunksOf(t *testing.T, st *store.SQLite, path string) map[string]bool {
	cs, err := st.Chunks(context.Background(), "docs", path, 0, 1000)
	require.NoError(t, err)
	out := map[string]bool{}
	for _, c := range cs {
		out[c.Hash] = true
	}
	return out
}

// TestSecretsNeverStored: the planted password is masked before the
// chunk is written, so it is in no byte of the index file.
func TestSecretsNeverStored(t *testing.T) {
	docs, ix, st, _ := setup(t)
	ctx := context.Background()
	_, err := ix.Index(ctx, source.Source{Name: "docs", Path: docs})
	require.NoError(t, err)
	h, err := st.Keyword(ctx, "connection postgres", store.Filter{}, 5)
	require.NoError(t, err)
	require.NotEmpty(t, h)
	assert.Contains(t, h[0].Text, "[MASKED:")
	assert.NotContains(t, h[0].Text, planted)
	st.Close()
	for _, f := range []string{"docs.db", "docs.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(filepath.Dir(docs), f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		assert.NotContains(t, string(raw), planted, f)
	}
}

// TestEmbeddingOutage: with the model down, chunks are stored and
// keyword search works; the next run embeds what was missed.
func TestEmbeddingOutage(t *testing.T) {
	docs, ix, st, emb := setup(t)
	ctx := context.Background()
	emb.Fail = errors.New("connection refused")
	rep, err := ix.Index(ctx, source.Source{Name: "docs", Path: docs})
	require.NoError(t, err)
	assert.Contains(t, rep.EmbedError, "connection refused")
	assert.Zero(t, rep.Embedded)
	h, err := st.Keyword(ctx, "bravo", store.Filter{}, 5)
	require.NoError(t, err)
	assert.NotEmpty(t, h)
	srcs, _ := st.Sources(ctx)
	require.Len(t, srcs, 1)
	assert.Contains(t, srcs[0].Error, "connection refused")

	emb.Fail = nil
	rep, err = ix.Index(ctx, source.Source{Name: "docs", Path: docs})
	require.NoError(t, err)
	assert.Zero(t, rep.Changed)
	assert.Greater(t, rep.Embedded, 5, "the missed chunks")
	srcs, _ = st.Sources(ctx)
	assert.Empty(t, srcs[0].Error)
}

// TestFolderVersions: a folder file's version is its mtime and content
// hash, so a touched-but-same file keeps its chunks and moves version.
func TestFolderVersions(t *testing.T) {
	docs, ix, st, emb := setup(t)
	ctx := context.Background()
	src := source.Source{Name: "docs", Path: docs}
	_, err := ix.Index(ctx, src)
	require.NoError(t, err)
	calls := emb.Calls
	p := filepath.Join(docs, "runbooks/db.md")
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(p, later, later))
	rep, err := ix.Index(ctx, src)
	require.NoError(t, err)
	assert.Zero(t, rep.Changed)
	assert.Equal(t, calls, emb.Calls)
	cs, err := st.Chunks(ctx, "docs", "runbooks/db.md", 0, 0)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.True(t, strings.HasPrefix(cs[0].Version, later.UTC().Format("2006-01-02T15:04:05Z")), cs[0].Version)
}
