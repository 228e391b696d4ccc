// Package chunk cuts a document's sections into chunks for the index:
// short sibling sections are merged up to a minimum, long sections are
// split at paragraph or line boundaries below a maximum, with a small
// overlap inside a section (never across sections, so editing one section
// changes only its own chunks). Sizes are in tokens, estimated at four
// bytes a token, which is close for English prose and code under the
// embedding models the team uses.
package chunk

import (
	"strings"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
)

// Options sizes the chunks.
type Options struct {
	MinTokens     int // merge shorter neighbouring sections (default 500)
	MaxTokens     int // split longer sections (default 1000)
	OverlapTokens int // repeated from the end of the previous piece of a split section (default 50)
}

// Defaults are the sizes used when an option is zero.
var Defaults = Options{MinTokens: 500, MaxTokens: 1000, OverlapTokens: 50}

func (o Options) withDefaults() Options {
	if o.MinTokens <= 0 {
		o.MinTokens = Defaults.MinTokens
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = Defaults.MaxTokens
	}
	if o.OverlapTokens < 0 {
		o.OverlapTokens = 0
	} else if o.OverlapTokens == 0 {
		o.OverlapTokens = Defaults.OverlapTokens
	}
	if o.OverlapTokens > o.MaxTokens/4 {
		o.OverlapTokens = o.MaxTokens / 4
	}
	if o.MinTokens > o.MaxTokens {
		o.MinTokens = o.MaxTokens
	}
	return o
}

// Tokens estimates the tokens of s.
func Tokens(s string) int { return (len(s) + 3) / 4 }

// Piece is one chunk's text and where it sits.
type Piece struct {
	Heading []string
	Page    int
	Text    string
}

// Split turns sections into pieces.
func Split(sections []parse.Section, o Options) []Piece {
	o = o.withDefaults()
	var out []Piece
	var cur *Piece
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for _, s := range sections {
		if Tokens(s.Text) > o.MaxTokens {
			flush()
			for _, t := range splitLong(s.Text, o) {
				out = append(out, Piece{Heading: s.Heading, Page: s.Page, Text: t})
			}
			continue
		}
		text := s.Text
		if cur != nil && cur.Page == s.Page && Tokens(cur.Text) < o.MinTokens &&
			Tokens(cur.Text)+Tokens(text)+Tokens(title(s.Heading)) <= o.MaxTokens {
			// Merged under the headings both share; the merged section's own
			// title stays in the text so nothing is lost.
			common := commonPrefix(cur.Heading, s.Heading)
			if len(common) < len(cur.Heading) && !strings.HasPrefix(cur.Text, "## ") {
				cur.Text = "## " + title(cur.Heading[len(common):]) + "\n" + cur.Text
			}
			if len(common) < len(s.Heading) {
				text = "## " + title(s.Heading[len(common):]) + "\n" + text
			}
			cur.Heading = common
			cur.Text += "\n\n" + text
			continue
		}
		flush()
		cur = &Piece{Heading: s.Heading, Page: s.Page, Text: text}
	}
	flush()
	return out
}

func title(h []string) string { return strings.Join(h, " > ") }

func commonPrefix(a, b []string) []string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return append([]string(nil), a[:n]...)
}

// splitLong cuts text below MaxTokens at the last paragraph break, else
// line break, else space before the limit; each piece after the first
// starts with the previous piece's last OverlapTokens (from a line or
// word boundary).
func splitLong(text string, o Options) []string {
	max := o.MaxTokens * 4
	overlap := o.OverlapTokens * 4
	var out []string
	for len(text) > max {
		cut := breakBefore(text, max)
		out = append(out, strings.TrimSpace(text[:cut]))
		start := cut - overlap
		if start < 0 || overlap == 0 {
			start = cut
		} else if i := strings.IndexAny(text[start:cut], "\n "); i >= 0 {
			start += i + 1
		}
		text = text[start:]
	}
	if t := strings.TrimSpace(text); t != "" {
		out = append(out, t)
	}
	return out
}

func breakBefore(text string, max int) int {
	window := text[:max]
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(window, sep); i > max/2 {
			return i + len(sep)
		}
	}
	return max
}
