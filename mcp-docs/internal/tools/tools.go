// Package tools declares mcp-docs' tools: one table, each entry a name, a
// description, schemas from its input and output types, and a handler
// that parses input, asks the index, shapes output. The tools only read:
// indexing is never done on a model's request.
package tools

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/search"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Server holds what the handlers need.
type Server struct {
	Store    store.Store
	Searcher *search.Searcher
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// Tools is the table of mcp-docs' tools.
func (s *Server) Tools() []tool.Tool {
	return []tool.Tool{
		tool.ClosedWorld(tool.New[SearchInput, SearchOutput]("docs_search", "Search the team's docs",
			"Searches the indexed runbooks, ADRs, manifests, charts, Terraform and pipelines: keyword (BM25) and semantic (embeddings) results fused, or keyword alone when no embedding model answers; mode says which. Each hit has a citation path#heading@version, its score and text. Filter by source, path glob (runbooks/*), kind ("+strings.Join(parse.Kinds, ", ")+") or version (a commit prefix). Use docs_get with a hit's id for its neighbours or whole section. Secrets are masked.",
			s.search)),
		tool.ClosedWorld(tool.New[GetInput, GetOutput]("docs_get", "Read a chunk, its neighbours or its section",
			"Returns one chunk by id (from docs_search) with up to 3 neighbouring chunks on each side, or, with section, every chunk of the file under the same heading, in order. Bounded; pass the cursor back to continue.",
			s.get)),
		tool.ClosedWorld(tool.New[SourcesInput, SourcesOutput]("docs_sources", "List the indexed sources",
			"The indexed sources: kind (git or folder), version (commit or content hash), files, chunks, when last indexed and how long ago, what the last run changed and embedded, the files it skipped and why (too big, too slow or unparsable, not a regular file), and any error.",
			s.sources)),
	}
}

// SearchInput is docs_search's input.
type SearchInput struct {
	Query   string `json:"query" jsonschema:"what to look for, in words: e.g. how do we fail over Ollama to the secondary host"`
	K       int    `json:"k,omitempty" jsonschema:"how many hits (default 8, at most 50)"`
	Source  string `json:"source,omitempty" jsonschema:"only this source (see docs_sources)"`
	Path    string `json:"path,omitempty" jsonschema:"only paths matching this glob; * also matches /, e.g. runbooks/* or *.tf"`
	Kind    string `json:"kind,omitempty" jsonschema:"only this kind: markdown, asciidoc, text, pdf, manifest, helm, terraform or pipeline"`
	Version string `json:"version,omitempty" jsonschema:"only this version (a commit or its prefix)"`
	Mode    string `json:"mode,omitempty" jsonschema:"hybrid (default), keyword or dense"`
}

// Hit is one search result.
type Hit struct {
	ID       string  `json:"id"`
	Citation string  `json:"citation"`
	Source   string  `json:"source"`
	Path     string  `json:"path"`
	Heading  string  `json:"heading,omitempty"`
	Page     int     `json:"page,omitempty"`
	Version  string  `json:"version"`
	Kind     string  `json:"kind"`
	Score    float64 `json:"score"`
	Text     string  `json:"text"`
}

// SearchOutput is docs_search's result.
type SearchOutput struct {
	Mode  string `json:"mode" jsonschema:"hybrid or keyword (or dense when asked)"`
	Note  string `json:"note,omitempty" jsonschema:"why the search fell back to keyword"`
	Items []Hit  `json:"items"`
}

func (s *Server) search(ctx context.Context, c *tool.Call, in SearchInput) (*tool.Result, error) {
	if strings.TrimSpace(in.Query) == "" {
		return nil, tool.Argf("query is required: say what to look for in words")
	}
	if in.K == 0 {
		in.K = 8
	}
	if in.K < 1 || in.K > 50 {
		return nil, tool.Argf("k %d: use 1 to 50", in.K)
	}
	if in.Kind != "" && !slices.Contains(parse.Kinds, in.Kind) {
		return nil, tool.Argf("kind %q: use one of %s", in.Kind, strings.Join(parse.Kinds, ", "))
	}
	switch in.Mode {
	case "", search.Hybrid, search.Keyword, search.Dense:
	default:
		return nil, tool.Argf("mode %q: use hybrid, keyword or dense", in.Mode)
	}
	if in.Path != "" {
		if _, err := path.Match(strings.ReplaceAll(in.Path, "**", "*"), ""); err != nil {
			return nil, tool.Argf("path %q is not a glob: %v", in.Path, err)
		}
	}
	if in.Source != "" && !c.Allows("sources", in.Source) {
		return nil, tool.Deniedf("source %q is outside what your role may read (%s)", in.Source, c.Grant.Describe())
	}
	f := store.Filter{Source: in.Source, Path: in.Path, Kind: in.Kind, Version: in.Version}
	var res search.Result
	var err error
	if in.Source == "" && c.Scope("sources") != nil {
		res, err = s.searchInScope(ctx, c, in, f)
	} else {
		res, err = s.Searcher.Search(ctx, in.Query, f, in.K, in.Mode)
	}
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", in.Query, err)
	}
	out := SearchOutput{Mode: res.Mode, Note: res.Note, Items: make([]Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		// Every hit is checked again, whatever the search was asked.
		if len(out.Items) < in.K && c.Allows("sources", h.Source) {
			out.Items = append(out.Items, hit(h.Chunk, h.Score))
		}
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		var b strings.Builder
		fmt.Fprintf(&b, "mode: %v", d["mode"])
		if n, _ := d["note"].(string); n != "" {
			fmt.Fprintf(&b, " (%s)", n)
		}
		b.WriteString("\n")
		items, _ := d["items"].([]any)
		if len(items) == 0 {
			b.WriteString("no matching chunk; try other words, or fewer filters\n")
		}
		for i, it := range items {
			m, _ := it.(map[string]any)
			fmt.Fprintf(&b, "\n[%d] %v  (id %v, score %.4f)\n%v\n", i+1, m["citation"], m["id"], m["score"], m["text"])
		}
		return b.String()
	}}, nil
}

// searchInScope searches each source a role narrowed to some sources may
// read, and keeps the best k hits of them all. Searching every source and
// cutting to the role's afterwards made the number of hits it got tell
// how many chunks of the sources it may not read matched better.
func (s *Server) searchInScope(ctx context.Context, c *tool.Call, in SearchInput, f store.Filter) (search.Result, error) {
	srcs, err := s.Store.Sources(ctx)
	if err != nil {
		return search.Result{}, err
	}
	var out search.Result
	for _, src := range srcs {
		if !c.Allows("sources", src.Name) {
			continue
		}
		f.Source = src.Name
		res, err := s.Searcher.Search(ctx, in.Query, f, in.K, in.Mode)
		if err != nil {
			return search.Result{}, err
		}
		if out.Mode == "" || res.Note != "" {
			out.Mode, out.Note = res.Mode, res.Note
		}
		out.Hits = append(out.Hits, res.Hits...)
	}
	if out.Mode == "" {
		out.Mode = in.Mode
		if out.Mode == "" {
			out.Mode = search.Keyword
		}
	}
	sort.SliceStable(out.Hits, func(i, j int) bool { return out.Hits[i].Score > out.Hits[j].Score })
	out.Hits = out.Hits[:min(len(out.Hits), in.K)]
	return out, nil
}

func hit(c store.Chunk, score float64) Hit {
	return Hit{ID: c.ID, Citation: c.Citation(), Source: c.Source, Path: c.Path, Heading: strings.Join(c.Heading, " > "),
		Page: c.Page, Version: c.Version, Kind: c.Kind, Score: score, Text: c.Text}
}

// GetInput is docs_get's input.
type GetInput struct {
	ID         string `json:"id" jsonschema:"a chunk id from docs_search"`
	Neighbours int    `json:"neighbours,omitempty" jsonschema:"chunks to add on each side, 0 to 3 (default 1)"`
	Section    bool   `json:"section,omitempty" jsonschema:"return the whole section the chunk is in (every chunk of the file under its heading)"`
}

// GetOutput is docs_get's result: the chunks in document order.
type GetOutput struct {
	Citation string `json:"citation"`
	Items    []Hit  `json:"items"`
}

func (s *Server) get(ctx context.Context, c *tool.Call, in GetInput) (*tool.Result, error) {
	if in.ID == "" {
		return nil, tool.Argf("id is required: take it from a docs_search hit")
	}
	if in.Neighbours < 0 || in.Neighbours > 3 {
		return nil, tool.Argf("neighbours %d: use 0 to 3", in.Neighbours)
	}
	ch, err := s.Store.Get(ctx, in.ID)
	if err == nil && !c.Allows("sources", ch.Source) {
		err = store.ErrNotFound // a chunk the role may not read does not exist for it
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, tool.Argf("no chunk %s: ids change when a file is re-indexed; search again", in.ID)
	}
	if err != nil {
		return nil, err
	}
	var chunks []store.Chunk
	if in.Section {
		all, err := s.Store.Chunks(ctx, ch.Source, ch.Path, 0, 1<<30)
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			if under(o.Heading, ch.Heading) && o.Page == ch.Page {
				chunks = append(chunks, o)
			}
		}
	} else {
		n := in.Neighbours
		if n == 0 {
			n = 1
		}
		if chunks, err = s.Store.Chunks(ctx, ch.Source, ch.Path, ch.Ordinal-n, ch.Ordinal+n); err != nil {
			return nil, err
		}
	}
	out := GetOutput{Citation: ch.Citation(), Items: make([]Hit, 0, len(chunks))}
	for _, o := range chunks {
		out.Items = append(out.Items, hit(o, 0))
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%v\n", d["citation"])
		items, _ := d["items"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			fmt.Fprintf(&b, "\n--- %v (id %v)\n%v\n", m["citation"], m["id"], m["text"])
		}
		return b.String()
	}}, nil
}

// under: h is heading or below it.
func under(h, heading []string) bool {
	return len(h) >= len(heading) && slices.Equal(h[:len(heading)], heading)
}

// SourcesInput is docs_sources' input (none).
type SourcesInput struct{}

// SourceInfo is one indexed source.
type SourceInfo struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Version  string `json:"version"`
	Files    int    `json:"files"`
	Chunks   int    `json:"chunks"`
	Indexed  string `json:"indexed"`
	Age      string `json:"age"`
	Changed  int    `json:"changed"`
	Embedded int    `json:"embedded"`
	// Skipped is how many files the last run left out; SkippedFiles names
	// the first of them, each "path: why".
	Skipped      int      `json:"skipped,omitempty"`
	SkippedFiles []string `json:"skipped_files,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// maxSkippedShown caps the skipped files listed per source.
const maxSkippedShown = 20

// SourcesOutput is docs_sources' result.
type SourcesOutput struct {
	Items []SourceInfo `json:"items"`
}

func (s *Server) sources(ctx context.Context, c *tool.Call, in SourcesInput) (*tool.Result, error) {
	all, err := s.Store.Sources(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	out := SourcesOutput{Items: make([]SourceInfo, 0, len(all))}
	for _, src := range all {
		if !c.Allows("sources", src.Name) {
			continue
		}
		out.Items = append(out.Items, SourceInfo{Name: src.Name, Kind: src.Kind, Version: src.Version, Files: src.Files, Chunks: src.Chunks,
			Indexed: src.Indexed.UTC().Format(time.RFC3339), Age: now.Sub(src.Indexed).Round(time.Second).String(),
			Changed: src.Changed, Embedded: src.Embedded, Error: src.Error,
			Skipped: len(src.Skipped), SkippedFiles: src.Skipped[:min(len(src.Skipped), maxSkippedShown)]})
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		if items, _ := d["items"].([]any); len(items) == 0 {
			return "no source indexed yet: run mcp-docs index, or wait for mcp-docs serve's first run\n"
		}
		return tool.Rows(d, func(m map[string]any) string {
			line := fmt.Sprintf("%v (%v) @%v: %v files, %v chunks; indexed %v (%v ago), last run changed %v files, embedded %v chunks",
				m["name"], m["kind"], m["version"], m["files"], m["chunks"], m["indexed"], m["age"], m["changed"], m["embedded"])
			if n, _ := m["skipped"].(float64); n > 0 {
				line += fmt.Sprintf("; skipped %v files", n)
				files, _ := m["skipped_files"].([]any)
				for _, f := range files {
					line += fmt.Sprintf("\n  skipped %v", f)
				}
				if int(n) > len(files) {
					line += fmt.Sprintf("\n  … and %d more", int(n)-len(files))
				}
			}
			if e, _ := m["error"].(string); e != "" {
				line += "; error: " + e
			}
			return line
		})
	}}, nil
}
