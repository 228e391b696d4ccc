package tools

import (
	"regexp"
	"strings"

	"github.com/opsmcp/opsmcp/shared/tool"
)

var (
	pemBegin = regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----`)
	pemEnd   = regexp.MustCompile(`-----END[A-Z0-9 ]*PRIVATE KEY-----`)
)

// orphanHeader opens a private key whose own header a tail or since cut
// off, so the masker sees the key's body as a key.
const orphanHeader = "-----BEGIN PRIVATE KEY-----"

// alignWindow bounds how far a masked span may have folded lines
// together (a 4096-bit PEM key is about 50 lines).
const alignWindow = 512

// maskLines masks log lines as the text they were written as: the lines
// of each task's stream are joined in order, masked as one text, and split
// again, so a secret spread over lines (a PEM key) is masked whole. Every
// line returned is a line of masked text; a masked span that folded
// several lines into one carries the time of its first line.
func maskLines(c *tool.Call, lines []LogLine) []LogLine {
	type key struct{ task, stream string }
	groups := map[key][]int{}
	var order []key
	for i, l := range lines {
		k := key{l.Task, l.Stream}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([]LogLine, 0, len(lines))
	for _, k := range order {
		idx := groups[k]
		in := make([]string, len(idx))
		for j, i := range idx {
			in[j] = lines[i].Text
		}
		for _, m := range maskText(c, in) {
			l := lines[idx[m.from]]
			l.Text = m.text
			out = append(out, l)
		}
	}
	return out
}

// maskedLine is one line of masked text and the input line it stands for.
type maskedLine struct {
	text string
	from int
}

// maskText masks lines as one text and maps the masked lines back to the
// input lines they came from.
func maskText(c *tool.Call, in []string) []maskedLine {
	text := strings.Join(in, "\n")
	synthetic := 0
	if e := pemEnd.FindStringIndex(text); e != nil {
		if b := pemBegin.FindStringIndex(text); b == nil || b[0] > e[0] {
			text = orphanHeader + "\n" + text
			in = append([]string{orphanHeader}, in...)
			synthetic = 1
		}
	}
	outs := strings.Split(c.Mask(text), "\n")
	from := align(in, outs)
	res := make([]maskedLine, 0, len(outs))
	for j, o := range outs {
		if synthetic == 1 && j == 0 && o == orphanHeader {
			continue // the masker left the made-up header alone: not a log line
		}
		res = append(res, maskedLine{text: o, from: max(from[j]-synthetic, 0)})
	}
	return res
}

// align maps each output line of the masker to the input line it starts
// at. Masking only replaces spans with one-line placeholders, so output
// lines are input lines, changed or not, with the lines a multi-line span
// covered folded into the line the span started on; the next unchanged
// output line shows where the input resumes.
func align(in, out []string) []int {
	idx := make([]int, len(out))
	i := 0
	for j := range out {
		if i >= len(in) {
			idx[j] = len(in) - 1
			continue
		}
		idx[j] = i
		if len(out)-j >= len(in)-i || out[j] == in[i] {
			i++ // as many lines left on both sides, or unchanged: one for one
			continue
		}
		next := i + 1
		if j+1 == len(out) {
			next = len(in)
		} else {
			for n := i + 1; n < len(in) && n <= i+alignWindow; n++ {
				if in[n] == out[j+1] {
					next = n
					break
				}
			}
		}
		i = next
	}
	return idx
}
