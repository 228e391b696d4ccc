package docs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	ollamaapi "github.com/ollama/ollama/api"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// BenchmarkDocsSearch: docs_search through MCP over HTTP on the e2e
// corpus, keyword and hybrid (hybrid embeds the query with the real
// Ollama), beside the embedding request alone made directly with
// Ollama's client: hybrid's cost is about that request plus keyword.
func BenchmarkDocsSearch(b *testing.B) {
	s := harness.Connect(b, &mcp.StreamableClientTransport{Endpoint: docsURL + "/mcp", HTTPClient: harness.HTTPClient(serverToken)})
	// The start-up indexing must be over, or its embedding competes.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "docs_sources"})
		if err == nil && strings.Count(fmt.Sprint(res.StructuredContent), "version:") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the sources were not indexed within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	call := func(mode string) func() error {
		return func() error {
			res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "docs_search",
				Arguments: map[string]any{"query": "restore the orders database to a point in time", "mode": mode, "k": 5}})
			if err == nil && res.IsError {
				err = fmt.Errorf("tool error")
			}
			return err
		}
	}
	b.Run("keyword", func(b *testing.B) { harness.Measure(b, call("keyword")) })
	b.Run("hybrid", func(b *testing.B) { harness.Measure(b, call("hybrid")) })
	b.Run("direct-embed", func(b *testing.B) {
		u, _ := parseURL(ollama.URL)
		c := ollamaapi.NewClient(u, http.DefaultClient)
		harness.Measure(b, func() error {
			_, err := c.Embed(context.Background(), &ollamaapi.EmbedRequest{Model: embedModel, Input: "restore the orders database to a point in time"})
			return err
		})
	})
}

// BenchmarkIndexWithOllama: `mcp-docs index` of the corpus folder copied
// n times into a fresh index, embedding with the real Ollama (the tiny
// model: far faster than a real embedding model, so this is the
// pipeline's overhead around Ollama, not a prediction for
// nomic-embed-text). Reports chunks per second.
func BenchmarkIndexWithOllama(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "corpus")
	for i := 0; i < 20; i++ {
		// Distinct text per copy, so every chunk needs its own vector.
		err := filepath.Walk(corpus, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !strings.HasSuffix(p, ".md") {
				return err
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(corpus, p)
			dst := filepath.Join(src, fmt.Sprintf("copy%02d", i), rel)
			os.MkdirAll(filepath.Dir(dst), 0o755)
			return os.WriteFile(dst, []byte(fmt.Sprintf("%s\n\nCopy %d.\n", raw, i)), 0o644)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "sources.yaml")
	os.WriteFile(cfg, []byte("sources:\n  - name: bench\n    path: "+src+"\n"), 0o600)
	var chunks float64
	var took time.Duration
	for i := 0; b.Loop(); i++ {
		db := filepath.Join(dir, fmt.Sprintf("bench-%d.db", i))
		start := time.Now()
		out, err := exec.Command(binary, "index", "--config", cfg, "--db", db, "--cache-dir", dir, "--embed-model", embedModel,
			"--ollama-url", ollama.URL, "--json").Output()
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		var reps []map[string]any
		json.Unmarshal(out, &reps)
		if len(reps) != 1 || reps[0]["embed_error"] != nil {
			b.Fatalf("index: %s", out)
		}
		chunks += reps[0]["chunks"].(float64)
	}
	b.ReportMetric(chunks/took.Seconds(), "chunks/s")
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
