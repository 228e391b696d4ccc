package logfile

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Pattern is a compiled search expression. Go's regexp runs at tens of
// MB/s when an expression has no literal prefix, so lines are first found
// by literals every match must contain (searched with the SIMD-backed
// bytes.Index), and only those lines go through the regexp.
type Pattern struct {
	re *regexp.Regexp // (?m): ^ and $ match at line boundaries
	// lits: every match contains at least one of them; nil when no such
	// set is known, and the regexp scans whole blocks instead.
	lits [][]byte
	// fold: lits are lower case and are looked for in lower-cased text.
	fold bool
	// rawLits are lits, looked for in unmasked records: a match must lie
	// away from masked values (ClearMatch), so it holds a literal that is
	// in the unmasked text too, and a record without any is not masked at
	// all. nil: every record is masked and matched.
	rawLits [][]byte
}

// Compile prepares an RE2 pattern ("" matches every line).
func Compile(pattern string) (*Pattern, error) {
	if pattern == "" {
		return nil, nil
	}
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	re, err := regexp.Compile("(?m)" + pattern)
	if err != nil {
		return nil, err
	}
	p := &Pattern{re: re}
	if tree, err := syntax.Parse(pattern, syntax.Perl); err == nil {
		if set, ok := required(tree.Simplify()); ok && len(set) > 0 {
			p.lits, p.fold = literals(set)
		}
	}
	p.rawLits = p.lits
	return p, nil
}

// String returns the expression.
func (p *Pattern) String() string { return p.re.String()[len("(?m)"):] }

// lit is a literal a match must contain, and whether it matches case
// insensitively.
type lit struct {
	s    string
	fold bool
}

// required returns literals at least one of which every match of re
// contains, or false when it cannot tell.
func required(re *syntax.Regexp) ([]lit, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil, false
		}
		return []lit{{s: string(re.Rune), fold: re.Flags&syntax.FoldCase != 0}}, true
	case syntax.OpCapture:
		return required(re.Sub[0])
	case syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil, false
	case syntax.OpAlternate:
		var out []lit
		for _, sub := range re.Sub {
			set, ok := required(sub)
			if !ok {
				return nil, false
			}
			out = append(out, set...)
		}
		return out, true
	case syntax.OpConcat:
		// Adjacent literals join into a longer one; of the parts, the set
		// whose shortest literal is longest filters best.
		var best []lit
		found := false
		consider := func(set []lit) {
			if !found || shortest(set) > shortest(best) || shortest(set) == shortest(best) && len(set) < len(best) {
				best, found = set, true
			}
		}
		var run []rune
		runFold := false
		flush := func() {
			if len(run) > 0 {
				consider([]lit{{s: string(run), fold: runFold}})
				run = nil
			}
		}
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				f := sub.Flags&syntax.FoldCase != 0
				if len(run) > 0 && f != runFold {
					flush()
				}
				run, runFold = append(run, sub.Rune...), f
				continue
			}
			flush()
			if set, ok := required(sub); ok {
				consider(set)
			}
		}
		flush()
		return best, found
	}
	return nil, false
}

func shortest(set []lit) int {
	n := -1
	for _, l := range set {
		if n < 0 || len(l.s) < n {
			n = len(l.s)
		}
	}
	return n
}

// literals turns a set into byte strings: all lower-cased when any of them
// folds case (then only ASCII letters may fold), or nil when that fails.
func literals(set []lit) ([][]byte, bool) {
	fold := false
	for _, l := range set {
		fold = fold || l.fold
	}
	out := make([][]byte, 0, len(set))
	for _, l := range set {
		b := []byte(l.s)
		if fold {
			for _, r := range l.s {
				if r >= utf8.RuneSelf && l.fold {
					return nil, false
				}
			}
			b = lowerASCII(nil, b)
		}
		out = append(out, b)
	}
	return out, fold
}

// lowerASCII lower-cases ASCII letters of src into dst (resized).
func lowerASCII(dst, src []byte) []byte {
	if cap(dst) < len(src) {
		dst = make([]byte, len(src))
	}
	dst = dst[:len(src)]
	for i, c := range src {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return dst
}

// PlaceholderSpans finds the masked values in masked text: every
// "[MASKED" to the next "]", or to the end when none follows (one already
// in the unmasked text counts too: it may stand for anything).
func PlaceholderSpans(s string) [][2]int {
	var out [][2]int
	for off := 0; ; {
		i := strings.Index(s[off:], placeholderPrefix)
		if i < 0 {
			return out
		}
		start := off + i
		end := strings.IndexByte(s[start:], ']')
		if end < 0 {
			return append(out, [2]int{start, len(s)})
		}
		out = append(out, [2]int{start, start + end + 1})
		off = start + end + 1
	}
}

// Touches reports whether [start, end) overlaps a span, or, empty, lies
// inside one.
func Touches(spans [][2]int, start, end int) bool {
	for _, s := range spans {
		if start < s[1] && s[0] < end || start == end && s[0] < start && start < s[1] {
			return true
		}
	}
	return false
}

// match applies the pattern to a masked line. A pattern with literals
// must match away from masked values (ClearMatch), which also makes
// looking for its literals in unmasked records exact; one without (".",
// "\d{3}") matches the masked text as it is. Either way the answer
// depends on the masked text alone.
func (p *Pattern) match(text string) bool {
	if p.rawLits != nil {
		return ClearMatch(p.re, text)
	}
	return p.re.MatchString(text)
}

// ClearMatch reports whether re matches masked text away from every
// masked value: masked values match nothing, so a match never depends on
// one (and a match of the unmasked text's literals is the only way in,
// which makes the literal prefilter on unmasked text exact).
func ClearMatch(re *regexp.Regexp, text string) bool {
	spans := PlaceholderSpans(text)
	if len(spans) == 0 {
		return re.MatchString(text)
	}
	for _, l := range re.FindAllStringIndex(text, -1) {
		if !Touches(spans, l[0], l[1]) {
			return true
		}
	}
	return false
}
