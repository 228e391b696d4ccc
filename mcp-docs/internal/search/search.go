// Package search answers a query from the store: BM25 keyword hits and
// dense-vector hits fused by reciprocal rank fusion, or keyword alone
// when no embedding model answers (and the result says which).
package search

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/embed"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
)

// Modes a search can run in.
const (
	Hybrid  = "hybrid"
	Keyword = "keyword"
	Dense   = "dense"
)

// rrfK is the usual constant of reciprocal rank fusion: a hit at rank r
// of a list adds 1/(rrfK+r).
const rrfK = 60

// Searcher runs searches.
type Searcher struct {
	Store store.Store
	// Embedder embeds queries; nil means keyword only.
	Embedder embed.Embedder
	// Depth is how many hits each list contributes before fusion
	// (default 50).
	Depth int
}

// Result is a search's hits and how they were found.
type Result struct {
	Hits []store.Hit
	Mode string
	// Note explains a fallback to keyword search.
	Note string
}

// Search returns the k best chunks for query. mode "" is hybrid when an
// embedder is configured, else keyword.
func (s *Searcher) Search(ctx context.Context, query string, f store.Filter, k int, mode string) (Result, error) {
	depth := s.Depth
	if depth <= 0 {
		depth = 50
	}
	depth = max(depth, k)
	if mode == "" {
		mode = Hybrid
	}
	var note string
	var dense []store.Hit
	if mode != Keyword {
		if s.Embedder == nil {
			note = "no embedding model configured"
		} else if vecs, err := s.embed(ctx, query); err != nil {
			note = fmt.Sprintf("embedding model %s did not answer: %v", s.Embedder.Model(), err)
		} else if dense, err = s.Store.Dense(ctx, s.Embedder.Model(), vecs[0], f, depth); err != nil {
			return Result{}, err
		} else if len(dense) == 0 {
			note = fmt.Sprintf("no chunk has a %s vector yet", s.Embedder.Model())
		}
		if note != "" && mode == Dense {
			return Result{Mode: Dense, Note: note}, nil
		}
	}
	if mode == Dense {
		return Result{Hits: cut(dense, k), Mode: Dense}, nil
	}
	kw, err := s.Store.Keyword(ctx, query, f, depth)
	if err != nil {
		return Result{}, err
	}
	if mode == Keyword || len(dense) == 0 {
		return Result{Hits: cut(kw, k), Mode: Keyword, Note: note}, nil
	}
	return Result{Hits: Fuse(k, kw, dense), Mode: Hybrid}, nil
}

// embed embeds the query within half the call's remaining time, so an
// embedding model that is down or slow leaves the other half for the
// keyword search the result falls back to (and says so).
func (s *Searcher) embed(ctx context.Context, query string) ([][]float32, error) {
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/2))
		defer cancel()
	}
	vecs, err := s.Embedder.Embed(ctx, []string{query})
	if err == nil && len(vecs) != 1 {
		err = fmt.Errorf("%d vectors for one query", len(vecs))
	}
	return vecs, err
}

func cut(h []store.Hit, k int) []store.Hit {
	if len(h) > k {
		return h[:k]
	}
	return h
}

// Fuse merges ranked lists by reciprocal rank fusion; a hit's score
// becomes its fused score.
func Fuse(k int, lists ...[]store.Hit) []store.Hit {
	score := map[string]float64{}
	first := map[string]store.Hit{}
	for _, l := range lists {
		for r, h := range l {
			score[h.ID] += 1 / float64(rrfK+r+1)
			if _, ok := first[h.ID]; !ok {
				first[h.ID] = h
			}
		}
	}
	out := make([]store.Hit, 0, len(score))
	for id, sc := range score {
		h := first[id]
		h.Score = sc
		out = append(out, h)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Score != out[b].Score {
			return out[a].Score > out[b].Score
		}
		return out[a].ID < out[b].ID
	})
	return cut(out, k)
}
