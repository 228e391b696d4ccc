package tools

import (
	"regexp"
	"strings"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// maskedLines masks text as a whole (so a multi-line secret such as a PEM
// block is seen whole) and returns it as exactly as many lines as text
// has, each with its "\n": line i of the result is what is left of line i
// of text. A placeholder that replaced several lines stands on the first
// of them and the others come back empty, so line numbers (blame, file
// ranges, search hits) still point at the same lines.
func maskedLines(c *tool.Call, text string) []string {
	return alignLines(text, c.Mask(text))
}

// placeholderRE finds the masker's placeholders ("[MASKED:kind:hash]").
var placeholderRE = regexp.MustCompile(`\[MASKED[^\]\n]*\]`)

// pemEndRE is the end line of a private key block.
var pemEndRE = regexp.MustCompile(`-----END[A-Z0-9 ]*PRIVATE KEY-----`)

// splitLines splits after each "\n"; a final empty piece is no line.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// alignLines maps masked (orig with some spans replaced by placeholders)
// back onto orig's lines. The masker keeps everything between its
// placeholders verbatim, so those pieces are found again in orig in order,
// and the newlines a placeholder swallowed are put back after it. Every
// byte of the result comes from masked: when the alignment fails (a
// placeholder-like text in orig, a masker that reshapes more than spans)
// the lines may sit at the wrong numbers, but nothing unmasked comes back.
func alignLines(orig, masked string) []string {
	want := len(splitLines(orig))
	if strings.Count(masked, "\n") == strings.Count(orig, "\n") {
		// No placeholder swallowed a newline: lines map one to one.
		return fit(splitLines(masked), want)
	}
	var b strings.Builder
	b.Grow(len(masked) + 64)
	o, prev := 0, 0
	pending := "" // the last placeholder, whose secret ends where the next piece starts
	ok := true
	place := func(seg string, last bool) {
		if !ok {
			return
		}
		var secretEnd int
		switch {
		case pending == "":
			if !strings.HasPrefix(orig[o:], seg) {
				ok = false
				return
			}
			secretEnd = o
		case last:
			if !strings.HasSuffix(orig, seg) || len(orig)-len(seg) < o {
				ok = false
				return
			}
			secretEnd = len(orig) - len(seg)
		default:
			i := strings.Index(orig[o:], seg)
			if i < 0 {
				ok = false
				return
			}
			secretEnd = o + i
			// A key block ends at its END line: a short piece ("\n")
			// between two blocks would otherwise be found inside the
			// first one.
			if strings.Contains(pending, "private-key") {
				if e := pemEndRE.FindStringIndex(orig[o:]); e != nil && strings.HasPrefix(orig[o+e[1]:], seg) {
					secretEnd = o + e[1]
				}
			}
		}
		if pending != "" {
			b.WriteString(pending)
			b.WriteString(strings.Repeat("\n", strings.Count(orig[o:secretEnd], "\n")))
		}
		b.WriteString(seg)
		o = secretEnd + len(seg)
	}
	for _, m := range placeholderRE.FindAllStringIndex(masked, -1) {
		place(masked[prev:m[0]], false)
		pending, prev = masked[m[0]:m[1]], m[1]
	}
	place(masked[prev:], true)
	if !ok || strings.Count(b.String(), "\n") != strings.Count(orig, "\n") {
		return fit(splitLines(masked), want)
	}
	return fit(splitLines(b.String()), want)
}

// fit pads (or cuts) lines to n, so callers can index by line number.
func fit(lines []string, n int) []string {
	for len(lines) < n {
		lines = append(lines, "\n")
	}
	return lines[:n]
}

// firstLine masks s whole and cuts its first line: for commit and tag
// messages, whose summary is the first line.
func firstLine(c *tool.Call, s string) string {
	line, _, _ := strings.Cut(c.Mask(s), "\n")
	return line
}
