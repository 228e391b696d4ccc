package tools

import (
	"regexp"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/shared/mask"
)

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
