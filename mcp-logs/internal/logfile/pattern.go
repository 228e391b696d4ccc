package logfile

import (
	"bytes"
	"regexp"
	"regexp/syntax"
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
	// rawLits are lits when none of them can come from a placeholder
	// (see placeholderSafe): then a record whose unmasked text holds none
	// of them cannot match once masked, and is not masked at all. nil:
	// every record is masked and matched.
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
	if len(p.lits) > 0 {
		p.rawLits = p.lits
		for _, l := range p.lits {
			if !placeholderSafe(l, p.fold) {
				p.rawLits = nil
				break
			}
		}
	}
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

// placeholderSafe reports whether literal l can only occur in masked text
// where it occurs in the unmasked text. A placeholder is
// "[MASKED:<kind>:<hex>]", its kind lower-case letters, digits and '-'
// (shared/mask; TestPlaceholderAlphabet checks the real masker). A literal
// without brackets cannot straddle a placeholder's edge, and one holding
// a byte no placeholder has cannot lie inside one: so a match of it in
// masked text is a match in the unmasked text too. With fold, l is lower
// case and the text is lower-cased, so every letter may be a
// placeholder's.
func placeholderSafe(l []byte, fold bool) bool {
	if bytes.ContainsAny(l, "[]") {
		return false
	}
	for _, c := range l {
		switch {
		case c >= 0x80, c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == ':', c == '-':
		case c >= 'A' && c <= 'Z' && (fold || bytes.IndexByte([]byte("MASKED"), c) >= 0):
		default:
			return true
		}
	}
	return false
}
