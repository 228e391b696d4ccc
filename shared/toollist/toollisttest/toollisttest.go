// Package toollisttest checks a server's tools/list against its golden
// file, for each server's tools package tests.
package toollisttest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
	"github.com/opsmcp/opsmcp/shared/toollist"
)

var update = flag.Bool("update", false, "rewrite the golden tools/list files from the tool tables")

// Golden fails t unless server's tools/list, at the default
// --max-output-bytes, is the file at path byte for byte. A change to a
// tool's name, title, description, schema or annotations fails here until
// the golden file is updated in the same commit (go test <pkg> -run
// TestToolsGolden -update), so a schema change is always seen in review
// (README: Upgrade policy). pkg is the package path printed in that
// command.
func Golden(t *testing.T, server, pkg string, tools []tool.Tool, path string) {
	t.Helper()
	got, err := toollist.Render(server, tools, serve.DefaultMaxOutputBytes)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: create it with go test %s -run TestToolsGolden -update", err, pkg)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s's tools/list differs from %s (a tool's name, description, schema or annotations changed).\n"+
			"If the change is meant, run: go test %s -run TestToolsGolden -update\n"+
			"and commit the golden file with the change (README: Upgrade policy). Now:\n%s", server, path, pkg, firstDiff(want, got))
	}
	t.Logf("tools schema %s", toollist.ID(got))
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
