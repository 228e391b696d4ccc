// Package store keeps the index: chunks with their citations, keyword
// search (BM25) and dense vectors. Two stores share one interface and one
// conformance suite (storetest): SQLite, embedded and a single file, the
// default; and Qdrant, for scale.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Chunk is one indexed piece of a document, already masked.
type Chunk struct {
	ID      string   `json:"id"`
	Source  string   `json:"source"`
	Path    string   `json:"path"`
	Kind    string   `json:"kind"`
	Version string   `json:"version"`
	Heading []string `json:"heading,omitempty"`
	Page    int      `json:"page,omitempty"`
	Ordinal int      `json:"ordinal"`
	Text    string   `json:"text"`
	// Hash is the SHA-256 of Text: the key of its embedding, so an
	// unchanged chunk is never embedded again.
	Hash string `json:"hash"`
}

// Citation is path#heading@version (page for PDFs).
func (c Chunk) Citation() string {
	var b strings.Builder
	b.WriteString(c.Path)
	if len(c.Heading) > 0 {
		b.WriteString("#" + strings.Join(c.Heading, " > "))
	}
	if c.Page > 0 {
		fmt.Fprintf(&b, " (page %d)", c.Page)
	}
	b.WriteString("@" + c.Version)
	return b.String()
}

// ChunkID is the stable id of a file's n-th chunk.
func ChunkID(source, path string, ordinal int) string {
	return fmt.Sprintf("%016x", PointID(source, path, ordinal))
}

// PointID is ChunkID as a number (Qdrant's point ids are numbers or UUIDs).
func PointID(source, path string, ordinal int) uint64 {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d", source, path, ordinal)
	return binary.BigEndian.Uint64(h.Sum(nil)[:8]) >> 1 // positive as int64 too
}

// TextHash is the hash a chunk's embedding is keyed by.
func TextHash(text string) string {
	s := sha256.Sum256([]byte(text))
	return hex.EncodeToString(s[:])
}

// File is what the index knows of one file of a source.
type File struct {
	Source  string
	Path    string
	Kind    string
	Version string
	// Hash is the SHA-256 of the file's bytes.
	Hash    string
	Chunks  int
	Indexed time.Time
	// Note says why the file has no chunks (it was skipped: too slow or
	// too big to parse, or not parsable), or is empty.
	Note string
}

// Source is an indexed source and its freshness.
type Source struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Version string    `json:"version"`
	Files   int       `json:"files"`
	Chunks  int       `json:"chunks"`
	Indexed time.Time `json:"indexed"`
	Error   string    `json:"error,omitempty"`
	// Changed and Embedded are the last run's changed files and newly
	// embedded chunks.
	Changed  int `json:"changed"`
	Embedded int `json:"embedded"`
	// Skipped lists the files the last run left out, each "path: why".
	Skipped []string `json:"skipped,omitempty"`
}

// Pending is a chunk text waiting for its vector.
type Pending struct {
	Hash string
	Text string
}

// Filter narrows a search; empty fields match everything. Path is a glob
// in which * also matches "/" (runbooks/* is everything under runbooks).
type Filter struct {
	Source  string
	Path    string
	Kind    string
	Version string
}

// Hit is a search result.
type Hit struct {
	Chunk
	Score float64 `json:"score"`
}

// ErrNotFound is returned for an unknown chunk id.
var ErrNotFound = errors.New("not found")

// Store is an index store.
type Store interface {
	// Files lists a source's files as last indexed.
	Files(ctx context.Context, source string) (map[string]File, error)
	// PutFile replaces a file's chunks (and its record) in one step.
	PutFile(ctx context.Context, f File, chunks []Chunk) error
	// DeleteFile drops a file and its chunks.
	DeleteFile(ctx context.Context, source, path string) error
	// SetVersion moves an unchanged file to a new source version.
	SetVersion(ctx context.Context, source, path, version string) error
	// Unembedded returns up to limit chunk texts (one per hash) that have
	// no vector of model yet.
	Unembedded(ctx context.Context, model string, limit int) ([]Pending, error)
	// PutVectors stores vectors by chunk hash.
	PutVectors(ctx context.Context, model string, vecs map[string][]float32) error
	// PutSource records a source's version, freshness or error.
	PutSource(ctx context.Context, s Source) error
	// Sources lists the sources with their file and chunk counts.
	Sources(ctx context.Context) ([]Source, error)
	// Keyword is BM25 over chunk text, headings and paths, best first.
	Keyword(ctx context.Context, query string, f Filter, k int) ([]Hit, error)
	// Dense is cosine similarity to vec among chunks embedded by model.
	Dense(ctx context.Context, model string, vec []float32, f Filter, k int) ([]Hit, error)
	// Get returns a chunk by id.
	Get(ctx context.Context, id string) (Chunk, error)
	// Chunks returns a file's chunks with ordinals in [from, to], in order.
	Chunks(ctx context.Context, source, path string, from, to int) ([]Chunk, error)
	// Close releases the store.
	Close() error
}

// globRE turns a Filter.Path glob into a regexp: * matches any run of
// characters ("/" too), **/ any run of folders or none, ? one character,
// [..] a class.
func globRE(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			if strings.HasPrefix(glob[i:], "**/") {
				b.WriteString("(?:.*/)?")
				i += 2
				continue
			}
			b.WriteString(".*")
			for i+1 < len(glob) && glob[i+1] == '*' {
				i++
			}
		case '?':
			b.WriteString(".")
		case '[':
			j := strings.IndexByte(glob[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("path filter %q: unclosed [", glob)
			}
			b.WriteString(glob[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// Matcher returns a predicate for f over chunk metadata.
func (f Filter) Matcher() (func(source, path, kind, version string) bool, error) {
	var re *regexp.Regexp
	if f.Path != "" {
		var err error
		if re, err = globRE(f.Path); err != nil {
			return nil, err
		}
	}
	return func(source, path, kind, version string) bool {
		return (f.Source == "" || f.Source == source) && (f.Kind == "" || f.Kind == kind) &&
			(f.Version == "" || f.Version == version || strings.HasPrefix(version, f.Version)) &&
			(re == nil || re.MatchString(path))
	}, nil
}
