package ops_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestVersionNamesTheGoldenToolsSchema: every server's --version carries
// the id of the tools/list its golden file holds (the first 12 hex digits
// of the file's sha256), so a schema change shows in the version line a
// client and an operator see.
func TestVersionNamesTheGoldenToolsSchema(t *testing.T) {
	for _, name := range []string{"mcp-kubernetes", "mcp-gitea", "mcp-swarm", "mcp-logs", "mcp-docs"} {
		t.Run(name, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join(harness.Root(), name, "internal", "tools", "testdata", "tools.golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%s dev+tools.%x", name, sha256.Sum256(golden))[:len(name)+len(" dev+tools.")+12]
			out, err := exec.Command(binary(t, name, name), "--version").Output()
			if err != nil {
				t.Fatalf("%s --version: %v", name, err)
			}
			if got := strings.TrimSpace(string(out)); got != want {
				t.Fatalf("%s --version = %q, want %q (the golden tools/list's id)", name, got, want)
			}
		})
	}
}
