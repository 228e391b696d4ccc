// Package index keeps the store in step with the sources: it reads a
// source, re-chunks only files whose content changed, drops files that
// are gone, moves unchanged files to the new version, masks each
// document whole before it is split (so no chunk holds part of a secret),
// and embeds only chunks whose text has no vector yet (so an unchanged
// chunk is never embedded twice, and chunks left unembedded by an outage
// are embedded on the next run). Every file is parsed under a deadline
// and output bounds (and, with a parse.Worker, a memory bound in a child
// process); a file past them is skipped and reported, and the run goes
// on. No lock is held while a file is parsed.
package index

import (
	"context"
	"errors"
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
	// Parser parses each file within Limits (default: parse.InProcess).
	Parser parse.Parser
	Limits parse.Limits
	// MaxChunks caps one file's chunks (default 10000); a file past it is
	// skipped.
	MaxChunks int
	// Progress, if set, is told how a run is going.
	Progress func(Progress)
	Log      *slog.Logger

	once     sync.Once
	locksMu  sync.Mutex
	runs     map[string]*sync.Mutex // one run per source at a time
	embedMu  sync.Mutex             // one embedding pass at a time
	retried  map[string]bool        // hashes of files past their deadline in this process
	inParser parse.Parser
}

// DefaultMaxChunks is MaxChunks' default.
const DefaultMaxChunks = 10000

func (ix *Indexer) parser() parse.Parser {
	if ix.Parser != nil {
		return ix.Parser
	}
	ix.once.Do(func() { ix.inParser = &parse.InProcess{Limits: ix.Limits} })
	return ix.inParser
}

// runLock is the lock of one source's runs.
func (ix *Indexer) runLock(name string) *sync.Mutex {
	ix.locksMu.Lock()
	defer ix.locksMu.Unlock()
	if ix.runs == nil {
		ix.runs = map[string]*sync.Mutex{}
	}
	if ix.runs[name] == nil {
		ix.runs[name] = &sync.Mutex{}
	}
	return ix.runs[name]
}

// Progress is a run's state.
type Progress struct {
	Source      string
	Phase       string // "read", "chunk", "embed", "done"
	Files       int    // files looked at
	TotalFiles  int
	Chunks      int    // chunks written
	Embedded    int    // vectors made
	ToEmbed     int    // vectors to make, when known
	Skipped     int    // files left out so far
	LastSkipped string // the latest, "path: why"
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
	// Skipped lists the files left out, each "path: why": not readable as
	// a regular file of the source, past a size budget, past a parse
	// bound (time, memory, output), or not parsable.
	Skipped []string `json:"skipped,omitempty"`
	// Failed lists the files of Skipped that could not be parsed.
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
	lock := ix.runLock(src.Name)
	lock.Lock()
	defer lock.Unlock()
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
	rep.Version = snap.Version
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
	p := Progress{Source: src.Name, Phase: "chunk", TotalFiles: len(snap.Files)}
	skip := func(file, why string) {
		line := ix.mask(file + ": " + why)
		rep.Skipped = append(rep.Skipped, line)
		p.Skipped, p.LastSkipped = len(rep.Skipped), line
		ix.progress(p)
	}
	for _, sk := range snap.Skipped {
		// Only what would have been a document is worth a line.
		if parse.KindOf(sk.Path, charts) != "" {
			skip(sk.Path, sk.Reason)
		}
	}
	seen := map[string]bool{}
	for _, f := range snap.Files {
		p.Files++
		kind := parse.KindOf(f.Path, charts)
		if kind == "" {
			continue
		}
		rep.Files++
		seen[f.Path] = true
		if old, ok := stored[f.Path]; ok && old.Hash == f.Hash {
			if old.Version != f.Version {
				if err := ix.Store.SetVersion(ctx, src.Name, f.Path, f.Version); err != nil {
					return rep, err
				}
			}
			if old.Note == "" || !ix.retryOnce(old) {
				rep.Unchanged++
				if old.Note != "" {
					// Skipped before, unchanged since: not parsed again.
					skip(f.Path, old.Note)
				}
				continue
			}
		}
		chunks, err := ix.chunks(ctx, src.Name, kind, f)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if errors.Is(err, parse.ErrWorker) {
			return rep, err // no file's fault: nothing recorded against it
		}
		if parse.IsTimeout(err) {
			ix.markRetried(f.Hash)
		}
		note := ""
		if err != nil {
			note = ix.noteOf(err)
			ix.log().Warn("file not indexed", "source", src.Name, "path", f.Path, "err", err)
			if !parse.IsLimit(err) {
				rep.Failed = append(rep.Failed, f.Path+": "+note)
			}
			skip(f.Path, note)
		}
		rec := store.File{Source: src.Name, Path: f.Path, Kind: kind, Version: f.Version, Hash: f.Hash, Indexed: time.Now(), Note: note}
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
		ix.embedMu.Lock()
		n, err := ix.embedPending(ctx, src.Name)
		ix.embedMu.Unlock()
		rep.Embedded = n
		if err != nil {
			rep.EmbedError = err.Error()
			ix.log().Warn("embedding incomplete; keyword search still answers", "source", src.Name, "err", err)
		}
	}
	rep.Took = time.Since(start)
	err = ix.Store.PutSource(ctx, store.Source{Name: src.Name, Kind: src.Kind(), Version: snap.Version, Indexed: time.Now(),
		Error: rep.EmbedError, Changed: rep.Changed, Embedded: rep.Embedded, Skipped: rep.Skipped})
	ix.progress(Progress{Source: src.Name, Phase: "done", Files: len(snap.Files), TotalFiles: len(snap.Files), Chunks: rep.Chunks,
		Embedded: rep.Embedded, Skipped: len(rep.Skipped), LastSkipped: p.LastSkipped})
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

// retryOnce says whether a file skipped for its deadline is parsed once
// more: on a busy machine a good file can hit it, so each process tries
// such a file once again; a file that loops costs one deadline per start.
func (ix *Indexer) retryOnce(f store.File) bool {
	if !strings.HasPrefix(f.Note, timeoutNote) {
		return false
	}
	ix.locksMu.Lock()
	defer ix.locksMu.Unlock()
	return !ix.retried[f.Hash]
}

func (ix *Indexer) markRetried(hash string) {
	ix.locksMu.Lock()
	defer ix.locksMu.Unlock()
	if ix.retried == nil {
		ix.retried = map[string]bool{}
	}
	ix.retried[hash] = true
}

// timeoutNote starts the note of a file past its parse deadline.
const timeoutNote = "parse took longer than"

// noteOf is why a file was skipped, as stored and shown: masked (a
// parser's error may quote the file) and short.
func (ix *Indexer) noteOf(err error) string {
	n := ix.mask(err.Error())
	if len(n) > 300 {
		n = strings.ToValidUTF8(n[:300], "") + "…"
	}
	return n
}

func (ix *Indexer) mask(s string) string {
	m, _ := ix.Masker.Text(s)
	return m
}

// chunks parses, masks and splits one file. The text is masked whole
// before it is parsed (a secret in the source text goes before any
// reshaping), the sections are masked again as one document before they
// are split (a PDF's text only exists after parsing), and each chunk
// once more on its own.
func (ix *Indexer) chunks(ctx context.Context, sourceName, kind string, f source.File) ([]store.Chunk, error) {
	data := f.Data
	if kind != parse.PDF {
		data = []byte(ix.mask(string(data)))
	}
	sections, err := ix.parser().Parse(ctx, kind, f.Path, data)
	if err != nil {
		return nil, err
	}
	sections = parse.Finish(kind, sections, ix.mask)
	pieces := chunk.Split(sections, ix.Chunk)
	maxChunks := ix.MaxChunks
	if maxChunks <= 0 {
		maxChunks = DefaultMaxChunks
	}
	if len(pieces) > maxChunks {
		return nil, &parse.LimitError{Reason: fmt.Sprintf("more than %d chunks", maxChunks)}
	}
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
