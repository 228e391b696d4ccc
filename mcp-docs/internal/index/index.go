// Package index keeps the store in step with the sources: it reads a
// source, re-chunks only files whose content changed, drops files that
// are gone, moves unchanged files to the new version, masks every chunk
// before it is stored, and embeds only chunks whose text has no vector
// yet (so an unchanged chunk is never embedded twice, and chunks left
// unembedded by an outage are embedded on the next run).
package index

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/chunk"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/embed"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/source"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/shared/mask"
)

// Indexer indexes sources into a store.
type Indexer struct {
	Store  store.Store
	Reader *source.Reader
	// Embedder is nil when no model is configured: keyword search only.
	Embedder embed.Embedder
	Masker   *mask.Masker
	Chunk    chunk.Options
	// Progress, if set, is told how a run is going.
	Progress func(Progress)
	Log      *slog.Logger

	mu sync.Mutex // one run at a time: the webhook and the schedule share it
}

// Progress is a run's state.
type Progress struct {
	Source      string
	Phase       string // "read", "chunk", "embed", "done"
	Files       int    // files looked at
	TotalFiles  int
	Chunks      int // chunks written
	Embedded    int // vectors made
	ToEmbed     int // vectors to make, when known
	EmbedPerSec float64
	ETA         time.Duration
}

// Report is what one run did.
type Report struct {
	Source    string `json:"source"`
	Version   string `json:"version"`
	Files     int    `json:"files"`
	Changed   int    `json:"changed"`
	Unchanged int    `json:"unchanged"`
	Deleted   int    `json:"deleted"`
	Chunks    int    `json:"chunks"`
	Embedded  int    `json:"embedded"`
	Skipped   int    `json:"skipped"`
	// Failed lists files that could not be parsed (they are kept out).
	Failed []string `json:"failed,omitempty"`
	// EmbedError says why vectors are missing (keyword search still works).
	EmbedError string        `json:"embed_error,omitempty"`
	Took       time.Duration `json:"took"`
}

func (ix *Indexer) progress(p Progress) {
	if ix.Progress != nil {
		ix.Progress(p)
	}
}

func (ix *Indexer) log() *slog.Logger {
	if ix.Log != nil {
		return ix.Log
	}
	return slog.Default()
}

// Index brings one source up to date.
func (ix *Indexer) Index(ctx context.Context, src source.Source) (Report, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	start := time.Now()
	rep := Report{Source: src.Name}
	ix.progress(Progress{Source: src.Name, Phase: "read"})
	snap, err := ix.Reader.Read(ctx, src)
	if err != nil {
		// The old chunks stay searchable; the source says what went wrong.
		old := ix.lastSource(ctx, src.Name)
		old.Name, old.Kind, old.Error = src.Name, src.Kind(), err.Error()
		ix.Store.PutSource(ctx, old)
		return rep, err
	}
	rep.Version, rep.Skipped = snap.Version, snap.Skipped
	stored, err := ix.Store.Files(ctx, src.Name)
	if err != nil {
		return rep, err
	}
	charts := map[string]bool{}
	for _, f := range snap.Files {
		if strings.EqualFold(path.Base(f.Path), "chart.yaml") {
			charts[path.Dir(f.Path)] = true
		}
	}
	seen := map[string]bool{}
	p := Progress{Source: src.Name, Phase: "chunk", TotalFiles: len(snap.Files)}
	for _, f := range snap.Files {
		p.Files++
		kind := parse.KindOf(f.Path, charts)
		if kind == "" {
			continue
		}
		rep.Files++
		seen[f.Path] = true
		if old, ok := stored[f.Path]; ok && old.Hash == f.Hash {
			rep.Unchanged++
			if old.Version != f.Version {
				if err := ix.Store.SetVersion(ctx, src.Name, f.Path, f.Version); err != nil {
					return rep, err
				}
			}
			continue
		}
		chunks, err := ix.chunks(src.Name, kind, f)
		if err != nil {
			ix.log().Warn("file not indexed", "source", src.Name, "path", f.Path, "err", err)
			rep.Failed = append(rep.Failed, f.Path+": "+err.Error())
		}
		rec := store.File{Source: src.Name, Path: f.Path, Kind: kind, Version: f.Version, Hash: f.Hash, Indexed: time.Now()}
		if err := ix.Store.PutFile(ctx, rec, chunks); err != nil {
			return rep, err
		}
		rep.Changed++
		rep.Chunks += len(chunks)
		p.Chunks += len(chunks)
		p.ETA = time.Since(start) / time.Duration(p.Files) * time.Duration(p.TotalFiles-p.Files)
		ix.progress(p)
	}
	for path := range stored {
		if !seen[path] {
			if err := ix.Store.DeleteFile(ctx, src.Name, path); err != nil {
				return rep, err
			}
			rep.Deleted++
		}
	}
	if c, ok := ix.Store.(interface {
		Compact(ctx context.Context, full bool) error
	}); ok && rep.Changed+rep.Deleted > 0 {
		// A big run rewrites the keyword index in one piece; a small one
		// merges a bounded amount, so query cost does not creep up.
		if err := c.Compact(ctx, rep.Chunks > 5000); err != nil {
			ix.log().Warn("compact keyword index", "err", err)
		}
	}
	if ix.Embedder != nil {
		n, err := ix.embedPending(ctx, src.Name)
		rep.Embedded = n
		if err != nil {
			rep.EmbedError = err.Error()
			ix.log().Warn("embedding incomplete; keyword search still answers", "source", src.Name, "err", err)
		}
	}
	rep.Took = time.Since(start)
	err = ix.Store.PutSource(ctx, store.Source{Name: src.Name, Kind: src.Kind(), Version: snap.Version, Indexed: time.Now(),
		Error: rep.EmbedError, Changed: rep.Changed, Embedded: rep.Embedded})
	ix.progress(Progress{Source: src.Name, Phase: "done", Files: len(snap.Files), TotalFiles: len(snap.Files), Chunks: rep.Chunks, Embedded: rep.Embedded})
	return rep, err
}

func (ix *Indexer) lastSource(ctx context.Context, name string) store.Source {
	all, _ := ix.Store.Sources(ctx)
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	return store.Source{}
}

// chunks parses, splits and masks one file.
func (ix *Indexer) chunks(sourceName, kind string, f source.File) ([]store.Chunk, error) {
	sections, err := parse.Parse(kind, f.Path, f.Data)
	if err != nil {
		return nil, err
	}
	pieces := chunk.Split(sections, ix.Chunk)
	out := make([]store.Chunk, 0, len(pieces))
	for i, pc := range pieces {
		text, _ := ix.Masker.Text(pc.Text)
		heading := make([]string, len(pc.Heading))
		for j, h := range pc.Heading {
			heading[j], _ = ix.Masker.Text(h)
		}
		out = append(out, store.Chunk{
			ID: store.ChunkID(sourceName, f.Path, i), Source: sourceName, Path: f.Path, Kind: kind, Version: f.Version,
			Heading: heading, Page: pc.Page, Ordinal: i, Text: text, Hash: store.TextHash(text),
		})
	}
	return out, nil
}

// embedPending embeds every chunk without a vector, in batches, and
// reports how many it made.
func (ix *Indexer) embedPending(ctx context.Context, sourceName string) (int, error) {
	model := ix.Embedder.Model()
	done := 0
	start := time.Now()
	for {
		pending, err := ix.Store.Unembedded(ctx, model, 256)
		if err != nil {
			return done, err
		}
		if len(pending) == 0 {
			return done, nil
		}
		texts := make([]string, len(pending))
		for i, p := range pending {
			texts[i] = p.Text
		}
		vecs, err := ix.Embedder.Embed(ctx, texts)
		if len(vecs) > 0 {
			m := make(map[string][]float32, len(vecs))
			for i, v := range vecs {
				m[pending[i].Hash] = v
			}
			if perr := ix.Store.PutVectors(ctx, model, m); perr != nil {
				return done, perr
			}
			done += len(vecs)
		}
		if err != nil {
			return done, err
		}
		rate := float64(done) / max(time.Since(start).Seconds(), 1e-3)
		ix.progress(Progress{Source: sourceName, Phase: "embed", Embedded: done, EmbedPerSec: rate})
	}
}

// Sources runs Index over every source in cfg, reporting each; one
// source's failure does not stop the others.
func (ix *Indexer) Sources(ctx context.Context, cfg *source.Config) ([]Report, error) {
	var out []Report
	var errs []string
	for _, s := range cfg.Sources {
		rep, err := ix.Index(ctx, s)
		out = append(out, rep)
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}
