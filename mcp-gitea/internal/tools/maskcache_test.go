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
	_, okB := m.get(id("b"))
	assert.False(t, okB, "b, the least recently used, went")
	_, okA := m.get(id("a"))
	assert.True(t, okA, "a was used after b: kept")
	m.put(id("g"), strings.Repeat("g", 20))
	_, okC := m.get(id("c"))
	assert.False(t, okC, "now c is the least recently used")
	assert.Equal(t, 100, m.bytes)
	got, ok := m.get(id("f"))
	assert.True(t, ok)
	assert.Equal(t, strings.Repeat("f", 20), got)
}
