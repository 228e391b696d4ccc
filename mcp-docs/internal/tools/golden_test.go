package tools

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
)

var update = flag.Bool("update", false, "rewrite testdata/tools.golden.json from the tool table")

// TestToolsGolden: the tools/list a client sees (names, titles,
// descriptions, input and output schemas, annotations, at the default
// --max-output-bytes) is testdata/tools.golden.json, byte for byte. A
// change to any of them fails here until the golden file is updated in the
// same commit, so a schema change is always visible in review (README:
// Upgrade policy).
func TestToolsGolden(t *testing.T) {
	b := &tool.Binder{Server: "mcp-docs", Tools: (&Server{}).Tools(), Masker: mask.New(nil), Audit: audit.New(&bytes.Buffer{}),
		Metrics: metrics.New("mcp-docs"), Policy: policy.OpenPolicy(), MaxBytes: serve.DefaultMaxOutputBytes}
	srv := mcp.NewServer(&mcp.Implementation{Name: "mcp-docs"}, nil)
	b.Bind(srv, auth.Principal{User: "golden"}, "golden")
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "golden"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var listed []*mcp.Tool
	for tl, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		listed = append(listed, tl)
	}
	got, err := json.MarshalIndent(listed, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "tools.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: create it with go test ./mcp-docs/internal/tools -run TestToolsGolden -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("mcp-docs's tools/list differs from %s (a tool's name, description, schema or annotations changed).\n"+
			"If the change is meant, run: go test ./mcp-docs/internal/tools -run TestToolsGolden -update\n"+
			"and commit the golden file with the change (README: Upgrade policy). Now:\n%s", path, firstDiff(want, got))
	}
	t.Logf("tools schema sha256:%x", sha256.Sum256(got))
}

// firstDiff shows where two renderings part, with a little context.
func firstDiff(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("golden: …%s…\nnow:    …%s…", want[from:min(len(want), i+200)], got[from:min(len(got), i+200)])
}
