package tools

import (
	"path/filepath"
	"testing"

	"github.com/opsmcp/opsmcp/shared/toollist/toollisttest"
)

// TestToolsGolden: the tools/list a client sees is
// testdata/tools.golden.json byte for byte; a change fails here until the
// file is updated with -update in the same commit (README: Upgrade policy).
func TestToolsGolden(t *testing.T) {
	toollisttest.Golden(t, "mcp-kubernetes", "./mcp-kubernetes/internal/tools", (&Server{}).Tools(), filepath.Join("testdata", "tools.golden.json"))
}
