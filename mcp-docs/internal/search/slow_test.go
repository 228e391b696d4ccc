package search

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
)

// stalledEmbedder is an embedding model that never answers: it waits
// for its context, as a stalled Ollama does.
type stalledEmbedder struct{ done chan struct{} }

func (stalledEmbedder) Model() string { return "stalled" }

func (e stalledEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	<-ctx.Done()
	close(e.done)
	return nil, ctx.Err()
}

// TestStalledEmbedderLeavesTimeForKeyword (issue 17): a stalled
// embedding model gets half the call's time; the search then answers
// from the keyword index within the call's time and says why, and the
// embedding request is cancelled.
func TestStalledEmbedderLeavesTimeForKeyword(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "docs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	require.NoError(t, st.PutFile(ctx, store.File{Source: "s", Path: "rb.md", Kind: "markdown", Hash: "h"},
		[]store.Chunk{{ID: "c1", Source: "s", Path: "rb.md", Kind: "markdown", Text: "restart the payments service", Hash: "x"}}))
	e := stalledEmbedder{done: make(chan struct{})}
	s := &Searcher{Store: st, Embedder: e}
	ctx, cancel := context.WithTimeout(ctx, 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := s.Search(ctx, "payments", store.Filter{}, 5, "")
	require.NoError(t, err)
	took := time.Since(start)
	assert.Less(t, took, 550*time.Millisecond, "answered within the call's time")
	assert.Equal(t, Keyword, res.Mode)
	require.Len(t, res.Hits, 1)
	assert.Equal(t, "c1", res.Hits[0].ID)
	assert.Contains(t, res.Note, "embedding model stalled did not answer")
	select {
	case <-e.done:
	default:
		t.Fatal("the embedding request was left running")
	}
}
