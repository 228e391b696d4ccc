package tools

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/shared/policy"
)

// TestScopedSearchCountsNothingHidden: a role limited to some sources got
// the best k*10 hits of every source, cut to its own afterwards, so the
// number of hits it saw told how many chunks of the sources it may not
// read matched its query better: 600 secops chunks about "keys" left a
// public-only role with no hit at all, and with one once they were gone.
// The search now runs in the sources the role may read only, so what
// hidden sources hold changes nothing the role sees.
func TestScopedSearchCountsNothingHidden(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	var cs []store.Chunk
	for i := 0; i < 600; i++ {
		text := fmt.Sprintf("keys keys keys: the offline keys of project hush %d", i)
		cs = append(cs, store.Chunk{ID: store.ChunkID("secops", "keys.md", i), Source: "secops", Path: "keys.md", Kind: "markdown",
			Version: "v1", Heading: []string{"Keys"}, Ordinal: i, Text: text, Hash: store.TextHash(text)})
	}
	require.NoError(t, s.Store.PutFile(ctx, store.File{Source: "secops", Path: "keys.md", Kind: "markdown", Version: "v1", Hash: "k"}, cs))
	require.NoError(t, s.Store.PutSource(ctx, store.Source{Name: "secops", Kind: "folder", Version: "v2", Indexed: time.Now()}))
	pol, err := policy.Parse([]byte("roles:\n  dev:\n    tools: [\"docs_*\"]\n    scopes:\n      sources: [\"public\"]\n"))
	require.NoError(t, err)
	dev := pol.For([]string{"dev"})
	for _, k := range []int{1, 3, 50} {
		m, err := call(t, s, dev, "docs_search", map[string]any{"query": "keys", "k": k, "mode": "keyword"})
		require.NoError(t, err)
		want := min(k, 3)
		assert.Len(t, sourcesOf(m, "source"), want, "k=%d: the public source's 3 chunks about keys, whatever secops holds", k)
		for _, src := range sourcesOf(m, "source") {
			assert.Equal(t, "public", src)
		}
	}
}
