package tools

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opsmcp/opsmcp/mcp-logs/internal/logfile"
	"github.com/opsmcp/opsmcp/mcp-logs/internal/logql"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// nsLabel is the Loki label the policy scope "namespaces" applies to.
const nsLabel = "namespace"

// nsScope is what the caller's policy scope "namespaces" allows on Loki:
// nil when unrestricted, else a regular expression of the allowed globs
// that every stream selector is narrowed with.
type nsScope struct {
	pats []string
	re   string
}

// namespaceScope reads the caller's scope. A role restricted to no
// namespace at all may read no stream.
func namespaceScope(c *tool.Call) (*nsScope, error) {
	pats := c.Scope("namespaces")
	if pats == nil {
		return nil, nil
	}
	if len(pats) == 0 {
		return nil, tool.Deniedf("your role may read no Loki namespace (policy scope namespaces is empty)")
	}
	parts := make([]string, 0, len(pats))
	for _, p := range pats {
		parts = append(parts, globRegexp(p))
	}
	sort.Strings(parts)
	return &nsScope{pats: pats, re: strings.Join(parts, "|")}, nil
}

// narrow holds every selector of q to the scope: a selector naming a
// namespace outside it by = is refused (so the caller learns why nothing
// came back), any other gets the matcher namespace=~"<allowed>" added, so
// regular expressions and missing namespace matchers cannot widen it.
// It returns the query text with the matchers inserted.
func (ns *nsScope) narrow(c *tool.Call, query string, q *logql.Query) (string, error) {
	if ns == nil {
		return query, nil
	}
	for i := range q.Selectors {
		for _, m := range q.Selectors[i].Matchers {
			if m.Label == nsLabel && m.Op == "=" && !c.Allows("namespaces", m.Value) {
				return "", tool.Deniedf("your role may not read Loki namespace %q; it may read %s", m.Value, strings.Join(ns.pats, ", "))
			}
		}
	}
	var edits []edit
	for i := range q.Selectors {
		sel := &q.Selectors[i]
		sel.Matchers = append(sel.Matchers, logql.Matcher{Label: nsLabel, Op: "=~", Value: ns.re})
		edits = append(edits, edit{at: sel.Close, end: sel.Close, text: ", " + nsLabel + "=~" + strconv.Quote(ns.re)})
	}
	return apply(query, edits), nil
}

// selector is a bare selector for the listing tools: the caller's, or
// one of the scope alone when the caller gave none.
func (ns *nsScope) selector(sel string) string {
	if ns == nil || sel != "" {
		return sel
	}
	return "{" + nsLabel + "=~" + strconv.Quote(ns.re) + "}"
}

// allows filters namespace label values to the scope.
func (ns *nsScope) allows(c *tool.Call, v string) bool {
	return ns == nil || c.Allows("namespaces", v)
}

// globRegexp turns a policy glob (path.Match syntax: * ? [a-z] \x) into
// an RE2 expression for a Loki =~ matcher, which Loki anchors.
func globRegexp(glob string) string {
	if !utf8.ValidString(glob) {
		return `[^\x00-\x{10FFFF}]` // no expression names its bytes: match nothing
	}
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '\\':
			if i+1 < len(glob) {
				i++
				b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
			}
		case '[':
			class, next, ok := globClass(glob[i+1:])
			if !ok {
				b.WriteString(regexp.QuoteMeta(glob[i:])) // policy.Parse refuses this; never widen
				return b.String()
			}
			b.WriteString(class)
			i += next
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		}
	}
	return b.String()
}

// globClass translates the character class after a '[' (path.Match
// syntax) and returns it with the bytes it used, or false when it is not
// closed. Every rune is written as \x{...}; a range whose ends are out
// of order matches nothing, as in path.Match.
func globClass(s string) (string, int, bool) {
	neg := strings.HasPrefix(s, "^")
	i := 0
	if neg {
		i = 1
	}
	var items []string
	first := true
	for {
		if i >= len(s) {
			return "", 0, false
		}
		if s[i] == ']' && !first {
			i++
			break
		}
		first = false
		lo, n := classRune(s[i:])
		if n == 0 {
			return "", 0, false
		}
		i += n
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			r, n := classRune(s[i+1:])
			if n == 0 {
				return "", 0, false
			}
			hi = r
			i += 1 + n
		}
		if lo <= hi {
			items = append(items, fmt.Sprintf(`\x{%x}-\x{%x}`, lo, hi))
		}
	}
	switch {
	case len(items) == 0 && neg:
		return `[\x{0}-\x{10ffff}]`, i, true
	case len(items) == 0:
		return `[^\x{0}-\x{10ffff}]`, i, true
	case neg:
		return "[^" + strings.Join(items, "") + "]", i, true
	}
	return "[" + strings.Join(items, "") + "]", i, true
}

// classRune reads one class character (escaped with a backslash or not).
func classRune(s string) (rune, int) {
	n := 0
	if s[0] == '\\' {
		n = 1
		if len(s) < 2 {
			return 0, 0
		}
	}
	r, w := utf8.DecodeRuneInString(s[n:])
	return r, n + w
}

// edit replaces query[at:end] with text.
type edit struct {
	at, end int
	text    string
}

// apply makes non-overlapping edits to s.
func apply(s string, edits []edit) string {
	sort.Slice(edits, func(i, j int) bool { return edits[i].at < edits[j].at })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(s[last:e.at])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// forLoki is the query Loki runs: negative line filters are taken out
// (applied to the masked lines here instead: Loki would drop the lines
// whose unmasked text matches, and which lines are missing would tell a
// masked value), and scope matchers are added.
func forLoki(c *tool.Call, ns *nsScope, query string, q *logql.Query) (string, error) {
	var edits []edit
	for _, f := range q.LineFilters {
		if f.Negative() {
			edits = append(edits, edit{at: f.Start, end: f.End, text: " "})
		}
	}
	stripped := apply(query, edits)
	if ns == nil {
		return stripped, nil
	}
	// Re-read the stripped text for the selectors' positions.
	sq, err := logql.Check(stripped)
	if err != nil {
		return "", fmt.Errorf("internal error: the query without its negative filters does not parse: %w", err)
	}
	out, err := ns.narrow(c, stripped, sq)
	if err != nil {
		return "", err
	}
	q.Selectors = sq.Selectors
	return out, nil
}

// keep re-checks one returned line on its masked text and says whether it
// stays: each positive line filter must match the masked line away from
// every masked value, no negative one may match it, and no label a label
// filter compared may be masked in any of labelSets. line is the masked
// line.
func keep(q *logql.Query, res regexps, line string, maskText func(string) string, labelSets ...map[string]string) bool {
	spans := logfile.PlaceholderSpans(line)
	for _, f := range q.LineFilters {
		hit := false
		for _, v := range f.Values {
			if matches(res, f.Regexp(), v, line, spans, f.Negative()) {
				hit = true
				break
			}
		}
		if hit == f.Negative() {
			return false
		}
	}
	for _, name := range q.LabelFilters {
		for _, labels := range labelSets {
			v, ok := labels[name]
			if !ok {
				continue
			}
			if mask.SensitiveKey(name) || strings.Contains(v, mask.Prefix) || maskText(v) != v || strings.Contains(maskText(name+"="+v), mask.Prefix) {
				return false // Loki compared a value the result hides
			}
		}
	}
	return true
}

// matches reports whether v (a literal, or a regular expression) matches
// line: anywhere when any is set, else only by a match that touches no
// span.
func matches(res regexps, isRE bool, v, line string, spans [][2]int, any bool) bool {
	var locs [][]int
	if isRE {
		re := res[v]
		if re == nil {
			return false // the checker compiled it; never keep on doubt
		}
		locs = re.FindAllStringIndex(line, -1)
	} else {
		for from := 0; from <= len(line); {
			i := strings.Index(line[from:], v)
			if i < 0 {
				break
			}
			locs = append(locs, []int{from + i, from + i + len(v)})
			from += i + max(len(v), 1)
		}
	}
	for _, l := range locs {
		if any || !logfile.Touches(spans, l[0], l[1]) {
			return true
		}
	}
	return false
}

// regexps are a query's line filter expressions, compiled once per call.
type regexps map[string]*regexp.Regexp

// compileFilters compiles the regular expressions of q's line filters.
func compileFilters(q *logql.Query) regexps {
	res := regexps{}
	for _, f := range q.LineFilters {
		if !f.Regexp() {
			continue
		}
		for _, v := range f.Values {
			if re, err := regexp.Compile(v); err == nil {
				res[v] = re
			}
		}
	}
	return res
}
