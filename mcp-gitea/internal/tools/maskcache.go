package tools

import (
	"container/list"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// maskCacheBytes bounds the masked file texts kept for search: masking is
// the dominant cost of a search (about 1 MB/s), and files do not change
// under their blob id.
const maskCacheBytes = 64 << 20

// maskCache keeps masked texts by blob id, least recently used out first.
// A masked text depends only on the content and the server's masking key,
// so it is the same for every caller (who may read the repository: that
// is checked before any file is read).
type maskCache struct {
	mu    sync.Mutex
	max   int
	bytes int
	byID  map[plumbing.Hash]*list.Element
	order *list.List // front: most recent
}

type maskEntry struct {
	id     plumbing.Hash
	masked string
}

func newMaskCache(max int) *maskCache {
	return &maskCache{max: max, byID: map[plumbing.Hash]*list.Element{}, order: list.New()}
}

func (m *maskCache) get(id plumbing.Hash) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[id]
	if !ok {
		return "", false
	}
	m.order.MoveToFront(e)
	return e.Value.(*maskEntry).masked, true
}

func (m *maskCache) put(id plumbing.Hash, masked string) {
	if len(masked) > m.max/4 {
		return // one file may not push out most of the others
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byID[id]; ok {
		return
	}
	m.byID[id] = m.order.PushFront(&maskEntry{id: id, masked: masked})
	m.bytes += len(masked)
	for m.bytes > m.max {
		last := m.order.Back()
		ent := last.Value.(*maskEntry)
		m.order.Remove(last)
		delete(m.byID, ent.id)
		m.bytes -= len(ent.masked)
	}
}
