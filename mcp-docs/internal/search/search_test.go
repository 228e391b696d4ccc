package search

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
)

func hits(ids ...string) []store.Hit {
	var out []store.Hit
	for _, id := range ids {
		out = append(out, store.Hit{Chunk: store.Chunk{ID: id}})
	}
	return out
}

func TestFuse(t *testing.T) {
	// b is second in both lists: 2/(60+2) beats a's 1/61 + 1/64 ... and c's
	// single first place.
	got := Fuse(3, hits("a", "b", "c"), hits("c", "b", "d", "a"))
	var order []string
	for _, h := range got {
		order = append(order, h.ID)
	}
	assert.Equal(t, []string{"c", "b", "a"}, order)
	assert.InDelta(t, 1.0/61+1.0/63, got[0].Score, 1e-12)
	assert.InDelta(t, 2.0/62, got[1].Score, 1e-12)
	assert.InDelta(t, 1.0/61+1.0/64, got[2].Score, 1e-12)
}
