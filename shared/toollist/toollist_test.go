package toollist

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsmcp/opsmcp/shared/tool"
)

type echoIn struct {
	Text string `json:"text" jsonschema:"what to echo"`
}

func echoTools(desc string) []tool.Tool {
	return []tool.Tool{tool.New[echoIn, any]("echo", "Echo", desc, func(ctx context.Context, c *tool.Call, in echoIn) (*tool.Result, error) {
		return &tool.Result{Text: in.Text}, nil
	})}
}

// TestVersionNamesTheSchema: the version's build metadata is the rendered
// tools/list's id, and it changes with a tool's description.
func TestVersionNamesTheSchema(t *testing.T) {
	a, err := Render("srv", echoTools("says it back"), 1024)
	if err != nil {
		t.Fatal(err)
	}
	var listed []map[string]any
	if err := json.Unmarshal(a, &listed); err != nil || len(listed) != 1 || listed[0]["name"] != "echo" || !strings.Contains(string(a), `"text"`) {
		t.Fatalf("rendered tools/list is not the echo tool with its input schema: %s (%v)", a, err)
	}
	if v := Version("1.2.3", "srv", echoTools("says it back"), 1024); v != "1.2.3+tools."+ID(a) {
		t.Fatalf("Version = %q, want 1.2.3+tools.%s", v, ID(a))
	}
	if Version("1.2.3", "srv", echoTools("says it back, louder"), 1024) == Version("1.2.3", "srv", echoTools("says it back"), 1024) {
		t.Fatal("a changed description left the version as it was")
	}
}
