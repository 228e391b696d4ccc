package index_test

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/chunk"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/index"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse/pdftest"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/source"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/shared/mask"
)

func newIndexer(t *testing.T, dir string) (*index.Indexer, *store.SQLite) {
	st, err := store.OpenSQLite(filepath.Join(dir, "docs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	key, err := st.MaskKey(context.Background())
	require.NoError(t, err)
	return &index.Indexer{Store: st, Reader: &source.Reader{CacheDir: dir}, Masker: mask.New(key),
		Chunk: chunk.Options{MinTokens: 50, MaxTokens: 200, OverlapTokens: 20}}, st
}

// pdfData reads one of the parse package's looping PDFs (issue 23).
func pdfData(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "parse", "testdata", name))
	require.NoError(t, err)
	return b
}

// TestLoopingPDFsAreSkipped: the two PDFs that looped for ever are
// skipped at once, reported in the report, in the progress and in the
// source's record, the other files are indexed, and the next run does not
// parse them again while they are unchanged.
func TestLoopingPDFsAreSkipped(t *testing.T) {
	dir := t.TempDir()
	docs := filepath.Join(dir, "docs")
	write(t, docs, "manuals/loop-kids.pdf", string(pdfData(t, "loop-kids.pdf")))
	write(t, docs, "manuals/count-huge.pdf", string(pdfData(t, "count-huge.pdf")))
	write(t, docs, "manuals/good.pdf", string(pdfData(t, "runbook.pdf")))
	write(t, docs, "runbooks/failover.md", "# Failover\n\n"+section("Detect", "alpha"))
	ix, st := newIndexer(t, dir)
	var parses atomic.Int32
	ix.Parser = &parse.InProcess{Limits: parse.Limits{Timeout: 3 * time.Second}, Func: func(kind, name string, data []byte) ([]parse.Section, error) {
		parses.Add(1)
		return parse.Parse(kind, name, data)
	}}
	var last index.Progress
	ix.Progress = func(p index.Progress) { last = p }
	ctx := context.Background()
	src := source.Source{Name: "docs", Path: docs}
	start := time.Now()
	rep, err := ix.Index(ctx, src)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 3*time.Second, "no file waited for the deadline")
	assert.Equal(t, 4, rep.Changed)
	require.Len(t, rep.Skipped, 2)
	assert.Contains(t, strings.Join(rep.Skipped, "\n"), "manuals/loop-kids.pdf: pdf: page tree loops")
	assert.Contains(t, strings.Join(rep.Skipped, "\n"), "manuals/count-huge.pdf: pdf: /Count 4000000000000")
	assert.Equal(t, 2, last.Skipped, "progress counts the skips")
	h, err := st.Keyword(ctx, "alpha", store.Filter{}, 5)
	require.NoError(t, err)
	assert.NotEmpty(t, h, "the markdown is indexed")
	h, err = st.Keyword(ctx, "bridge", store.Filter{Kind: "pdf"}, 5)
	require.NoError(t, err)
	assert.NotEmpty(t, h, "the good PDF is indexed")
	srcs, err := st.Sources(ctx)
	require.NoError(t, err)
	require.Len(t, srcs, 1)
	assert.Equal(t, rep.Skipped, srcs[0].Skipped, "docs_sources reports them")

	parses.Store(0)
	rep, err = ix.Index(ctx, src)
	require.NoError(t, err)
	assert.Zero(t, parses.Load(), "unchanged files, skipped or not, are not parsed again")
	assert.Len(t, rep.Skipped, 2, "and are still reported")
}

// TestRunawayParseIsSkipped: a parse that never returns is left at its
// deadline; the file is skipped and reported, the others are indexed, and
// the run holds no lock a second run would wait on.
func TestRunawayParseIsSkipped(t *testing.T) {
	dir := t.TempDir()
	docs := filepath.Join(dir, "docs")
	write(t, docs, "a.md", "# A\n\n"+section("One", "alpha"))
	write(t, docs, "stuck.md", "# Stuck\n\nnever parsed\n")
	write(t, docs, "z.md", "# Z\n\n"+section("Two", "zulu"))
	ix, st := newIndexer(t, dir)
	release := make(chan struct{})
	defer close(release)
	var stuck atomic.Int32
	runaway := &parse.InProcess{Limits: parse.Limits{Timeout: 300 * time.Millisecond}, Func: func(kind, name string, data []byte) ([]parse.Section, error) {
		if name == "stuck.md" {
			stuck.Add(1)
			<-release
		}
		return parse.Parse(kind, name, data)
	}}
	ix.Parser = runaway
	ctx := context.Background()
	rep, err := ix.Index(ctx, source.Source{Name: "docs", Path: docs})
	require.NoError(t, err)
	assert.Equal(t, []string{"stuck.md: parse took longer than 300ms"}, rep.Skipped)
	assert.Empty(t, rep.Failed, "a bound, not a parse error")
	for _, w := range []string{"alpha", "zulu"} {
		h, err := st.Keyword(ctx, w, store.Filter{}, 5)
		require.NoError(t, err)
		assert.NotEmpty(t, h, w)
	}
	done := make(chan struct{})
	go func() {
		ix.Index(ctx, source.Source{Name: "docs", Path: docs})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a second run waited on the abandoned parse")
	}
	assert.EqualValues(t, 1, stuck.Load(), "this process does not try it again")

	// A new process (a restart) tries it once more: on a busy machine a
	// good file can hit the deadline.
	again := &index.Indexer{Store: st, Reader: ix.Reader, Masker: ix.Masker, Chunk: ix.Chunk, Parser: runaway}
	for i := 0; i < 2; i++ {
		rep, err = again.Index(ctx, source.Source{Name: "docs", Path: docs})
		require.NoError(t, err)
		assert.Equal(t, []string{"stuck.md: parse took longer than 300ms"}, rep.Skipped)
	}
	assert.EqualValues(t, 2, stuck.Load(), "once per process")
}

// pemKey is a private key block of 50 body lines.
func pemKey(t *testing.T) (string, []string) {
	raw := make([]byte, 50*48)
	_, err := rand.Read(raw)
	require.NoError(t, err)
	block := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: raw}))
	var body []string
	for _, l := range strings.Split(block, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			body = append(body, l)
		}
	}
	require.Len(t, body, 50)
	return block, body
}

// TestPEMKeyNeverStored (issue 13): a 50-line private key in a runbook
// long enough to be split into many chunks, and one across two pages of
// a PDF, leave no line of the key in any chunk or in any byte of the
// index file and its WAL.
func TestPEMKeyNeverStored(t *testing.T) {
	dir := t.TempDir()
	docs := filepath.Join(dir, "docs")
	block, body := pemKey(t)
	write(t, docs, "runbooks/tls.md", "# TLS\n\n"+section("Before", "renew")+"## The key\n\nPaste this into the vault:\n\n"+block+"\n"+section("After", "reload"))
	half := len(body) / 2
	page1 := append([]string{"TLS key, part one", "-----BEGIN RSA PRIVATE KEY-----"}, body[:half]...)
	page2 := append(append([]string{}, body[half:]...), "-----END RSA PRIVATE KEY-----", "Reload nginx afterwards")
	write(t, docs, "manuals/tls.pdf", string(pdftest.MinimalPDF([][]string{page1, page2})))
	yamlKey := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\nstringData:\n  tls.key: |\n    " + strings.ReplaceAll(strings.TrimSpace(block), "\n", "\n    ") + "\n"
	write(t, docs, "k8s/tls.yaml", yamlKey)
	ix, st := newIndexer(t, dir)
	ctx := context.Background()
	rep, err := ix.Index(ctx, source.Source{Name: "docs", Path: docs})
	require.NoError(t, err)
	require.Empty(t, rep.Skipped)
	require.Greater(t, rep.Chunks, 4, "the runbook is split")
	var all strings.Builder
	for _, p := range []string{"runbooks/tls.md", "manuals/tls.pdf", "k8s/tls.yaml"} {
		cs, err := st.Chunks(ctx, "docs", p, 0, 1000)
		require.NoError(t, err)
		require.NotEmpty(t, cs, p)
		for _, c := range cs {
			all.WriteString(c.Text + "\n" + strings.Join(c.Heading, "\n") + "\n")
		}
	}
	assert.Contains(t, all.String(), "[MASKED:private-key:")
	assert.Contains(t, all.String(), "Reload nginx afterwards", "text after the key is kept")
	leaked := 0
	for _, l := range body {
		if strings.Contains(all.String(), l) {
			leaked++
		}
	}
	assert.Zero(t, leaked, "lines of the key in chunks")
	st.Close()
	for _, f := range []string{"docs.db", "docs.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		for i, l := range body {
			// Not NotContains: it would print the whole file.
			assert.False(t, strings.Contains(string(raw), l), "%s holds body line %d of the key", f, i+1)
		}
	}
}
