// Package logql checks a LogQL query before it is sent to Loki: strings,
// brackets and every stream selector are parsed, regular expressions are
// compiled (Loki uses the same RE2 syntax), range durations are read, and
// the guardrail that each selector names at least one stream by a
// positive equality matcher is applied. The full grammar is left to Loki's
// own parser, asked through its format_query endpoint, which parses
// without running anything.
package logql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Matcher is one label matcher of a stream selector.
type Matcher struct {
	Label, Op, Value string
}

// Selector is one stream selector, {a="b", c=~"d"}.
type Selector struct {
	Matchers []Matcher
}

// String renders the selector in canonical form.
func (s Selector) String() string {
	parts := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		parts[i] = m.Label + m.Op + strconv.Quote(m.Value)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Query is what the check learned.
type Query struct {
	// Selectors are the query's stream selectors, in order.
	Selectors []Selector
	// Metric is true for a metric query (rate(...), sum by (...) ...),
	// false for a log query, which returns lines.
	Metric bool
	// MaxRange is the longest range vector ([5m]) in the query.
	MaxRange time.Duration
}

// Error is a query problem, with the position (1-based byte column) and
// what to change.
type Error struct {
	Col int
	Msg string
}

func (e *Error) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("LogQL error at column %d: %s", e.Col, e.Msg)
	}
	return "LogQL error: " + e.Msg
}

type token struct {
	kind byte // 's' string, 'i' identifier, 'n' number/duration, 'o' operator or punctuation
	text string
	val  string // a string's value
	pos  int
}

// Check parses q as far as this package knows LogQL and applies the
// guardrail.
func Check(q string) (*Query, error) {
	if strings.TrimSpace(q) == "" {
		return nil, &Error{Msg: `the query is empty; start with a stream selector such as {app="api"}`}
	}
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	if err := balanced(toks); err != nil {
		return nil, err
	}
	out := &Query{Metric: toks[0].text != "{"}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == 'o' && t.text == "{":
			sel, next, err := selector(toks, i)
			if err != nil {
				return nil, err
			}
			out.Selectors = append(out.Selectors, sel)
			i = next
		case t.kind == 'o' && (t.text == "|~" || t.text == "!~") && i+1 < len(toks) && toks[i+1].kind == 's':
			if _, err := regexp.Compile(toks[i+1].val); err != nil {
				return nil, &Error{Col: toks[i+1].pos + 1, Msg: fmt.Sprintf("line filter %s %q is not a valid RE2 expression: %v", t.text, toks[i+1].val, err)}
			}
		case t.kind == 'o' && t.text == "[":
			if i+2 >= len(toks) || toks[i+2].text != "]" && toks[i+2].text != ":" {
				return nil, &Error{Col: t.pos + 1, Msg: "a range must look like [5m]"}
			}
			d, err := ParseDuration(toks[i+1].text)
			if err != nil {
				return nil, &Error{Col: toks[i+1].pos + 1, Msg: fmt.Sprintf("range %q: %v", toks[i+1].text, err)}
			}
			out.MaxRange = max(out.MaxRange, d)
		}
	}
	if len(out.Selectors) == 0 {
		return nil, &Error{Msg: `no stream selector: every query needs one, such as {app="api"} or rate({app="api"}[5m])`}
	}
	for _, s := range out.Selectors {
		if !positive(s) {
			return nil, &Error{Msg: fmt.Sprintf(`stream selector %s needs at least one label matched with = to a non-empty value (e.g. {namespace="web", app=~"api.*"}): queries that match every stream are refused`, s)}
		}
	}
	return out, nil
}

func positive(s Selector) bool {
	for _, m := range s.Matchers {
		if m.Op == "=" && m.Value != "" {
			return true
		}
	}
	return false
}

func selector(toks []token, i int) (Selector, int, error) {
	var sel Selector
	open := toks[i]
	i++
	for {
		if i >= len(toks) {
			return sel, i, &Error{Col: open.pos + 1, Msg: "stream selector is not closed with }"}
		}
		if toks[i].text == "}" && toks[i].kind == 'o' {
			if len(sel.Matchers) == 0 {
				return sel, i, &Error{Col: open.pos + 1, Msg: `empty stream selector {}: name a stream, e.g. {app="api"}`}
			}
			return sel, i, nil
		}
		if len(sel.Matchers) > 0 {
			if toks[i].text != "," {
				return sel, i, &Error{Col: toks[i].pos + 1, Msg: fmt.Sprintf("expected , or } in the stream selector, found %q", toks[i].text)}
			}
			i++
		}
		if i+2 >= len(toks) || toks[i].kind != 'i' {
			return sel, i, &Error{Col: pos(toks, i), Msg: `a stream selector holds label matchers such as app="api", env=~"prod|stage", level!="debug"`}
		}
		label, op, val := toks[i], toks[i+1], toks[i+2]
		if !validLabel(label.text) {
			return sel, i, &Error{Col: label.pos + 1, Msg: fmt.Sprintf("%q is not a valid label name", label.text)}
		}
		switch op.text {
		case "=", "!=", "=~", "!~":
		default:
			return sel, i, &Error{Col: op.pos + 1, Msg: fmt.Sprintf("label %s: expected =, !=, =~ or !~, found %q", label.text, op.text)}
		}
		if val.kind != 's' {
			return sel, i, &Error{Col: val.pos + 1, Msg: fmt.Sprintf("label %s: the value must be a quoted string, found %q", label.text, val.text)}
		}
		if op.text == "=~" || op.text == "!~" {
			if _, err := regexp.Compile("^(?:" + val.val + ")$"); err != nil {
				return sel, i, &Error{Col: val.pos + 1, Msg: fmt.Sprintf("label %s%s%q is not a valid RE2 expression: %v", label.text, op.text, val.val, err)}
			}
		}
		sel.Matchers = append(sel.Matchers, Matcher{Label: label.text, Op: op.text, Value: val.val})
		i += 3
	}
}

func pos(toks []token, i int) int {
	if i < len(toks) {
		return toks[i].pos + 1
	}
	return 0
}

func validLabel(s string) bool {
	for i, r := range s {
		if !(r == '_' || r < unicode.MaxASCII && unicode.IsLetter(r) || i > 0 && r < unicode.MaxASCII && unicode.IsDigit(r)) {
			return false
		}
	}
	return s != ""
}

// balanced checks that brackets pair up.
func balanced(toks []token) error {
	var stack []token
	pairs := map[string]string{")": "(", "]": "[", "}": "{"}
	for _, t := range toks {
		if t.kind != 'o' {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			stack = append(stack, t)
		case ")", "]", "}":
			if len(stack) == 0 || stack[len(stack)-1].text != pairs[t.text] {
				return &Error{Col: t.pos + 1, Msg: fmt.Sprintf("unbalanced %q", t.text)}
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		t := stack[len(stack)-1]
		return &Error{Col: t.pos + 1, Msg: fmt.Sprintf("%q is never closed", t.text)}
	}
	return nil
}

var twoChar = []string{"|=", "!=", "|~", "!~", "=~", "|>", "!>", "==", ">=", "<="}

func lex(q string) ([]token, error) {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // a comment runs to the end of the line
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '"' || c == '`':
			j := i + 1
			for j < len(q) && q[j] != c {
				if c == '"' && q[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(q) {
				return nil, &Error{Col: i + 1, Msg: "string is not closed"}
			}
			raw := q[i : j+1]
			val := raw[1 : len(raw)-1]
			if c == '"' {
				v, err := strconv.Unquote(raw)
				if err != nil {
					return nil, &Error{Col: i + 1, Msg: fmt.Sprintf("bad escape in string %s (in LogQL \"...\" strings a backslash must be doubled, or use `...`)", raw)}
				}
				val = v
			}
			toks = append(toks, token{kind: 's', text: raw, val: val, pos: i})
			i = j + 1
		case c == '_' || c < unicode.MaxASCII && unicode.IsLetter(rune(c)):
			j := i
			for j < len(q) && (q[j] == '_' || q[j] == '.' || q[j] < unicode.MaxASCII && (unicode.IsLetter(rune(q[j])) || unicode.IsDigit(rune(q[j])))) {
				j++
			}
			toks = append(toks, token{kind: 'i', text: q[i:j], pos: i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(q) && (q[j] == '.' || q[j] < unicode.MaxASCII && (unicode.IsLetter(rune(q[j])) || unicode.IsDigit(rune(q[j])))) {
				j++
			}
			toks = append(toks, token{kind: 'n', text: q[i:j], pos: i})
			i = j
		default:
			op := string(c)
			for _, t := range twoChar {
				if strings.HasPrefix(q[i:], t) && len(t) == 2 {
					op = t
					break
				}
			}
			toks = append(toks, token{kind: 'o', text: op, pos: i})
			i += len(op)
		}
	}
	return toks, nil
}

var durationRE = regexp.MustCompile(`^(\d+(ms|s|m|h|d|w|y))+$`)

// ParseDuration reads a Prometheus/LogQL duration: 30s, 5m, 1h30m, 2d, 1w.
func ParseDuration(s string) (time.Duration, error) {
	if !durationRE.MatchString(s) {
		return 0, fmt.Errorf("not a duration; use e.g. 30s, 5m, 1h, 1d")
	}
	var total time.Duration
	units := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
	for rest := s; rest != ""; {
		j := 0
		for rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(rest[:j])
		k := j
		for k < len(rest) && (rest[k] < '0' || rest[k] > '9') {
			k++
		}
		total += time.Duration(n) * units[rest[j:k]]
		rest = rest[k:]
	}
	return total, nil
}
