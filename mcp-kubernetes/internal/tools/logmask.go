package tools

import (
	"regexp"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// maskChunk is how much log text is masked at once. The masker's cost
// grows faster than the text (1 MiB of "password=…" lines: 9 s whole, 0.2 s
// in 64 KiB pieces), and a piece that ends at a line boundary is no weaker
// than the window a caller can already choose with tail: the same rules
// apply at the start of each piece.
const maskChunk = 64 << 10

// maskLog masks raw log text in pieces of about chunk bytes that end at
// line boundaries (a longer line is a piece of its own) and run on to the
// END line of a key block begun in them, and returns the masked lines.
// Every piece is masked whole before it is split, so a multi-line value
// inside it is seen whole, and maskLogLines hides a key block cut at its
// start.
func maskLog(c *tool.Call, raw string, chunk int) []string {
	var lines []string
	for off := 0; off < len(raw); {
		end := pieceEnd(raw, off, chunk)
		lines = append(lines, maskLogLines(c.Mask(raw[off:end]))...)
		off = end
	}
	return lines
}

// pieceEnd returns where the piece of raw that starts at off ends.
func pieceEnd(raw string, off, chunk int) int {
	if len(raw)-off <= chunk {
		return len(raw)
	}
	end := off + chunk
	if i := strings.LastIndexByte(raw[off:end], '\n'); i >= 0 {
		end = off + i + 1
	} else if i := strings.IndexByte(raw[end:], '\n'); i >= 0 {
		end += i + 1
	} else {
		return len(raw)
	}
	// A key block begun in the piece ends in it, if its END line is near.
	piece := raw[off:end]
	if b := strings.LastIndex(piece, "-----BEGIN"); b >= 0 && strings.LastIndex(piece, "-----END") < b {
		limit := min(len(raw), end+chunk)
		if e := strings.Index(raw[end:limit], "-----END"); e >= 0 {
			if nl := strings.IndexByte(raw[end+e:], '\n'); nl >= 0 {
				return end + e + nl + 1
			}
			return len(raw)
		}
	}
	return end
}

// A log window (tail, since, limit_bytes) may start inside a private key
// block that a program printed over many lines: the masker then sees body
// lines and the END line without the BEGIN line that identifies them.
// maskLogLines hides those lines too, so no window cuts a key into pieces
// that come back in clear.

// keyEnd is the end of a PEM private key block. After whole-text masking
// every complete block is a placeholder, so any END left is an orphan.
var keyEnd = regexp.MustCompile(`-----END[A-Z0-9 ]*PRIVATE KEY-----`)

// partialKey replaces the lines of a key block cut by the window.
const partialKey = mask.Prefix + ":private-key:partial] (part of a private key block that began before this window)"

// minLeadingBody is how many base64 characters a window's leading lines
// must hold to be taken for the rest of a key block: shorter runs (a lone
// word such as "started") are left alone.
const minLeadingBody = 16

// logText splits a kubelet log line into its timestamp prefix ("" when it
// has none) and its text.
func logText(line string) (prefix, text string) {
	ts, rest, ok := strings.Cut(line, " ")
	if ok {
		if _, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			return ts + " ", rest
		}
	}
	return "", line
}

// isBody reports whether text could be a line of a PEM block's body or
// headers: base64 only, or a Proc-Type/DEK-Info header.
func isBody(text string) bool {
	text = strings.TrimRight(text, "\r")
	if strings.HasPrefix(text, "Proc-Type:") || strings.HasPrefix(text, "DEK-Info:") {
		return true
	}
	if text == "" {
		return false
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// maskLogLines splits masked log text into lines and replaces the lines of
// a private key block whose BEGIN line lies before the window: the lines
// before an orphan END line back to the first line that is not base64, and
// a window's leading run of base64 lines.
func maskLogLines(masked string) []string {
	masked = strings.TrimSuffix(masked, "\n")
	if masked == "" {
		return nil
	}
	lines := strings.Split(masked, "\n")
	texts := make([]string, len(lines))
	for i, l := range lines {
		_, texts[i] = logText(l)
	}
	hide := make([]bool, len(lines))
	for i := range lines {
		if !keyEnd.MatchString(texts[i]) {
			continue
		}
		hide[i] = true
		for j := i - 1; j >= 0 && !hide[j] && isBody(texts[j]); j-- {
			hide[j] = true
		}
	}
	run, chars := 0, 0
	for run < len(lines) && isBody(texts[run]) {
		chars += len(texts[run])
		run++
	}
	if chars >= minLeadingBody {
		for i := 0; i < run; i++ {
			hide[i] = true
		}
	}
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		if !hide[i] {
			out = append(out, l)
			continue
		}
		if i > 0 && hide[i-1] {
			continue // one placeholder per hidden run
		}
		prefix, _ := logText(l)
		out = append(out, prefix+partialKey)
	}
	return out
}
