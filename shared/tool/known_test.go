package tool

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/policy"
)

type knownIn struct {
	Max int `json:"max,omitempty"`
}

// knownLines masks a text through Call.Mask and returns its lines, then
// strings it never masked: a secret beside a masked line, a line of the
// masked text with a secret glued on, and the render composes a secret
// out of two harmless fields.
var knownLines = New[knownIn, map[string]any]("test_known", "Known", "known", func(ctx context.Context, c *Call, in knownIn) (*Result, error) {
	masked := c.Mask("GET /a 200\nexport DB_PASSWORD=Kq7-first-planted\nGET /b 200")
	items := []any{}
	for line := range strings.SplitSeq(masked, "\n") {
		items = append(items, map[string]any{"text": line, "k": "password", "v": "Zr4-composed-planted"})
	}
	items = append(items,
		map[string]any{"text": "token: Wp2-second-planted-value"},
		map[string]any{"text": "GET /a 200 password=Lm5-glued-planted"},
	)
	for i := 0; i < in.Max; i++ {
		items = append(items, map[string]any{"text": strings.Repeat("GET /a 200 ", 8)})
	}
	return &Result{Data: map[string]any{"items": items}, Render: func(d map[string]any) string {
		return Rows(d, func(m map[string]any) string { return Str(m["text"]) + " " + Str(m["k"]) + "=" + Str(m["v"]) })
	}}, nil
})

// TestMaskedLinesAreNotMaskedAgainButTheRestIs: the binder takes the
// lines of a text the handler masked through Call.Mask as masked, and
// still masks every other string, and the rendering, in a page that fits
// whole and in pages the budget cuts.
func TestMaskedLinesAreNotMaskedAgainButTheRestIs(t *testing.T) {
	var log bytes.Buffer
	b := binder(&log, policy.OpenPolicy(), knownLines)
	cs := connect(t, b, auth.Principal{User: "a"})
	for _, n := range []int{0, 40} {
		res, raw := callTool(t, cs, "test_known", map[string]any{"max": n}, nil)
		require.False(t, res.IsError, raw)
		for _, planted := range []string{"Kq7-first-planted", "Wp2-second-planted-value", "Lm5-glued-planted"} {
			assert.NotContains(t, raw, planted, "%d extra lines", n)
		}
		// Harmless alone in the structure, a secret in the text.
		text := res.Content[0].(*mcp.TextContent).Text
		assert.NotContains(t, text, "Zr4-composed-planted", "%d extra lines", n)
		assert.Contains(t, raw, "GET /a 200")
		if n > 0 {
			assert.Contains(t, raw, "truncated", "the second call is cut by the budget")
		}
	}
}
