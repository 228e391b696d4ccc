package tools

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/assert"
)

func TestMaskCacheBounded(t *testing.T) {
	m := newMaskCache(100)
	id := func(s string) plumbing.Hash { return plumbing.ComputeHash(plumbing.BlobObject, []byte(s)) }
	m.put(id("a"), strings.Repeat("a", 20))
	m.put(id("b"), strings.Repeat("b", 20))
	m.put(id("big"), strings.Repeat("x", 30)) // over a quarter: not kept
	_, ok := m.get(id("big"))
	assert.False(t, ok)
	_, ok = m.get(id("a")) // a is now the most recent
	assert.True(t, ok)
	for _, k := range []string{"c", "d", "e", "f"} {
		m.put(id(k), strings.Repeat(k, 20))
	}
	_, okA := m.get(id("a"))
	_, okB := m.get(id("b"))
	_, okC := m.get(id("c"))
	assert.False(t, okA || okB || okC, "the least recently used went")
	assert.LessOrEqual(t, m.bytes, 100)
	got, ok := m.get(id("f"))
	assert.True(t, ok)
	assert.Equal(t, strings.Repeat("f", 20), got)
}
