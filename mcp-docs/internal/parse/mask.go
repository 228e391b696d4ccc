package parse

import (
	"regexp"
	"strconv"
	"strings"
)

// sectionMark joins sections into one text for masking. It starts and
// ends with a newline, so no line-bound secret detector runs into it, and
// holds NUL, which section text never does (MaskSections drops it).
var sectionMark = regexp.MustCompile("\n\x00([0-9]+)\x00\n")

// MaskSections masks a document's sections as one text, so a secret that
// spans a split (a PEM block across two pages or sections) is masked
// whole; sections whose boundary fell inside a masked value are merged
// into the section before it. Headings are masked one by one. mask must
// be idempotent (masking masked text changes nothing).
func MaskSections(sections []Section, mask func(string) string) []Section {
	if len(sections) == 0 {
		return sections
	}
	var b strings.Builder
	for i, s := range sections {
		if i > 0 {
			b.WriteString("\n\x00" + strconv.Itoa(i) + "\x00\n")
		}
		b.WriteString(strings.ReplaceAll(s.Text, "\x00", "\uFFFD"))
	}
	masked := mask(b.String())
	var out []Section
	add := func(from int, text string) {
		s := sections[from]
		h := make([]string, len(s.Heading))
		for j, x := range s.Heading {
			h[j] = mask(x)
		}
		out = appendSection(out, h, s.Page, text)
	}
	from, start := 0, 0
	for _, m := range sectionMark.FindAllStringSubmatchIndex(masked, -1) {
		add(from, masked[start:m[0]])
		if n, err := strconv.Atoi(masked[m[2]:m[3]]); err == nil && n > from && n < len(sections) {
			from = n
		}
		start = m[1]
	}
	add(from, masked[start:])
	return out
}

// Finish readies parsed sections for chunking: masked as one document
// (MaskSections), then, for a PDF, titled from the masked page text.
func Finish(kind string, sections []Section, mask func(string) string) []Section {
	out := MaskSections(sections, mask)
	if kind == PDF {
		PDFTitles(out)
	}
	return out
}
