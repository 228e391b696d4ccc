package chunk

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
)

func sec(h string, text string) parse.Section {
	var heading []string
	if h != "" {
		heading = strings.Split(h, " > ")
	}
	return parse.Section{Heading: heading, Text: text}
}

func TestShortSiblingsMerge(t *testing.T) {
	o := Options{MinTokens: 10, MaxTokens: 200, OverlapTokens: 10}
	pieces := Split([]parse.Section{
		sec("Runbook > Steps > Drain", "kubectl drain node-1"),
		sec("Runbook > Steps > Cordon", "kubectl cordon node-1"),
		sec("Runbook > Verify", strings.Repeat("check the pods are ready. ", 12)),
	}, o)
	require.Len(t, pieces, 2)
	assert.Equal(t, []string{"Runbook", "Steps"}, pieces[0].Heading, "merged under the headings both share")
	assert.Contains(t, pieces[0].Text, "## Drain\nkubectl drain node-1")
	assert.Contains(t, pieces[0].Text, "## Cordon\nkubectl cordon node-1")
	assert.Equal(t, []string{"Runbook", "Verify"}, pieces[1].Heading)
}

func TestLongSectionSplitsWithOverlap(t *testing.T) {
	o := Options{MinTokens: 10, MaxTokens: 100, OverlapTokens: 10}
	var paras []string
	for i := 0; i < 20; i++ {
		paras = append(paras, strings.Repeat("word ", 15)+"end"+string(rune('A'+i))+".")
	}
	text := strings.Join(paras, "\n\n")
	pieces := Split([]parse.Section{sec("Big", text)}, o)
	require.Greater(t, len(pieces), 3)
	for i, p := range pieces {
		assert.LessOrEqual(t, Tokens(p.Text), o.MaxTokens, "piece %d", i)
		assert.Equal(t, []string{"Big"}, p.Heading)
	}
	// Every paragraph ending survives, and consecutive pieces share text.
	all := ""
	for _, p := range pieces {
		all += p.Text
	}
	for i := 0; i < 20; i++ {
		assert.Contains(t, all, "end"+string(rune('A'+i))+".")
	}
	tail := pieces[0].Text[len(pieces[0].Text)-20:]
	assert.Contains(t, pieces[1].Text, strings.TrimSpace(tail[strings.Index(tail, " ")+1:]), "the next piece starts with the overlap")
}

// TestEditTouchesOnlyItsChunks: chunking is by structure, so changing one
// section's text leaves every other chunk byte for byte the same (the
// index re-embeds only what changed).
func TestEditTouchesOnlyItsChunks(t *testing.T) {
	o := Options{MinTokens: 20, MaxTokens: 60, OverlapTokens: 5}
	doc := []parse.Section{
		sec("A", strings.Repeat("alpha ", 40)),
		sec("B", strings.Repeat("bravo ", 40)),
		sec("C", strings.Repeat("charlie ", 40)),
	}
	before := Split(doc, o)
	doc[1].Text = strings.Repeat("bravo ", 39) + "BRAVO"
	after := Split(doc, o)
	require.Equal(t, len(before), len(after))
	changed := 0
	for i := range before {
		if before[i].Text != after[i].Text {
			changed++
			assert.Equal(t, []string{"B"}, after[i].Heading)
		}
	}
	assert.Equal(t, 1, changed)
}

func TestDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	assert.Equal(t, Defaults, o)
	o = Options{MinTokens: 2000, MaxTokens: 800, OverlapTokens: 500}.withDefaults()
	assert.Equal(t, 800, o.MinTokens)
	assert.Equal(t, 200, o.OverlapTokens)
}
