package budget

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTextPagesWithoutGapsOrRepeats(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "line %03d some text\n", i)
	}
	full := b.String()
	var got strings.Builder
	from := 0
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		part, next, more := Text(full, from, 500)
		assert.LessOrEqual(t, len(part), 500)
		if more {
			assert.True(t, strings.HasSuffix(part, "\n"), "cut at a line boundary")
		}
		got.WriteString(part)
		if !more {
			break
		}
		from = next
	}
	assert.Equal(t, full, got.String())
}

func TestItemsPageWithRender(t *testing.T) {
	var items []any
	for i := 0; i < 50; i++ {
		items = append(items, map[string]any{"name": fmt.Sprintf("item-%02d", i)})
	}
	render := func(d map[string]any) string {
		var b strings.Builder
		for _, it := range d["items"].([]any) {
			b.WriteString(it.(map[string]any)["name"].(string) + "\n")
		}
		return b.String()
	}
	page := Page{Data: map[string]any{"kind": "X", "items": items}, Render: render}
	var seen []string
	from := Cursor{}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		cut := Apply(page, from, 300)
		assert.Equal(t, render(cut.Data), cut.Text, "text shows exactly the page's items")
		for _, it := range cut.Data["items"].([]any) {
			seen = append(seen, it.(map[string]any)["name"].(string))
		}
		if cut.Next == nil {
			break
		}
		assert.Equal(t, 50, cut.Total)
		from = *cut.Next
	}
	require.Len(t, seen, 50)
	for i, s := range seen {
		assert.Equal(t, fmt.Sprintf("item-%02d", i), s)
	}
}

func TestOneHugeItemIsPagedByText(t *testing.T) {
	huge := strings.Repeat("x", 100) + "\n"
	huge = strings.Repeat(huge, 30)
	page := Page{Data: map[string]any{"items": []any{huge, "small"}}, Render: func(d map[string]any) string {
		var b strings.Builder
		for _, it := range d["items"].([]any) {
			b.WriteString(it.(string))
		}
		return b.String()
	}}
	var text strings.Builder
	from := Cursor{}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		cut := Apply(page, from, 1000)
		assert.LessOrEqual(t, len(cut.Text), 1000)
		text.WriteString(cut.Text)
		if cut.Next == nil {
			break
		}
		from = *cut.Next
	}
	assert.Equal(t, huge+"small", text.String())
}

func TestCursorSealed(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	c := Cursor{Items: 3, Text: 120, Pos: "f:10", Args: "abc"}
	s := c.Seal(key, "tool\x00args\x00alice")
	d, err := Open(s, key, "tool\x00args\x00alice")
	require.NoError(t, err)
	assert.Equal(t, c, d)

	// Another caller, other arguments, another key: refused.
	for _, bind := range []string{"tool\x00args\x00bob", "tool\x00other\x00alice", "other\x00args\x00alice"} {
		_, err := Open(s, key, bind)
		assert.ErrorIs(t, err, ErrForeignCursor, bind)
	}
	_, err = Open(s, []byte("another key......................"), "tool\x00args\x00alice")
	assert.ErrorIs(t, err, ErrForeignCursor)

	// A forged body with the old signature, or an unsigned cursor as the
	// server once made them: refused.
	body, sig, _ := strings.Cut(s, ".")
	forged := Cursor{Pos: "f:999999", Args: "abc"}.Seal([]byte("attacker key....................."), "tool\x00args\x00alice")
	fbody, _, _ := strings.Cut(forged, ".")
	_, err = Open(fbody+"."+sig, key, "tool\x00args\x00alice")
	assert.ErrorIs(t, err, ErrForeignCursor)
	_, err = Open(body, key, "tool\x00args\x00alice")
	assert.ErrorIs(t, err, ErrBadCursor)
	for _, bad := range []string{"!!", "", ".", "eyJpIjotMX0.!!"} {
		_, err := Open(bad, key, "x")
		assert.Error(t, err, bad)
	}
}

// FuzzOpen: no string opens as a cursor unless it was sealed with the
// key, and nothing panics.
func FuzzOpen(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add(Cursor{Items: 1, Args: "a"}.Seal(key, "b"))
	f.Add("eyJpIjotMX0")
	f.Add("e30.AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Open(s, key, "b")
		if err != nil {
			return
		}
		// Only what Seal wrote opens: it seals back to itself, and never
		// holds a negative position.
		if c.Seal(key, "b") != s {
			t.Fatalf("opened %q, which Seal did not write", s)
		}
		if c.Items < 0 || c.Text < 0 {
			t.Fatalf("opened a cursor with a negative position: %+v", c)
		}
	})
}
