// Package logql checks a LogQL query before it is sent to Loki: strings,
// brackets and every stream selector are parsed, regular expressions are
// compiled (Loki uses the same RE2 syntax), range durations are read, and
// the guardrail that each selector names at least one stream by a
// positive equality matcher is applied. The full grammar is left to Loki's
// own parser, asked through its format_query endpoint, which parses
// without running anything.
//
// Loki runs every stage on unmasked lines; only what comes back is
// masked. So the checker admits only stages whose effect can be re-checked
// on the masked result, and refuses the rest with the reason:
//
//   - line filters |= and |~ (with or): allowed in log queries; the caller
//     keeps a returned line only when the filter matches its masked text
//     away from every masked value ( and \B are refused: they look at
//     the byte beside a match);
//   - line filters != and !~: allowed in log queries; the caller takes them
//     out of what Loki runs and applies them to the masked lines itself;
//   - | json and | logfmt without parameters or flags: allowed;
//   - label filters with = =~ > >= < <= == (joined by and, or, comma,
//     parentheses): allowed in log queries; the caller drops a line when a
//     label they compare is masked in the result;
//   - negative label filters (!= !~), line_format, label_format, unpack,
//     regexp, pattern, unwrap, decolorize, drop, keep, distinct, pattern
//     line filters (|> !>), ip() and label_replace: refused, since they
//     rewrite lines or labels (moving a secret out of the context the
//     masker recognizes it by) or select on unmasked values in a way the
//     result cannot be re-checked for;
//   - a metric query may not hold any line or label filter: Loki counts on
//     unmasked lines, and a count cannot be re-checked;
//   - offset is refused: it reads outside the window the index guard sized.
package logql

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
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
	// Close is the byte offset of the selector's closing brace in the
	// query, where a scope matcher can be added.
	Close int
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
	// LineFilters are the log query's line filters, in order. Loki runs
	// them on unmasked lines, so the caller re-checks each on the masked
	// line (see the package documentation).
	LineFilters []LineFilter
	// LabelFilters names the labels that label filter expressions
	// (| status >= 500) compare; all of them use positive operators.
	LabelFilters []string
}

// LineFilter is one line filter: |= "a" or "b", |~ "re", != "a", !~ "re".
type LineFilter struct {
	// Op is |=, |~, != or !~.
	Op string
	// Values are the alternatives joined by or (one without or).
	Values []string
	// Start and End are the filter's byte span in the query, so a negative
	// filter can be taken out of what Loki runs and applied here instead.
	Start, End int
}

// Negative reports whether the filter drops the lines that match.
func (f LineFilter) Negative() bool { return f.Op == "!=" || f.Op == "!~" }

// Regexp reports whether the values are regular expressions.
func (f LineFilter) Regexp() bool { return f.Op == "|~" || f.Op == "!~" }

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
	if len(toks) == 0 {
		return nil, &Error{Msg: `the query is empty; start with a stream selector such as {app="api"}`}
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
			sel.Close = toks[next].pos
			out.Selectors = append(out.Selectors, sel)
			end, err := pipeline(toks, next+1, out)
			if err != nil {
				return nil, err
			}
			i = end - 1
		case t.kind == 'o' && pipeOps[t.text]:
			return nil, &Error{Col: t.pos + 1, Msg: fmt.Sprintf("%s must follow a stream selector or another stage", t.text)}
		case t.kind == 'i' && refusedFuncs[t.text] != "" && i+1 < len(toks) && toks[i+1].text == "(":
			return nil, &Error{Col: t.pos + 1, Msg: refusedFuncs[t.text]}
		case t.kind == 'i' && !callable[t.text] && i+1 < len(toks) && toks[i+1].text == "(":
			// Only names LogQL knows are passed on, so a refused
			// function cannot hide inside a longer name.
			return nil, &Error{Col: t.pos + 1, Msg: fmt.Sprintf("unknown function %q: use a LogQL range function (rate, count_over_time, bytes_over_time, ...) or aggregation (sum, avg, topk, ...)", t.text)}
		case t.kind == 'i' && t.text == "offset" && i+1 < len(toks) && toks[i+1].kind == 'n':
			// The index guard sizes the call's window; an offset would
			// read another one.
			return nil, &Error{Col: t.pos + 1, Msg: "offset is refused: it reads outside the time window the query was sized for; move the window with start and end instead"}
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
	if out.Metric && (len(out.LineFilters) > 0 || len(out.LabelFilters) > 0) {
		return nil, &Error{Msg: `a metric query may not filter lines or labels (|= "x", |~ "re", | status >= 500), so this one is refused: Loki counts on unmasked lines, so a count could reveal a masked value. Filter a log query instead (its lines are re-checked after masking), or count whole streams (sum by (app) (count_over_time({namespace="web"}[5m])))`}
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

// ValidLabel reports whether s is a valid Loki (Prometheus) label name:
// [a-zA-Z_][a-zA-Z0-9_]*.
func ValidLabel(s string) bool { return validLabel(s) }

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

// opChars are the characters LogQL spells its operators and punctuation
// with.
const opChars = "{}()[],=!~|<>+-*/%^:@"

var twoChar = []string{"|=", "!=", "|~", "!~", "=~", "|>", "!>", "==", ">=", "<="}

func lex(q string) ([]token, error) {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			// A comment could hide a stage from this check that another
			// parser reads, or the reverse; no query needs one.
			return nil, &Error{Col: i + 1, Msg: "comments (#) are not accepted: remove the comment"}
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
			// A number (5m, 1.5, 10KB) ends at a character that cannot
			// continue a name: "0label_replace(" must not split into a
			// number and "_replace" and hide a refused function's name.
			if j < len(q) && q[j] == '_' {
				return nil, &Error{Col: i + 1, Msg: fmt.Sprintf("malformed number %q: a number or duration is digits and a unit (5m, 1.5, 10KB)", q[i:j+1])}
			}
			toks = append(toks, token{kind: 'n', text: q[i:j], pos: i})
			i = j
		case !strings.ContainsRune(opChars, rune(c)):
			// Loki's lexer refuses any other character too; taking one
			// as an operator would also misjudge its length.
			return nil, &Error{Col: i + 1, Msg: fmt.Sprintf("unexpected character %q outside a string: put text to match in quotes", q[i:i+1])}
		default:
			op := q[i : i+1]
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
		n, err := strconv.ParseInt(rest[:j], 10, 64)
		k := j
		for k < len(rest) && (rest[k] < '0' || rest[k] > '9') {
			k++
		}
		unit := units[rest[j:k]]
		// A wrapped product or sum would be negative and pass every cap.
		if err != nil || n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("%q is too long a duration", s)
		}
		total += time.Duration(n) * unit
		rest = rest[k:]
	}
	return total, nil
}

// pipeOps start a pipeline stage.
var pipeOps = map[string]bool{"|": true, "|=": true, "|~": true, "!=": true, "!~": true, "|>": true, "!>": true}

// rewriteWhy is the reason every refused stage shares: what it does to a
// secret.
const rewriteWhy = "stages that rewrite lines or labels can move a secret out of the context the masker recognizes it by (line_format \"{{.password}}\" prints a password with no key beside it). Allowed: line filters (|= |~ != !~), | json and | logfmt without parameters, and label filters with = =~ > >= < <= =="

// refusedStages are the pipeline stages refused by name, with why.
var refusedStages = map[string]string{
	"line_format":  "| line_format is refused: " + rewriteWhy,
	"label_format": "| label_format is refused: " + rewriteWhy,
	"unpack":       "| unpack is refused: it replaces the line with a packed field; " + rewriteWhy,
	"regexp":       "| regexp is refused: it cuts arbitrary parts of a line (a secret without its key) into labels; " + rewriteWhy,
	"pattern":      "| pattern is refused: it cuts arbitrary parts of a line (a secret without its key) into labels; " + rewriteWhy,
	"unwrap":       "| unwrap is refused: it turns a label's value into a number the metric returns unmasked (a PIN, a key id); count lines instead (count_over_time, rate)",
	"decolorize":   "| decolorize is refused: it rewrites the line Loki filters and returns; " + rewriteWhy,
	"drop":         "| drop is refused: a label filter before it would compare a label the result no longer shows, so it could not be re-checked after masking",
	"keep":         "| keep is refused: a label filter before it would compare a label the result no longer shows, so it could not be re-checked after masking",
	"distinct":     "| distinct is refused: which lines it keeps depends on unmasked label values",
}

// refusedFuncs are metric functions refused by name, with why.
var refusedFuncs = map[string]string{
	"label_replace": "label_replace is refused: it copies any part of a label's value into a new label, out of the context the masker recognizes a secret by",
}

// callable are the names that may come before "(" outside a pipeline:
// Loki's range functions and aggregations, and the grouping and vector
// matching keywords.
var callable = map[string]bool{
	"rate": true, "rate_counter": true, "count_over_time": true, "bytes_rate": true, "bytes_over_time": true,
	"absent_over_time": true, "sum_over_time": true, "avg_over_time": true, "max_over_time": true,
	"min_over_time": true, "first_over_time": true, "last_over_time": true, "stdvar_over_time": true,
	"stddev_over_time": true, "quantile_over_time": true,
	"sum": true, "avg": true, "min": true, "max": true, "stddev": true, "stdvar": true, "count": true,
	"topk": true, "bottomk": true, "sort": true, "sort_desc": true, "approx_topk": true, "vector": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true,
}

// labelOps are the label filter comparisons; the negative ones are
// refused (see labelFilter).
var labelOps = map[string]bool{"=": true, "=~": true, ">": true, ">=": true, "<": true, "<=": true, "==": true, "!=": true, "!~": true}

// stageEnd reports whether t ends a parser stage (a parser takes no
// parameters here).
func stageEnd(t token) bool {
	return t.kind == 'o' && (pipeOps[t.text] || t.text == "[" || t.text == ")")
}

// pipeline reads the stages after a stream selector from toks[i] and
// returns where they end.
func pipeline(toks []token, i int, out *Query) (int, error) {
	for i < len(toks) {
		t := toks[i]
		if t.kind != 'o' {
			return i, nil
		}
		switch t.text {
		case "|=", "|~", "!=", "!~":
			f, next, err := lineFilter(toks, i)
			if err != nil {
				return i, err
			}
			out.LineFilters = append(out.LineFilters, f)
			i = next
		case "|>", "!>":
			return i, &Error{Col: t.pos + 1, Msg: fmt.Sprintf("pattern line filters (%s) are refused: their <_> placeholders match parts of a secret Loki sees unmasked; use |= with a literal or |~ with a regular expression", t.text)}
		case "|":
			if i+1 < len(toks) && toks[i+1].kind == 'o' && toks[i+1].text == "(" {
				names, next, err := labelFilter(toks, i+1)
				if err != nil {
					return i, err
				}
				out.LabelFilters = append(out.LabelFilters, names...)
				i = next
				continue
			}
			if i+1 >= len(toks) || toks[i+1].kind != 'i' {
				return i, &Error{Col: t.pos + 1, Msg: "| must be followed by a stage, e.g. | json or | status >= 500"}
			}
			name := toks[i+1]
			switch {
			case name.text == "json" || name.text == "logfmt":
				if i+2 < len(toks) && !stageEnd(toks[i+2]) {
					return i, &Error{Col: toks[i+2].pos + 1, Msg: fmt.Sprintf("| %s with parameters or flags is refused (it takes none here: extracting a field under another name is a rewrite); %s", name.text, rewriteWhy)}
				}
				i += 2
			case refusedStages[name.text] != "":
				return i, &Error{Col: name.pos + 1, Msg: refusedStages[name.text]}
			case i+2 < len(toks) && toks[i+2].kind == 'o' && labelOps[toks[i+2].text],
				i+2 < len(toks) && toks[i+2].text == "(":
				names, next, err := labelFilter(toks, i+1)
				if err != nil {
					return i, err
				}
				out.LabelFilters = append(out.LabelFilters, names...)
				i = next
			default:
				return i, &Error{Col: name.pos + 1, Msg: fmt.Sprintf("| %s is not an allowed stage. Allowed: line filters (|= |~ != !~), | json and | logfmt without parameters, and label filters such as | status >= 500", name.text)}
			}
		default:
			return i, nil
		}
	}
	return i, nil
}

// lineFilter reads |= "a" [or "b" ...] at toks[i].
func lineFilter(toks []token, i int) (LineFilter, int, error) {
	op := toks[i]
	f := LineFilter{Op: op.text, Start: op.pos}
	j := i + 1
	for {
		if j >= len(toks) || toks[j].kind != 's' {
			if j < len(toks) && toks[j].kind == 'i' && toks[j].text == "ip" {
				return f, j, &Error{Col: toks[j].pos + 1, Msg: "ip() line filters are refused; match the address with |= or |~"}
			}
			return f, j, &Error{Col: pos(toks, j), Msg: fmt.Sprintf("%s must be followed by a quoted string, e.g. %s \"timeout\"", op.text, op.text)}
		}
		v := toks[j]
		if f.Regexp() {
			if err := filterRegexp(v.val, !f.Negative()); err != nil {
				return f, j, &Error{Col: v.pos + 1, Msg: fmt.Sprintf("line filter %s %q %v", op.text, v.val, err)}
			}
		}
		f.Values = append(f.Values, v.val)
		f.End = v.pos + len(v.text)
		j++
		if j+1 < len(toks) && toks[j].kind == 'i' && toks[j].text == "or" && toks[j+1].kind == 's' {
			j++
			continue
		}
		return f, j, nil
	}
}

// filterRegexp checks a line filter's regular expression. A positive one
// is re-checked on the masked line for a match that touches no masked
// value; \b and \B look at the byte beside a match, which may be a
// masked one, so they are refused there.
func filterRegexp(expr string, positive bool) error {
	if _, err := regexp.Compile(expr); err != nil {
		return fmt.Errorf("is not a valid RE2 expression: %v", err)
	}
	if !positive {
		return nil
	}
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return fmt.Errorf("is not a valid RE2 expression: %v", err)
	}
	if hasWordBoundary(re) {
		return fmt.Errorf(`uses \b or \B, which test the byte beside a match: that byte may belong to a masked value. Spell the neighbour out instead, e.g. "[ =]error[ ,]"`)
	}
	return nil
}

func hasWordBoundary(re *syntax.Regexp) bool {
	if re.Op == syntax.OpWordBoundary || re.Op == syntax.OpNoWordBoundary {
		return true
	}
	for _, s := range re.Sub {
		if hasWordBoundary(s) {
			return true
		}
	}
	return false
}

// labelFilter reads a label filter expression (a = "x" and (b > 5 or c
// =~ "y.*")) starting at the label name toks[i], and returns the labels it
// names. Negative comparisons are refused: Loki would drop the lines whose
// unmasked value matches (| password != "hunter2"), and which lines are
// missing would tell the value.
func labelFilter(toks []token, i int) ([]string, int, error) {
	var names []string
	depth := 0
	for {
		for i < len(toks) && toks[i].kind == 'o' && toks[i].text == "(" {
			depth++
			i++
		}
		if i+2 >= len(toks) || toks[i].kind != 'i' {
			return nil, i, &Error{Col: pos(toks, i), Msg: "a label filter looks like | status >= 500 or | level = \"error\""}
		}
		name, op := toks[i], toks[i+1]
		if !validLabel(name.text) {
			return nil, i, &Error{Col: name.pos + 1, Msg: fmt.Sprintf("%q is not a valid label name", name.text)}
		}
		if op.kind != 'o' || !labelOps[op.text] {
			return nil, i, &Error{Col: op.pos + 1, Msg: fmt.Sprintf("label filter on %s: expected = =~ > >= < <= or ==, found %q", name.text, op.text)}
		}
		if op.text == "!=" || op.text == "!~" {
			return nil, i, &Error{Col: op.pos + 1, Msg: fmt.Sprintf("negative label filters (%s %s ...) are refused: Loki would drop the lines whose unmasked value matches, and which lines are missing would tell a masked value. Use a positive comparison (= =~ > >= < <= ==) or a stream selector matcher", name.text, op.text)}
		}
		j := i + 2
		if toks[j].kind == 'o' && toks[j].text == "-" && j+1 < len(toks) && toks[j+1].kind == 'n' {
			j++
		}
		v := toks[j]
		switch {
		case v.kind == 's':
			if op.text == "=~" {
				if _, err := regexp.Compile("^(?:" + v.val + ")$"); err != nil {
					return nil, j, &Error{Col: v.pos + 1, Msg: fmt.Sprintf("label filter %s=~%q is not a valid RE2 expression: %v", name.text, v.val, err)}
				}
			}
		case v.kind == 'n':
		case v.kind == 'i' && v.text == "ip":
			return nil, j, &Error{Col: v.pos + 1, Msg: "ip() label filters are refused; compare the address with = or =~"}
		default:
			return nil, j, &Error{Col: v.pos + 1, Msg: fmt.Sprintf("label filter on %s: the value must be a quoted string or a number, found %q", name.text, v.text)}
		}
		names = append(names, name.text)
		i = j + 1
		for depth > 0 && i < len(toks) && toks[i].kind == 'o' && toks[i].text == ")" {
			depth--
			i++
		}
		if i < len(toks) && (toks[i].kind == 'i' && (toks[i].text == "and" || toks[i].text == "or") || toks[i].kind == 'o' && toks[i].text == ",") {
			i++
			continue
		}
		if depth != 0 {
			return nil, i, &Error{Col: pos(toks, i), Msg: "unbalanced ( in a label filter"}
		}
		return names, i, nil
	}
}
