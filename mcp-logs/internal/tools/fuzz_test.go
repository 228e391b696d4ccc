package tools

import (
	"encoding/json"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opsmcp/opsmcp/mcp-logs/internal/logfile"
	"github.com/opsmcp/opsmcp/mcp-logs/internal/logql"
	"github.com/opsmcp/opsmcp/shared/mask"
)

// FuzzWindow: time and duration arguments never panic, and an accepted
// window runs forward.
func FuzzWindow(f *testing.F) {
	for _, s := range [][3]string{{"1h", "", ""}, {"", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"}, {"2d", "", "1772359200.5"}, {"", "-1e300", "1e300"}, {"9999999999d", "", ""}, {"", "NaN", "Inf"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, since, start, end string) {
		s, e, err := resolveWindow(Window{Since: since, Start: start, End: end}, time.Hour, now)
		if err == nil && !s.Before(e) {
			t.Fatalf("accepted a window %v..%v", s, e)
		}
		if d, err := parseDuration(since); err == nil && d <= 0 {
			t.Fatalf("duration %q accepted as %v", since, d)
		}
		srv := &Server{MaxRange: 6 * time.Hour, Now: func() time.Time { return now }}
		if s, e, err := srv.window(Window{Since: since, Start: start, End: end}, time.Hour); err == nil && e.Sub(s) > 6*time.Hour {
			t.Fatalf("window %v..%v over the cap", s, e)
		}
	})
}

// FuzzResumeRange: a Loki cursor position, whatever its bytes, never
// panics and is never accepted wider than the cap or outside the window.
func FuzzResumeRange(f *testing.F) {
	good, _ := json.Marshal(lokiPos{Start: now.Add(-time.Hour).UnixNano(), End: now.UnixNano(), Seen: []string{"ab"}})
	f.Add(string(good), true)
	f.Add(`{"s":-9223372036854775808,"e":9223372036854775807}`, false)
	f.Add(`{"s":1,"e":0}`, true)
	f.Add(`not json`, false)
	f.Fuzz(func(t *testing.T, raw string, explicit bool) {
		s := &Server{MaxRange: 6 * time.Hour}
		w := Window{}
		start, end := now.Add(-2*time.Hour), now
		if explicit {
			w = Window{Start: rfc(start), End: rfc(end)}
		}
		if _, err := s.resumeRange(raw, w, start, end); err == nil {
			t.Fatalf("accepted %q, which this server did not seal", raw)
		}
		pos, err := s.resumeRange(sealPos([]byte(raw)), w, start, end)
		if err != nil {
			return
		}
		if pos.Start >= pos.End || time.Duration(pos.End-pos.Start) > s.MaxRange || pos.End-pos.Start < 0 {
			t.Fatalf("accepted %+v", pos)
		}
		if explicit && (pos.Start < start.UnixNano() || pos.End > end.UnixNano()) {
			t.Fatalf("accepted %+v outside the window", pos)
		}
	})
}

// FuzzKeep: the re-check of a returned Loki line never panics, and a line
// it keeps for a positive literal filter holds the literal away from every
// masked value; a planted secret never decides it.
func FuzzKeep(f *testing.F) {
	f.Add("aws_access_key_id="+akia+" ok", "AKIAPLANTED7", false)
	f.Add("password="+dbPass+" user=bob", "user=bob", false)
	f.Add("token=[MASKED:x:1] x", `x.MASKED`, true)
	f.Add("a b", "(", true)
	m := mask.New([]byte("fuzz"))
	maskText := func(s string) string { out, _ := m.Text(s); return out }
	f.Fuzz(func(t *testing.T, line, v string, isRE bool) {
		op := "|="
		if isRE {
			op = "|~"
		}
		q := &logql.Query{LineFilters: []logql.LineFilter{{Op: op, Values: []string{v}}}}
		masked := maskText(line)
		if !keep(q, compileFilters(q), masked, maskText, map[string]string{"app": "x"}) || isRE {
			return
		}
		spans := logfile.PlaceholderSpans(masked)
		for from := 0; ; {
			i := strings.Index(masked[from:], v)
			if i < 0 {
				t.Fatalf("kept %q for %q without a clear match", masked, v)
			}
			if !logfile.Touches(spans, from+i, from+i+len(v)) {
				return
			}
			from += i + max(len(v), 1)
			if from > len(masked) {
				t.Fatalf("kept %q for %q without a clear match", masked, v)
			}
		}
	})
}

// FuzzGlobRegexp: a policy namespace glob narrows Loki exactly as
// path.Match reads it.
func FuzzGlobRegexp(f *testing.F) {
	for _, s := range [][2]string{{"web", "web"}, {"api-*", "api-1"}, {"a?c", "abc"}, {"[a-c]x", "bx"}, {"[^a]x", "ax"}, {`\*`, "*"}, {"x[", "x["}, {"[]a]", "]"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, name string) {
		if strings.Contains(name, "/") {
			return // namespaces hold no slash
		}
		want, err := path.Match(glob, name)
		if err != nil {
			return // policy.Parse refuses such a glob
		}
		re, err := regexp.Compile("^(?:" + globRegexp(glob) + ")$")
		if err != nil {
			t.Fatalf("glob %q gave a bad expression %q: %v", glob, globRegexp(glob), err)
		}
		if !utf8.ValidString(glob) {
			want = false // narrowed to nothing: errs narrow
		}
		if got := re.MatchString(name); got != want {
			t.Fatalf("glob %q (%s) on %q: %v, path.Match says %v", glob, globRegexp(glob), name, got, want)
		}
	})
}
