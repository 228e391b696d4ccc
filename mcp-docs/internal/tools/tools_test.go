package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/search"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/tool"
)

func fixture(t *testing.T) *Server {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "docs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, src := range []string{"public", "secops"} {
		var cs []store.Chunk
		for i, text := range []string{"rotate the vault unseal keys", "incident response for leaked keys", "keys are kept offline"} {
			cs = append(cs, store.Chunk{ID: store.ChunkID(src, "runbook.md", i), Source: src, Path: "runbook.md", Kind: "markdown",
				Version: "v1", Heading: []string{"Keys"}, Ordinal: i, Text: text, Hash: store.TextHash(text)})
		}
		require.NoError(t, st.PutFile(ctx, store.File{Source: src, Path: "runbook.md", Kind: "markdown", Version: "v1", Hash: src}, cs))
		require.NoError(t, st.PutSource(ctx, store.Source{Name: src, Kind: "folder", Version: "v1", Indexed: time.Now()}))
	}
	return &Server{Store: st, Searcher: &search.Searcher{Store: st}}
}

func call(t *testing.T, s *Server, grant *policy.Grant, name string, args map[string]any) (map[string]any, error) {
	t.Helper()
	var tl tool.Tool
	for _, x := range s.Tools() {
		if x.Name == name {
			tl = x
		}
	}
	raw, _ := json.Marshal(args)
	res, err := tl.Handler(context.Background(), &tool.Call{Tool: name, Grant: grant, Args: raw})
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(res.Data)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m, nil
}

func sourcesOf(m map[string]any, key string) []string {
	var out []string
	items, _ := m["items"].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any)[key].(string))
	}
	return out
}

// TestSourcesScope: a role whose policy narrows "sources" sees only those
// sources in every tool; without a policy, everything.
func TestSourcesScope(t *testing.T) {
	s := fixture(t)
	pol, err := policy.Parse([]byte("roles:\n  dev:\n    tools: [\"docs_*\"]\n    scopes:\n      sources: [\"public\"]\n"))
	require.NoError(t, err)
	dev := pol.For([]string{"dev"})

	m, err := call(t, s, dev, "docs_search", map[string]any{"query": "keys", "k": 10})
	require.NoError(t, err)
	assert.Equal(t, []string{"public", "public", "public"}, sourcesOf(m, "source"))
	_, err = call(t, s, dev, "docs_search", map[string]any{"query": "keys", "source": "secops"})
	assert.True(t, errors.Is(err, tool.ErrDenied), "%v", err)

	m, err = call(t, s, dev, "docs_sources", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"public"}, sourcesOf(m, "name"))

	_, err = call(t, s, dev, "docs_get", map[string]any{"id": store.ChunkID("secops", "runbook.md", 0)})
	assert.True(t, errors.Is(err, tool.ErrArgs), "a secops chunk does not exist for dev: %v", err)
	m, err = call(t, s, dev, "docs_get", map[string]any{"id": store.ChunkID("public", "runbook.md", 1), "neighbours": 1})
	require.NoError(t, err)
	assert.Len(t, m["items"], 3)

	m, err = call(t, s, nil, "docs_search", map[string]any{"query": "keys", "k": 10})
	require.NoError(t, err)
	assert.Len(t, m["items"], 6, "no policy: every source")
}

func TestSearchArguments(t *testing.T) {
	s := fixture(t)
	for args, want := range map[string]string{
		`{"query":""}`:                 "query is required",
		`{"query":"x","k":99}`:         "use 1 to 50",
		`{"query":"x","kind":"excel"}`: "use one of markdown",
		`{"query":"x","mode":"fuzzy"}`: "use hybrid, keyword or dense",
		`{"query":"x","path":"[a"}`:    "is not a glob",
	} {
		var m map[string]any
		json.Unmarshal([]byte(args), &m)
		_, err := call(t, s, nil, "docs_search", m)
		require.Error(t, err, args)
		assert.True(t, errors.Is(err, tool.ErrArgs), args)
		assert.Contains(t, err.Error(), want, args)
	}
}

// TestSourcesSkipped: docs_sources names the files the last run skipped,
// the first 20 of them, and counts them all.
func TestSourcesSkipped(t *testing.T) {
	s := fixture(t)
	var skipped []string
	for i := 0; i < 25; i++ {
		skipped = append(skipped, fmt.Sprintf("manuals/m%02d.pdf: pdf: page tree loops (object 2 reached twice)", i))
	}
	require.NoError(t, s.Store.PutSource(context.Background(), store.Source{Name: "public", Kind: "folder", Version: "v2", Indexed: time.Now(), Skipped: skipped}))
	m, err := call(t, s, nil, "docs_sources", nil)
	require.NoError(t, err)
	items := m["items"].([]any)
	pub := items[0].(map[string]any)
	require.Equal(t, "public", pub["name"])
	assert.Equal(t, 25.0, pub["skipped"])
	files := pub["skipped_files"].([]any)
	assert.Len(t, files, 20)
	assert.Equal(t, skipped[0], files[0])
	assert.Nil(t, items[1].(map[string]any)["skipped_files"], "secops skipped nothing")
}
