package parse

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

var md = goldmark.New(goldmark.WithExtensions(extension.GFM))

// markdown splits at every heading (ATX or setext) found by goldmark's
// parser, so a "#" inside a code fence is not a heading. Each section's
// text is the source between two headings, kept as written (tables, code
// and lists stay readable for the model).
func markdown(src []byte) []Section {
	doc := md.Parser().Parse(text.NewReader(src))
	type mark struct {
		level      int
		title      string
		start, end int // the heading's own bytes
	}
	var marks []mark
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		h, ok := n.(*ast.Heading)
		if !ok {
			continue
		}
		lines := h.Lines()
		if lines.Len() == 0 {
			continue
		}
		start, end := lines.At(0).Start, lines.At(lines.Len()-1).Stop
		// The heading's line begins at the line start (the "#" marks);
		// setext underlines follow its text.
		start = bytes.LastIndexByte(src[:start], '\n') + 1
		if nl := bytes.IndexByte(src[end:], '\n'); nl >= 0 {
			end += nl + 1
			if h.Level <= 2 && isSetextUnderline(src[end:]) {
				nl2 := bytes.IndexByte(src[end:], '\n')
				if nl2 < 0 {
					end = len(src)
				} else {
					end += nl2 + 1
				}
			}
		} else {
			end = len(src)
		}
		marks = append(marks, mark{level: h.Level, title: headingText(h, src), start: start, end: end})
	}
	var out []Section
	var path []string
	var levels []int
	prev := 0
	for _, m := range marks {
		// CommonMark also ends a line at a lone \r, which the byte scan
		// above does not: a heading's extent found by '\n' can then reach
		// past the next heading's start. Keep the cuts in order.
		if m.start < prev {
			m.start = prev
		}
		if m.end < m.start {
			m.end = m.start
		}
		out = appendSection(out, path, 0, string(src[prev:m.start]))
		for len(levels) > 0 && levels[len(levels)-1] >= m.level {
			levels, path = levels[:len(levels)-1], path[:len(path)-1]
		}
		levels, path = append(levels, m.level), append(path, m.title)
		prev = m.end
	}
	out = appendSection(out, path, 0, string(src[prev:]))
	return out
}

func isSetextUnderline(rest []byte) bool {
	line := rest
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		line = rest[:nl]
	}
	t := strings.TrimSpace(string(line))
	return t != "" && (strings.Trim(t, "=") == "" || strings.Trim(t, "-") == "")
}

func headingText(n ast.Node, src []byte) string {
	var b strings.Builder
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch t := c.(type) {
			case *ast.Text:
				b.Write(t.Segment.Value(src))
				if t.SoftLineBreak() {
					b.WriteByte(' ')
				}
			case *ast.String:
				b.Write(t.Value)
			case *ast.CodeSpan:
				for cc := t.FirstChild(); cc != nil; cc = cc.NextSibling() {
					if tt, ok := cc.(*ast.Text); ok {
						b.Write(tt.Segment.Value(src))
					}
				}
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// asciidoc splits at section titles ("= Title", "== Section", …, and the
// "#" form), outside listing and literal blocks. No Go AsciiDoc parser is
// both maintained and light; titles are all the chunker needs.
func asciidoc(src []byte) []Section {
	var out []Section
	var path []string
	var levels []int
	var body strings.Builder
	fence := ""
	for _, line := range strings.SplitAfter(string(src), "\n") {
		t := strings.TrimRight(line, "\r\n")
		if fence != "" {
			if t == fence {
				fence = ""
			}
			body.WriteString(line)
			continue
		}
		if t == "----" || t == "...." || t == "````" || t == "++++" || t == "____" {
			fence = t
			body.WriteString(line)
			continue
		}
		level, title := adocTitle(t)
		if level == 0 {
			body.WriteString(line)
			continue
		}
		out = appendSection(out, path, 0, body.String())
		body.Reset()
		for len(levels) > 0 && levels[len(levels)-1] >= level {
			levels, path = levels[:len(levels)-1], path[:len(path)-1]
		}
		levels, path = append(levels, level), append(path, title)
	}
	return appendSection(out, path, 0, body.String())
}

func adocTitle(line string) (int, string) {
	for _, mark := range []byte{'=', '#'} {
		n := 0
		for n < len(line) && line[n] == mark {
			n++
		}
		if n >= 1 && n <= 6 && len(line) > n+1 && line[n] == ' ' {
			if title := strings.TrimSpace(line[n+1:]); title != "" {
				return n, title
			}
		}
	}
	return 0, ""
}
