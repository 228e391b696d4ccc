package index_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/chunk"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/embed"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/embed/embedtest"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/index"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/source"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/shared/mask"
)

// benchCorpus writes files runbooks of 6 sections of ~400 words each
// (about 2 chunks per section at the default sizes).
func benchCorpus(b *testing.B, files int) string {
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	words := strings.Fields("pod node restart ollama gpu mesh wireguard failover bridge nginx certificate database backup restore drain cordon kernel flannel probe memory limit namespace helm chart terraform pipeline flux reconcile alert runbook incident timeout retry queue model embed")
	for f := 0; f < files; f++ {
		var sb strings.Builder
		fmt.Fprintf(&sb, "# Runbook %d\n\n", f)
		for s := 0; s < 6; s++ {
			fmt.Fprintf(&sb, "## Step %d\n\n", s)
			for w := 0; w < 400; w++ {
				sb.WriteString(words[r.IntN(len(words))])
				if w%15 == 14 {
					sb.WriteString(".\n")
				} else {
					sb.WriteByte(' ')
				}
			}
			sb.WriteString("\n\n")
		}
		p := filepath.Join(dir, fmt.Sprintf("d%02d", f%50), fmt.Sprintf("runbook-%d.md", f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkIndex: a full first index of 500 files into an empty store:
// read, parse, chunk, mask, write (FTS5 included), and embed with no
// model, or with the in-process test embedder (its cost is near zero:
// the figure is the pipeline's own ceiling; real models are measured in
// e2e/docs). Reports chunks per second.
func BenchmarkIndex(b *testing.B) {
	corpus := benchCorpus(b, 500)
	for _, c := range []struct {
		name string
		emb  embed.Embedder
	}{{"no-embedding", nil}, {"test-embedder", &embedtest.Embedder{Dim: 768}}} {
		b.Run(c.name, func(b *testing.B) {
			var chunks int
			var took time.Duration
			for b.Loop() {
				dir := b.TempDir()
				st, err := store.OpenSQLite(filepath.Join(dir, "docs.db"))
				if err != nil {
					b.Fatal(err)
				}
				ix := &index.Indexer{Store: st, Reader: &source.Reader{CacheDir: dir}, Embedder: c.emb, Masker: mask.New([]byte("k")), Chunk: chunk.Options{}}
				start := time.Now()
				rep, err := ix.Index(context.Background(), source.Source{Name: "bench", Path: corpus})
				if err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
				chunks += rep.Chunks
				st.Close()
			}
			b.ReportMetric(float64(chunks)/took.Seconds(), "chunks/s")
		})
	}
}
