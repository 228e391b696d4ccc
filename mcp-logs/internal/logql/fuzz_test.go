package logql

import (
	"regexp"
	"strings"
	"testing"
)

// rewriteRE finds a refused stage in query text whose strings and comments
// were blanked out (see blank): an independent check of what Check lets
// through.
var rewriteRE = regexp.MustCompile(`(\|\s*(line_format|label_format|unpack|regexp|pattern|unwrap|decolorize|drop|keep|distinct)([^A-Za-z0-9_.]|$))|label_replace\s*\(|\|>|!>`)

// blank replaces the contents of strings and comments with spaces, so a
// stage name inside a string is not taken for a stage (Check refuses
// comments; blanking them keeps this check independent of that).
func blank(q string) string {
	b := []byte(q)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"', '`':
			j := i + 1
			for j < len(b) && b[j] != c {
				if c == '"' && b[j] == '\\' {
					b[j] = ' '
					j++
					if j >= len(b) {
						break
					}
				}
				b[j] = ' '
				j++
			}
			i = j
		case '#':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// FuzzCheck: no input panics Check; whatever it accepts holds no rewriting
// stage, has a stream selector with a positive matcher whose closing
// brace is where Close says, line filters whose spans are theirs, and no
// filter at all in a metric query.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{app="api"}`,
		`{app="api", env=~"prod|stage"} |= "error" != "debug" | json | status >= 500`,
		`{app="api"} | json | line_format "{{.password}}"`,
		`{app="api"} | json | line_format "{{.password | b64enc}}"`,
		`sum by (app) (count_over_time({namespace="web"}[5m]))`,
		`{app="api"} |= "a" or "b" | logfmt | (a="x" or b=~"y") and c > 5`,
		"{app=\"api\"} # | line_format\n |= `x`",
		`{app="api"} | json | password != "x"`,
		`label_replace(rate({app="a"}[1m]), "d", "$1", "app", "(.*)")`,
		`{app="a\"b"} |~ "(?i)err"`,
		`{a="b"} | (c="d")`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out, err := Check(q)
		if err != nil {
			if out != nil {
				t.Fatalf("error with a result: %v", err)
			}
			return
		}
		if m := rewriteRE.FindString(blank(q)); m != "" {
			t.Fatalf("accepted %q holding the refused stage %q", q, m)
		}
		if len(out.Selectors) == 0 {
			t.Fatalf("accepted %q without a selector", q)
		}
		for _, s := range out.Selectors {
			if !positive(s) {
				t.Fatalf("accepted selector %s without a positive matcher", s)
			}
			if s.Close < 0 || s.Close >= len(q) || q[s.Close] != '}' {
				t.Fatalf("selector %s: Close %d is not a brace in %q", s, s.Close, q)
			}
		}
		for _, lf := range out.LineFilters {
			if lf.Start < 0 || lf.End > len(q) || lf.Start >= lf.End || !strings.HasPrefix(q[lf.Start:], lf.Op) || len(lf.Values) == 0 {
				t.Fatalf("line filter %+v has a bad span in %q", lf, q)
			}
		}
		if out.Metric && (len(out.LineFilters) > 0 || len(out.LabelFilters) > 0) {
			t.Fatalf("metric query %q accepted with filters", q)
		}
	})
}

// FuzzParseDuration: no panic; an accepted duration is never negative
// (a wrapped one passed the range cap).
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"5m", "1h30m", "2d", "1w", "0s", "99999999999999999999y", "5", "m", "1ms", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if !durationRE.MatchString(s) {
			t.Fatalf("accepted %q, which is not a duration", s)
		}
		if d < 0 {
			t.Fatalf("%q: negative %v", s, d)
		}
	})
}
