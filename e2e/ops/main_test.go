// Package ops_test proves the operations side of opsmcp against real
// upstreams: the alert rules pass promtool, every query of the Grafana
// dashboard returns series from a real Prometheus scraping the servers and
// the orchestrator (driven against a real Ollama), and an mcp-docs backup
// restored onto a new path answers the same searches.
package ops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var (
	workDir string
	seen    harness.Recorder

	binOnce sync.Map // name -> *built
	ollOnce sync.Once
	oll     *harness.Ollama
	ollErr  error
)

type built struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "opsmcp-e2e-ops-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	if oll != nil {
		oll.Stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds one of the suite's commands once per run.
func binary(t testing.TB, module, name string) string {
	t.Helper()
	v, _ := binOnce.LoadOrStore(name, &built{})
	b := v.(*built)
	b.once.Do(func() { b.path, b.err = harness.BuildBinary(workDir, module, name) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Model names on the test's Ollama: a chat model and an embedding model,
// both tiny and random (they prove the plumbing, not the answers).
const (
	chatModel  = "tiny"
	embedModel = "tiny-embed"
)

// ollama starts the real Ollama (once) with the tiny models.
func ollama(t testing.TB) *harness.Ollama {
	t.Helper()
	ollOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if oll, ollErr = harness.StartOllama(ctx, filepath.Join(workDir, "o")); ollErr != nil {
			return
		}
		if ollErr = oll.CreateTiny(ctx, chatModel, true); ollErr != nil {
			return
		}
		ollErr = oll.CreateTiny(ctx, embedModel, false, "num_ctx 2048")
	})
	if ollErr != nil {
		t.Fatalf("ollama: %v", ollErr)
	}
	return oll
}
