package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsmcp/opsmcp/shared/toollist"
)

// TestVersionRecordsToolsSchema: --version names the tools schema this
// build serves, and it is the golden file's (TestToolsGolden keeps that
// file equal to tools/list), so a schema change changes the version line.
func TestVersionRecordsToolsSchema(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "..", "internal", "tools", "testdata", "tools.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := fullVersion()
	want := "+tools." + toollist.ID(golden)
	if !strings.HasSuffix(got, want) {
		t.Fatalf("--version says %q; the golden tools/list is %s", got, want)
	}
}
