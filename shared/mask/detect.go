package mask

import (
	"math"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// A detector finds secrets of one kind by shape. hint is a cheap substring
// test (lower-cased text) that must hold before the regexp runs: most text
// has no secrets, and the hint keeps the common case fast. group selects the
// submatch that is the secret (0: the whole match).
type detector struct {
	kind  string
	hints []string
	re    *regexp.Regexp
	group int
	// check, if set, confirms a match (e.g. entropy, key name).
	check func(s string, m []int) bool
	// perLine runs the regexp only on the lines whose lower-cased text
	// holds a hint, looking again from each match's value: these
	// detectors match almost anywhere, so most lines must be skipped
	// cheaply.
	perLine bool
	// lineOK, if set, is a cheap test (of a line and its lower-cased
	// text) that must hold for the line to hold a match that passes
	// check: a necessary condition, never a guess, so skipping the
	// other lines changes no result.
	lineOK func(line, lower string) bool
	// local is set (by init, from the regexp's syntax) when no match can
	// span a line: the regexp then runs only on the lines that hold a
	// hint, which every match contains.
	local bool
	// anchors, for a regexp that can span lines, are the words (lower
	// case) every match starts with, after \b and at most one of leads:
	// the regexp is tried only there, anchored (anchored, set by init),
	// instead of at every byte of the text.
	anchors, leads []string
	anchored       *regexp.Regexp
	// maxRuns, if set, bounds the runs of non-white-space bytes (white
	// space being \s: [\t\n\f\r ]) an anchored match can reach: each part
	// of the regexp reads either white space only or no white space,
	// and the last part (the value) stops at white space. The anchored
	// regexp then reads only up to the white space after that many runs,
	// and a short input is matched by Go's backtracker, not its slower
	// NFA; no path of the regexp reads past it, so the match is the same.
	maxRuns int
	// anchorsHinted is set (by init) when every anchor is a hint: each
	// then lies on a line the hint scan listed, and only those lines are
	// searched for anchors.
	anchorsHinted bool
	// fold is set (by init) for a case-insensitive regexp: Go folds k
	// and s with the Kelvin sign and the long s, which the ASCII hints
	// do not see.
	fold bool
	// named takes the placeholder kind from the key (submatch 1), so the
	// reader sees "[MASKED:db-password:…]".
	named bool
	// find, when set, replaces re: code for shapes a regexp cannot say
	// (indented blocks, nested braces). It returns submatch indexes laid
	// out as regexp's, with the key in group 1 when named.
	find func(s string) [][]int
	// kv, for key=value detectors, replaces re on each line: see kvLine.
	kv kvValue
	// scanner, when set, is re.FindAllStringSubmatchIndex written out,
	// run on each hint line of a local detector, on the whole text of
	// another: the regexp stays the definition (FuzzPrefiltersExact
	// holds the two equal, and it still reads a text with a folding
	// rune), the scanner is what runs.
	scanner func(line string) [][]int
	// startsAtHint (set by init for a local regexp that starts with \b
	// and a hint) is that regexp anchored: on a hinted line it is tried
	// only where a hint starts, as anchoredMatches does, not at every
	// byte (\b before a literal is no literal prefix for Go's search).
	startsAtHint *regexp.Regexp
	// atHint says every match starts with one of the hints (in any
	// case): init then sets startsAtHint.
	atHint bool
}

// kvValue says how a key=value detector reads the value after "key=".
type kvValue int

const (
	kvNone kvValue = iota
	// kvAssignment: a quoted string, or a run up to white space or one of
	// " ' , ; & } ].
	kvAssignment
	// kvEntropy: an optional quote, then 24 or more base64/URL-safe
	// characters, the first not a '/'.
	kvEntropy
)

// kvKeyRE is a key and its separator: "key=", "key: ", "\"key\": ".
// Besides = and :, Go's := and Ruby's and PHP's => separate a key from its
// value; a YAML tag (!!binary, !vault) and a one-value list ("key":
// ["value"], as JSON and Go render HTTP headers) come before the value.
// In source code (:= and =>) only a quoted literal is a value: "secret
// := range", "pw := mk(…)" are code.
var kvKeyRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*(:=|=>|=|:)[ \t]*(?:![!A-Za-z0-9_./-]*[ \t]+)?(?:\[[ \t]*)?`)

// kvKeys is kvKeyRE.FindAllStringSubmatchIndex(line, -1), in one pass
// over the line (the regexp, with no literal to look for, tried every
// byte and was most of the time masking took on a line with keys). A
// key is a whole run of key characters from its first letter or '_':
// a shorter key is followed by a key character, which neither a quote,
// a blank nor a separator is; and a match ends on a separator, a blank
// or a '[', so the next search starts at a run's start.
func kvKeys(line string) [][]int {
	return groups(kvKeysAppend(nil, line), 6)
}

// kvKeysAppend is kvKeys, appending each match's 6 indexes to flat (one
// allocation per line at most, not one per key).
func kvKeysAppend(flat []int, line string) []int {
	blanks := func(i int) int {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		return i
	}
	for i := 0; i < len(line); {
		if !keyByte(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && keyByte(line[j]) {
			j++
		}
		k0 := i
		for k0 < j && !(line[k0] >= 'a' && line[k0] <= 'z' || line[k0] >= 'A' && line[k0] <= 'Z' || line[k0] == '_') {
			k0++
		}
		if k0 == j {
			i = j
			continue
		}
		p := j
		if p < len(line) && (line[p] == '"' || line[p] == '\'') {
			p++
		}
		p = blanks(p)
		var sep int
		switch {
		case strings.HasPrefix(line[p:], ":=") || strings.HasPrefix(line[p:], "=>"):
			sep = 2
		case p < len(line) && (line[p] == '=' || line[p] == ':'):
			sep = 1
		default:
			i = j
			continue
		}
		e := blanks(p + sep)
		if e < len(line) && line[e] == '!' {
			t := e + 1
			for t < len(line) && (keyByte(line[t]) || line[t] == '!' || line[t] == '/') {
				t++
			}
			if b := blanks(t); b > t {
				e = b
			}
		}
		if e < len(line) && line[e] == '[' {
			e = blanks(e + 1)
		}
		flat = append(flat, k0, e, k0, j, p, p+sep)
		i = e
	}
	return flat
}

// groups cuts flat into slices of n (regexp's submatch layout), nil for
// none, sharing flat's array: two allocations for any number of matches.
func groups(flat []int, n int) [][]int {
	if len(flat) == 0 {
		return nil
	}
	out := make([][]int, len(flat)/n)
	for i := range out {
		out[i] = flat[n*i : n*i+n : n*i+n]
	}
	return out
}

// keyByte is a character of kvKeyRE's key after its first.
func keyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// kvLine finds every key=value on one line, keys inside values included
// ("chat: password: x", "a=b=password=x"), in time linear in the line:
// keys by one regexp pass, values by cursors that only move forward. (A
// regexp run from each key over the rest of the line was quadratic: 8 KB
// of "key=key=…" took a third of a second.)
func kvLine(line string, how kvValue) [][]int {
	return groups(kvLineAppend(nil, line, how), 6)
}

// kvLineAppend is kvLine, appending each match's 6 indexes to flat.
func kvLineAppend(flat []int, line string, how kvValue) []int {
	var buf [8 * 6]int // (most lines hold a few keys)
	flat6 := kvKeysAppend(buf[:0], line)
	if len(flat6) == 0 {
		return flat
	}
	var run, dq, sq, cr, b64 cursor
	for i := 0; i < len(flat6); i += 6 {
		k := flat6[i : i+6]
		e := k[1]
		if e >= len(line) {
			continue
		}
		if code := k[5]-k[4] == 2; code && line[e] != '"' && line[e] != '\'' && line[e] != '`' {
			continue
		}
		var v0, v1 int
		switch how {
		case kvAssignment:
			switch c := line[e]; c {
			case '"', '\'':
				q := &dq
				if c == '\'' {
					q = &sq
				}
				close := q.nextQuote(line, e+1, c)
				if end := cr.next(line, e+1, func(b byte) bool { return b == '\r' }); close >= len(line) || end < close {
					// Unterminated on this line (a cut log line, a
					// multi-line string): the value runs to its end.
					v0, v1 = e+1, end
					break
				}
				v0, v1 = e, close+1
			default:
				v0, v1 = e, run.next(line, e, assignmentStop)
				// A value that starts with a placeholder goes on after it
				// ("[MASKED:x:…]hunter2": the ']' ends the placeholder,
				// not the value).
				if p0, p1 := placeholderAt(line, e); p1 > 0 {
					v0, v1 = p0, run.next(line, p1, assignmentStop)
				}
			}
		case kvEntropy:
			v0 = e
			if c := line[e]; c == '"' || c == '\'' {
				v0++
			}
			if v0 >= len(line) || line[v0] == '/' || !base64Char(line[v0]) {
				continue
			}
			// A run stops at an '=' inside it: base64 pads only at its
			// end, and "a=b=c…" is keys, not one value (whose entropy
			// would be counted again for every key in it).
			v1 = b64.next(line, v0, func(b byte) bool { return !base64Char(b) || b == '=' })
			for v1 < len(line) && line[v1] == '=' {
				v1++
			}
			if v1-v0 < 24 {
				continue
			}
		}
		if v1 <= v0 {
			continue
		}
		flat = append(flat, k[0], v1, k[2], k[3], v0, v1)
	}
	return flat
}

// placeholderAt returns the bounds of a placeholder that starts at i, or
// at i-1 when a '[' before i was taken for a list's opening; p1 is 0 when
// there is none. It reads at most one placeholder's length.
func placeholderAt(line string, i int) (p0, p1 int) {
	switch {
	case strings.HasPrefix(line[i:], "[MASKED:"):
		p0 = i
	case i > 0 && line[i-1] == '[' && strings.HasPrefix(line[i:], "MASKED:"):
		p0 = i - 1
	default:
		return 0, 0
	}
	end := min(len(line), p0+maxPlaceholder)
	m := placeholderRE.FindStringIndex(line[p0:end])
	if m == nil || m[0] != 0 {
		return 0, 0
	}
	return p0, p0 + m[1]
}

// cursor finds the next byte at or after a position that satisfies a
// test, remembering its last answer: asked with positions that never go
// back, it reads each byte once.
type cursor struct {
	from, at int
	set      bool
}

func (c *cursor) next(s string, from int, stop func(byte) bool) int {
	// No stop lies in [c.from, c.at): any from in that range stops at c.at.
	if c.set && c.from <= from && from <= c.at {
		return c.at
	}
	i := from
	for i < len(s) && !stop(s[i]) {
		i++
	}
	c.from, c.at, c.set = from, i, true
	return i
}

// nextQuote is next for the closing quote c of a quoted value, skipping
// backslash escapes ("abc\"def" is one value, not "abc\"). Escapes are
// paired from where the scan starts; the memo holds for any later start
// before the answer, as for next.
func (c *cursor) nextQuote(s string, from int, q byte) int {
	if c.set && c.from <= from && from <= c.at {
		return c.at
	}
	i := from
	for i < len(s) && s[i] != q {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	if i > len(s) {
		i = len(s)
	}
	c.from, c.at, c.set = from, i, true
	return i
}

func assignmentStop(b byte) bool {
	switch b {
	case ' ', '\t', '\n', '\r', '\f', '\v', '"', '\'', ',', ';', '&', '}', ']':
		return true
	}
	return false
}

func base64Char(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '_' || b == '=' || b == '-'
}

// asciiLower lower-cases ASCII letters only. Hints are ASCII, and unlike
// strings.ToLower this keeps every byte offset equal to the original's:
// "İ" (2 bytes) lowers to 3 bytes, the Kelvin sign (3) to 1, and offsets
// measured in one text must slice the other.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

var detectors = []detector{
	// PEM and PGP private key blocks, whole: an unterminated block is masked
	// to the end of the text.
	{kind: "private-key", hints: []string{"private key"},
		re:      regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)`),
		scanner: privateKeys},
	{kind: "jwt", hints: []string{"eyj"},
		re:      regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`),
		scanner: jwts},
	{kind: "aws-access-key", atHint: true, hints: []string{"akia", "asia", "agpa", "aida", "aroa", "anpa", "aipa"},
		re: regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[A-Z0-9]{16}\b`)},
	{kind: "gcp-api-key", atHint: true, hints: []string{"aiza"},
		re: regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{kind: "google-oauth", atHint: true, hints: []string{"ya29."},
		re: regexp.MustCompile(`\bya29\.[0-9A-Za-z_-]{20,}`)},
	{kind: "github-token", atHint: true, hints: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		re: regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b`)},
	{kind: "gitlab-token", atHint: true, hints: []string{"glpat-", "glrt-", "gldt-"},
		re: regexp.MustCompile(`\b(?:glpat|glrt|gldt)-[A-Za-z0-9_-]{20,}`)},
	{kind: "slack-token", atHint: true, hints: []string{"xox"},
		re: regexp.MustCompile(`\bxox[abposre]-[A-Za-z0-9-]{10,}`)},
	{kind: "slack-webhook", hints: []string{"hooks.slack.com"},
		re: regexp.MustCompile(`https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+`)},
	{kind: "discord-webhook", hints: []string{"discord"},
		re: regexp.MustCompile(`https://(?:canary\.|ptb\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]+`)},
	{kind: "telegram-bot-token", hints: []string{":aa"},
		re: regexp.MustCompile(`\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b`)},
	{kind: "stripe-key", hints: []string{"_live_", "_test_"},
		re: regexp.MustCompile(`\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}`)},
	{kind: "openai-key", atHint: true, hints: []string{"sk-"},
		re: regexp.MustCompile(`\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{32,}`)},
	{kind: "npm-token", atHint: true, hints: []string{"npm_"},
		re: regexp.MustCompile(`\bnpm_[A-Za-z0-9]{36}\b`)},
	{kind: "pypi-token", atHint: true, hints: []string{"pypi-"},
		re: regexp.MustCompile(`\bpypi-AgE[A-Za-z0-9_-]{50,}`)},
	{kind: "sendgrid-key", atHint: true, hints: []string{"sg."},
		re: regexp.MustCompile(`\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b`)},
	{kind: "hashicorp-token", atHint: true, hints: []string{"hvs.", "hvb."},
		re: regexp.MustCompile(`\bhv[sb]\.[A-Za-z0-9_-]{24,}`)},
	// Docker Swarm join tokens and the swarm unlock key.
	{kind: "swarm-token", atHint: true, hints: []string{"swmtkn-", "swmkey-"},
		re: regexp.MustCompile(`\bSWM(?:TKN-1-[A-Za-z0-9]{20,}-[A-Za-z0-9]{20,}|KEY-1-[A-Za-z0-9+/_-]{20,})`)},
	{kind: "docker-token", atHint: true, hints: []string{"dckr_pat_"},
		re: regexp.MustCompile(`\bdckr_pat_[A-Za-z0-9_-]{20,}`)},
	// user:password@ in a URL (the user may be empty, as in
	// redis://:pass@host): the password only, so the host stays readable.
	{kind: "url-password", hints: []string{"://"},
		re:      regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s"'<>]*:([^/\s"'<>]+)@`),
		scanner: urlPasswords,
		group:   1},
	// A token as the URL's user (https://<token>@gitea/…, how Gitea and
	// GitHub clone URLs carry one): long and with digits, unlike a name.
	{kind: "url-token", hints: []string{"://"},
		re:      regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9_-]{20,})@`),
		scanner: urlTokens,
		group:   1,
		check:   func(s string, m []int) bool { return hasDigit(s[m[2]:m[3]]) }},
	// A bare 40-hex Gitea token is known by its context only (every commit
	// id has the same shape): the word token or PAT right before it.
	{kind: "gitea-token", hints: []string{"token", "pat"}, lineOK: hasHex40,
		re:    regexp.MustCompile(`(?i)\b(?:token|pat)(?:[ \t]+(?:is|was|=|:))?[ \t]*[:=]?[ \t]*["']?([0-9a-f]{40})\b`),
		group: 1},
	// HTTP headers that carry credentials. For Authorization the scheme stays
	// in clear (Bearer, Basic) and the credential goes.
	{kind: "auth-header", hints: []string{"authorization"}, anchors: []string{"authorization"}, leads: []string{"proxy-"},
		// Runs: the word (with its quote), the separator, '[', a quote
		// with the scheme, the scheme, the value: at most 6.
		maxRuns: 6,
		re:      regexp.MustCompile(`(?i)\b(?:proxy-)?authorization["']?\s*[:=]` + nextLine + `(?:\[\s*)?["']?((?:bearer|basic|token|digest|negotiate|apikey)(?:[\t\f\r ]+(?:` + indented + `)?|` + indented + `))?(\[MASKED:[^\]\s]*\][^\s"',;\]]*|[^\s"',;\]]+)`),
		group:   2,
		// Without a scheme, a plain word ("Authorization: required") is
		// prose; a lone "[" opens a list whose value is on the next line.
		check: func(s string, m []int) bool { return (m[2] >= 0 || !allLetters(s[m[4]:m[5]])) && s[m[4]:m[5]] != "[" }},
	{kind: "cookie", hints: []string{"cookie"}, anchors: []string{"cookie"}, leads: []string{"set-"},
		re:    regexp.MustCompile(`(?i)\b(?:set-)?cookie["']?\s*:` + nextLine + `["']?([^\r\n"']+)`),
		group: 1},
	{kind: "api-key-header", hints: []string{"x-api-key", "x-auth-token", "private-token", "x-gitea-token", "x-vault-token"},
		anchors: []string{"x-api-key", "x-auth-token", "private-token", "x-gitea-token", "x-vault-token"},
		// Runs: the word, the separator, '[', the quote, the value.
		maxRuns: 5,
		re:      regexp.MustCompile(`(?i)\b(?:x-api-key|x-auth-token|private-token|x-gitea-token|x-vault-token)["']?\s*[:=]` + nextLine + `(?:\[\s*)?["']?([^\s"',;\]]+)`),
		group:   1},
	// key = value, key: value, "key": "value", --key=value, key=value& in a
	// query: the value goes when the key looks secret.
	{kind: "assignment", hints: keyHints,
		kv:    kvAssignment,
		group: 2, perLine: true, named: true, lineOK: kvKeyOnLine,
		check: func(s string, m []int) bool {
			return !inPath(s, m[2]) && SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(s[m[4]:m[5]])
		}},
	// Vault's AppRole secret_id is a credential, though "id" otherwise
	// names a reference (and GCP's secret_id is a name): a UUID under it.
	{kind: "vault-secret-id", hints: []string{"secret"},
		re:    regexp.MustCompile(`(?i)secret[_.-]?id["']?[ \t]*[:=][ \t]*["']?(` + uuidPattern + `)`),
		group: 1},
	// JSON escaped inside JSON: {"log":"{\"password\":\"x\"}"}.
	{kind: "assignment", hints: []string{`\"`},
		re:    regexp.MustCompile(`\\+"([A-Za-z_][A-Za-z0-9_.-]*)\\+"[ \t]*:[ \t]*\\+"([^"\\]*)\\+"`),
		group: 2, named: true,
		check: func(s string, m []int) bool { return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(s[m[4]:m[5]]) }},
	// URL-encoded assignments (password%3Dx%26…): the value runs to an
	// encoded & or the end of the token.
	{kind: "assignment", hints: []string{"%3d"},
		re:    regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.-]*)%3[dD]((?:[^%\s&"'<>]|%(?:[013-9a-fA-F][0-9a-fA-F]|2[0-57-9a-fA-F]))+)`),
		group: 2, named: true,
		check: func(s string, m []int) bool { return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(s[m[4]:m[5]]) }},
	// A YAML block scalar under a secret key (password: |) : the indented
	// lines below it, whole.
	{kind: "assignment", hints: []string{": |", ": >", ":|", ":>", "!"}, named: true, group: 2, find: blockScalars},
	// A Terraform variable whose name is secret, or that is marked
	// sensitive: its default.
	{kind: "assignment", hints: []string{"variable"}, named: true, group: 2, find: terraformDefaults},
	// A Secret manifest as text (YAML or JSON: a file in a repository,
	// kubectl output in a log): every value of its data and stringData.
	{kind: "secret-data", hints: []string{"secret"}, group: 1, find: secretManifests},
	// Command lines: curl -u user:pass, mysql -pX, redis-cli -a X,
	// sshpass -p X, and --secret-flag X (the = form is an assignment).
	{kind: "command-password", hints: []string{"-u", "--user"},
		re:    regexp.MustCompile(`(?m)(?:^|[\t\f\r ;|&])(?:-u|--user)(?:[ \t]+|=)?["']?[^\s:"'@]*:([^\s"'@]+)`),
		group: 1,
		check: func(s string, m []int) bool { return !allDigits(s[m[2]:m[3]]) }},
	{kind: "command-password", hints: []string{"mysql", "mariadb"},
		re:    regexp.MustCompile(`\b(?:mysql|mariadb)(?:dump|admin|import|check|sh)?\b[^\n]*?[ \t]-p([^\s"'-][^\s"']*)`),
		group: 1},
	{kind: "command-password", hints: []string{"mysql", "mariadb"},
		re:    regexp.MustCompile(`\b(?:mysql|mariadb)(?:dump|admin|import|check|sh)?\b[^\n]*?[ \t]-p["']([^"'\r\n]+)["']`),
		group: 1},
	{kind: "command-password", hints: []string{"redis-cli", "sshpass"},
		re:    regexp.MustCompile(`\b(?:redis-cli\b[^\n]*?[ \t]-a[ \t]+|sshpass\b[^\n]*?[ \t]-p[ \t]*)["']?([^\s"']+)`),
		group: 1},
	// A registry or cloud login with -p (docker, podman, helm registry,
	// az login): CI logs echo them. An all-digit value is a port
	// (ssh -p 22), not a password.
	{kind: "command-password", hints: []string{"login"},
		re:    regexp.MustCompile(`\blogin\b[^\n]*?[ \t]-p[ \t]*["']?([^\s"'-][^\s"']*)`),
		group: 1,
		check: func(s string, m []int) bool { return !allDigits(s[m[2]:m[3]]) }},
	// A signed URL's signature is the credential itself, good until it
	// expires: S3 and GCS presigned URLs, Azure SAS (sig), and the common
	// signature= of signed download links. Only as a query parameter:
	// "signature: verified" in prose is no secret.
	{kind: "url-signature", hints: []string{"signature=", "sig="},
		re:    regexp.MustCompile(`(?i)[?&](?:x-amz-signature|x-goog-signature|signature|sig)=([^&\s"'#<>]+)`),
		group: 1},
	// SQL that sets a password: ALTER USER … PASSWORD 'x', IDENTIFIED BY
	// 'x' (a statement log shows them).
	{kind: "sql-password", hints: []string{"password", "identified"},
		lineOK: sqlQuoteOnLine,
		re:     regexp.MustCompile(`(?i)\b(?:password|identified[ \t]+(?:with[ \t]+[A-Za-z0-9_]+[ \t]+)?by)[ \t]+'((?:[^'\r\n]|'')+)'`),
		group:  1},
	// Space-separated settings: Dockerfile ENV KEY value, setx KEY value,
	// Redis CONFIG SET key value, and redis.conf's requirepass/masterauth.
	{kind: "assignment", hints: []string{"env", "setx", "config", "requirepass", "masterauth"}, named: true, group: 2,
		re: regexp.MustCompile(`(?im)(?:^|[\t\f\r ;&|])(?:env|setx|config[ \t]+set)[ \t]+([A-Za-z_][A-Za-z0-9_.-]*)[ \t]+["']?([^\s"']+)`),
		check: func(s string, m []int) bool {
			return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(s[m[4]:m[5]])
		}},
	{kind: "assignment", hints: []string{"requirepass", "masterauth"}, named: true, group: 2,
		re: regexp.MustCompile(`(?im)^[ \t]*(requirepass|masterauth)[ \t]+["']?([^\s"']+)`)},
	// .netrc: machine h login u password x.
	{kind: "netrc-password", hints: []string{"password"}, anchors: []string{"login"},
		re:    regexp.MustCompile(`(?i)\blogin[ \t\r\n]+\S+[ \t\r\n]+password[ \t]+(\S+)`),
		group: 1},
	// A key and a value alone on a line, blank-separated (redis.conf,
	// sshd-like files): the value when it holds a digit (not a word:
	// "password required" is prose), and is neither a path nor a Go type
	// (a struct field "Secret []byte", "firstToken *time.Time").
	{kind: "assignment", hints: keyHints, named: true, group: 2, lineOK: lineKeyFirst,
		re: regexp.MustCompile(`(?m)^[ \t]*([A-Za-z_][A-Za-z0-9_.-]*)[ \t]+["']?([^\s"']+)["']?[ \t]*\r?$`),
		check: func(s string, m []int) bool {
			v := s[m[4]:m[5]]
			// The digit must be the value's own, not a placeholder's hash
			// (masking again must change nothing).
			return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(v) && hasDigit(placeholderRE.ReplaceAllString(v, "")) && !strings.ContainsAny(v[:1], "*[&(") && !looksLikePath(v) && !goNumberType[v]
		}},
	// XML: <password>x</password>, and <add key="DbPassword" value="x"/>.
	{kind: "assignment", hints: []string{"</"}, named: true, group: 2,
		re: regexp.MustCompile(`<([A-Za-z_][A-Za-z0-9_.:-]*)(?:[ \t][^<>]*)?>([^<>\r\n]+)</`),
		check: func(s string, m []int) bool {
			return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(s[m[4]:m[5]])
		}},
	{kind: "assignment", hints: []string{"value"}, named: true, group: 2,
		re: regexp.MustCompile(`(?i)\b(?:key|name)[ \t]*=[ \t]*"([^"\r\n]+)"[ \t]+value[ \t]*=[ \t]*"([^"\r\n]*)"`),
		check: func(s string, m []int) bool {
			return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(s[m[4]:m[5]])
		}},
	{kind: "flag", hints: keyHints, perLine: true, named: true, lineOK: flagOnLine,
		re:    regexp.MustCompile(`(?:^|[ \t])--?([A-Za-z][A-Za-z0-9_.-]*)[ \t]+["']?([^\s"'-][^\s"']*)`),
		group: 2,
		check: func(s string, m []int) bool {
			v := s[m[4]:m[5]]
			return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(v) && !looksLikePath(v)
		}},
	// An env entry rendered as text ({name: DB_PASSWORD, value: x} in YAML
	// or JSON): the value is secret because of the name before it.
	{kind: "env", hints: []string{"value"}, anchors: []string{"name"},
		re:    regexp.MustCompile(`(?i)\bname["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9_.-]+)["']?[ \t]*(?:,|\r?\n)[ \t-]*["']?value["']?[ \t]*[:=][ \t]*("[^"\r\n]*"|'[^'\r\n]*'|[^\s,}]+)`),
		group: 2,
		check: func(s string, m []int) bool { return SensitiveKey(s[m[2]:m[3]]) && valueLooksSet(s[m[4]:m[5]]) }},
	// Any assignment whose value is long and random enough to be a key,
	// whatever its name.
	{kind: "high-entropy", perLine: true, lineOK: entropyOnLine,
		kv:    kvEntropy,
		group: 2,
		check: func(s string, m []int) bool {
			v := s[m[4]:m[5]]
			return !benignKey(s[m[2]:m[3]]) && highEntropy(v) && !objectRef(v)
		}},
}

// privateKeys is private-key's regexp, FindAllStringSubmatchIndex, as
// a scan (the regexp read a key's body through Go's NFA, the text being
// too long for its backtracker): from each "-----BEGIN" whose marker
// holds, to the first "-----END" whose marker holds (the lazy body stops
// at the first), or to the text's end (\z). Every ASCII byte starts a
// rune, so the body's rune steps reach each "-----END".
func privateKeys(s string) [][]int {
	var out [][]int
	for pos := 0; pos < len(s); {
		k := strings.Index(s[pos:], "-----BEGIN")
		if k < 0 {
			break
		}
		i := pos + k
		h := pemMarkerEnd(s, i+len("-----BEGIN"))
		if h < 0 {
			pos = i + 1
			continue
		}
		end := len(s)
		for p := h; ; {
			e := strings.Index(s[p:], "-----END")
			if e < 0 {
				break
			}
			e += p
			if m := pemMarkerEnd(s, e+len("-----END")); m >= 0 {
				end = m
				break
			}
			p = e + 1
		}
		out = append(out, []int{i, end})
		pos = end
	}
	return out
}

// pemMarkerEnd returns the end of "[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
// at i, or -1. Every path of it reads class bytes up to "-----", and '-'
// is not one: the class run is the whole run at i, which must end with
// the words, and "-----" must follow it.
func pemMarkerEnd(s string, i int) int {
	j := i
	for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] == ' ') {
		j++
	}
	if !strings.HasPrefix(s[j:], "-----") {
		return -1
	}
	if run := s[i:j]; strings.HasSuffix(run, "PRIVATE KEY") || strings.HasSuffix(run, "PRIVATE KEY BLOCK") {
		return j + len("-----")
	}
	return -1
}

// jwts is jwt's regexp, FindAllStringSubmatchIndex, as a scan from each
// "eyJ" after a non-word byte (\b, which is ASCII in Go). No part's
// class holds a '.', so each part is the whole run of its characters.
// Each part's run is read by a cursor of its own ("-eyJ-eyJ…" is one
// run, and reading it again from each "eyJ" was quadratic): the
// positions each part is asked from never go back.
func jwts(s string) [][]int {
	var out [][]int
	var runs [3]cursor
	stop := func(c byte) bool { return !wordByte(c) && c != '-' }
	for pos := 0; pos < len(s); {
		k := strings.Index(s[pos:], "eyJ")
		if k < 0 {
			break
		}
		i := pos + k
		pos = i + 1
		if i > 0 && wordByte(s[i-1]) {
			continue
		}
		a := runs[0].next(s, i+3, stop)
		if a-(i+3) < 8 || !strings.HasPrefix(s[a:], ".eyJ") {
			continue
		}
		b := runs[1].next(s, a+4, stop)
		if b-(a+4) < 8 || b >= len(s) || s[b] != '.' {
			continue
		}
		c := runs[2].next(s, b+1, stop)
		if c-(b+1) < 8 {
			continue
		}
		out = append(out, []int{i, c})
		pos = c
	}
	return out
}

// sqlQuoteOnLine: a masked sql-password has a quote after blanks after
// "password" or "by". A line with a rune that (?i) folds to an ASCII
// letter (the Kelvin sign, the long s) may spell them otherwise: it
// passes.
func sqlQuoteOnLine(line, lower string) bool {
	if hasFoldRune(line) {
		return true
	}
	for i := 0; i < len(lower); i++ {
		if lower[i] != '\'' {
			continue
		}
		j := i
		for j > 0 && (lower[j-1] == ' ' || lower[j-1] == '\t') {
			j--
		}
		if j < i && (strings.HasSuffix(lower[:j], "password") || strings.HasSuffix(lower[:j], "by")) {
			return true
		}
	}
	return false
}

// urlPasswords is url-password's regexp, FindAllStringSubmatchIndex, as
// a scan from each "://" (the regexp, with no literal to start from,
// tried every byte of a hinted line). A match's scheme is a run of
// scheme characters, which holds no ':', so it ends at the first "://"
// after its start; the leftmost start for a "://" is the first letter of
// the run before it (and after the last match); a later start in the
// same run reaches the same "://" and fails alike. The user holds no
// ':' and the password no '/', so each part is the whole run of its
// characters, and the password, which may hold '@', ends at its run's
// last '@' (the greedy loop backs off to it).
func urlPasswords(s string) [][]int {
	var out [][]int
	eachURL(s, func(start, k int) int {
		u := k + 3
		for u < len(s) && !urlUserStop(s[u]) {
			u++
		}
		if u >= len(s) || s[u] != ':' {
			return -1
		}
		v0, at := u+1, -1
		for v := v0; v < len(s) && !urlPasswordStop(s[v]); v++ {
			if s[v] == '@' {
				at = v
			}
		}
		if at <= v0 {
			return -1
		}
		out = append(out, []int{start, at + 1, v0, at})
		return at + 1
	})
	return out
}

// urlTokens is url-token's regexp, FindAllStringSubmatchIndex, as a scan
// from each "://" (see urlPasswords): the user is a whole run of token
// characters, which holds no '@'.
func urlTokens(s string) [][]int {
	var out [][]int
	eachURL(s, func(start, k int) int {
		t0 := k + 3
		t := t0
		for t < len(s) && (wordByte(s[t]) || s[t] == '-') {
			t++
		}
		if t-t0 < 20 || t >= len(s) || s[t] != '@' {
			return -1
		}
		out = append(out, []int{start, t + 1, t0, t})
		return t + 1
	})
	return out
}

// eachURL calls f with each "://" at k in s and the leftmost start of a
// scheme before it (a letter, then letters, digits, '+', '.', '-') that
// lies at or after the end of the last match; f returns its match's end
// or -1.
func eachURL(s string, f func(start, k int) int) {
	last := 0
	for pos := 0; pos < len(s); {
		i := strings.Index(s[pos:], "://")
		if i < 0 {
			return
		}
		k := pos + i
		pos = k + 3
		p := k
		for p > last && schemeByte(s[p-1]) {
			p--
		}
		for p < k && !(s[p] >= 'a' && s[p] <= 'z' || s[p] >= 'A' && s[p] <= 'Z') {
			p++
		}
		if p >= k {
			continue
		}
		if end := f(p, k); end >= 0 {
			last = end
			pos = max(pos, end)
		}
	}
}

func schemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-'
}

// urlUserStop: url-password's user class [^:@/\s"'<>] excludes it (\s is
// Go's ASCII [\t\n\f\r ]).
func urlUserStop(c byte) bool {
	return c == ':' || c == '@' || urlPasswordStop(c)
}

// urlPasswordStop: the password class [^/\s"'<>] excludes it.
func urlPasswordStop(c byte) bool {
	switch c {
	case '/', '\t', '\n', '\f', '\r', ' ', '"', '\'', '<', '>':
		return true
	}
	return false
}

// objectRef reports whether v is a Kubernetes object reference, Kind/name
// ("ReplicaSet/web-7bdf879864", kubectl describe's "Controlled By"): a
// generated name's hash made it look random. The Kind is letters starting
// upper case, the name a lower-case DNS name with a '-' or '.', a shape
// random key material almost never has (no upper-case letter in a dozen
// characters after one slash).
func objectRef(v string) bool {
	kind, name, ok := strings.Cut(v, "/")
	if !ok || len(kind) < 3 || kind[0] < 'A' || kind[0] > 'Z' || len(name) < 2 || !strings.ContainsAny(name, "-.") {
		return false
	}
	for i := 0; i < len(kind); i++ {
		if c := kind[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return name[0] != '-' && name[0] != '.' && name[len(name)-1] != '-' && name[len(name)-1] != '.'
}

// nextLine is the blanks between a header's separator and its value:
// the value goes on to the next lines only when they are indented (a
// YAML value, an HTTP continuation). An unindented next line is a line of its
// own: "Authorization:" alone (a line anyone can log) took the next
// line's "Authorization" as its value, and the token after it was
// masked by nothing.
const nextLine = `[\t\f\r ]*(?:` + indented + `)?`

// indented is a line break to an indented line (blank lines may come
// between), and the blanks there.
const indented = `(?:\n[\t\f\r ]*)*\n[\t\f ][\t\f\r ]*`

// goNumberType are Go's sized number types, the values with digits a
// struct field declaration ("token int64") has.
var goNumberType = map[string]bool{
	"int8": true, "int16": true, "int32": true, "int64": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"float32": true, "float64": true, "complex64": true, "complex128": true,
}

// inPath reports whether the word at i is the last part of a file path
// ("/etc/passwd: no such file"), not a key.
func inPath(s string, i int) bool {
	return i > 0 && (s[i-1] == '/' || s[i-1] == '\\')
}

func init() {
	for i := range detectors {
		d := &detectors[i]
		if d.re != nil && !d.perLine && len(d.hints) > 0 {
			d.local = lineLocal(d.re)
		}
		if d.re != nil {
			d.fold = strings.HasPrefix(d.re.String(), "(?i") || strings.HasPrefix(d.re.String(), "(?mi") || strings.HasPrefix(d.re.String(), "(?im")
		}
		if d.atHint {
			if !d.local || !strings.HasPrefix(d.re.String(), `\b`) || d.fold {
				panic("mask: atHint is for line-local \\b regexps: " + d.kind)
			}
			d.startsAtHint = regexp.MustCompile(`^(?:` + d.re.String() + `)`)
		}
		if len(d.anchors) > 0 {
			if d.local || !strings.HasPrefix(d.re.String(), `(?i)\b`) {
				panic("mask: anchors are for (?i)\\b regexps that span lines: " + d.kind)
			}
			d.anchored = regexp.MustCompile(`^(?:` + d.re.String() + `)`)
			d.anchorsHinted = true
			for _, a := range d.anchors {
				d.anchorsHinted = d.anchorsHinted && slices.Contains(d.hints, a)
			}
		}
		scan.add(i, d.hints)
	}
	// Here, not in the table: base64Secrets calls detect, which reads the
	// table (an initialisation cycle otherwise).
	detectors = append(detectors, detector{kind: "base64-secret", find: base64Secrets})
}

// lineLocal reports whether no match of re can hold a newline, and re
// matches a line on its own as it does inside a text: no '\n' in a
// literal or a class, no "." that takes one, and no ^ or $ that means
// the text's ends ((?m) ones mean a line's). Every hint of a detector is
// a substring of each of its matches (hints are chosen so), so such a
// regexp need only run on the lines that hold a hint.
func lineLocal(re *regexp.Regexp) bool {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return false
	}
	var ok func(t *syntax.Regexp) bool
	ok = func(t *syntax.Regexp) bool {
		switch t.Op {
		case syntax.OpAnyChar, syntax.OpBeginText, syntax.OpEndText:
			return false
		case syntax.OpLiteral:
			for _, r := range t.Rune {
				if r == '\n' {
					return false
				}
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(t.Rune); i += 2 {
				if t.Rune[i] <= '\n' && '\n' <= t.Rune[i+1] {
					return false
				}
			}
		}
		for _, s := range t.Sub {
			if !ok(s) {
				return false
			}
		}
		return true
	}
	return ok(t)
}

// maxBase64Depth bounds how deep base64 inside base64 is opened.
const maxBase64Depth = 2

// base64Secrets finds runs of base64 (20 characters or more) that decode
// to text holding a secret of a known form: a docker config, a JSON
// document or a URL with a password, encoded to pass through a config
// value or a command line. The whole run is the secret. Each byte is
// decoded at most once per level, so the cost stays linear.
func base64Secrets(s string) [][]int {
	return base64SecretsAt(s, 0)
}

func base64SecretsAt(s string, depth int) [][]int {
	if depth >= maxBase64Depth {
		return nil
	}
	var out [][]int
	for i := 0; i < len(s); {
		if !base64Char(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && base64Char(s[j]) {
			j++
		}
		if j-i >= 20 {
			if dec, ok := decodeBase64Text(s[i:j]); ok && len(detectAt(dec, depth+1)) > 0 {
				out = append(out, []int{i, j})
			}
		}
		i = j
	}
	return out
}

// b64Values maps a base64 character to its value, in the standard and
// the URL alphabets; -1 is not one.
var b64Values = func() (t [2][256]int8) {
	for i := range t[0] {
		t[0][i], t[1][i] = -1, -1
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < 64; i++ {
		t[0][std[i]] = int8(i)
		c := std[i]
		switch c {
		case '+':
			c = '-'
		case '/':
			c = '_'
		}
		t[1][c] = int8(i)
	}
	return t
}()

// decodeBase64Text decodes run (standard or URL alphabet, padded or not)
// when it is printable text, the only kind that can hold a known form.
// A first pass stops at the first byte that is not text, which is where
// almost every run (trace ids, digests, paths) ends, and allocates
// nothing.
func decodeBase64Text(run string) (string, bool) {
	t := &b64Values[0]
	if strings.ContainsAny(run, "-_") {
		t = &b64Values[1]
	}
	trimmed := strings.TrimRight(run, "=")
	if len(trimmed)%4 == 1 {
		return "", false
	}
	text := func(c byte) bool { return c >= 0x20 || c == '\n' || c == '\r' || c == '\t' }
	var out []byte
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < len(trimmed); i += 4 {
			var v [4]int8
			n := min(4, len(trimmed)-i)
			for k := 0; k < n; k++ {
				if v[k] = t[trimmed[i+k]]; v[k] < 0 {
					return "", false
				}
			}
			b := [3]byte{byte(v[0])<<2 | byte(v[1])>>4, byte(v[1])<<4 | byte(v[2])>>2, byte(v[2])<<6 | byte(v[3])}
			for k := 0; k < n-1; k++ {
				if !text(b[k]) {
					return "", false
				}
				if pass == 1 {
					out = append(out, b[k])
				}
			}
		}
		if pass == 0 {
			out = make([]byte, 0, len(trimmed)*3/4)
		}
	}
	if !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}

// detect returns the spans of every secret found in s, unsorted. A text
// with invisible characters in it is read a second time without them:
// whoever reads it (a person, a model) does not see them, so
// "pass\u200bword: X" says password, and "ghp_…\u200b…" is one token.
func detect(s string) []span {
	spans := detectAt(s, 0)
	if !mayHide(s) {
		return spans
	}
	c, ok := withoutHidden(s)
	if !ok {
		return spans
	}
	found := detectAt(c, 0)
	if len(found) == 0 {
		return spans
	}
	// Bytes kept are copied one for one: a span of c starts at a byte
	// of s and ends before one (or at the end), and the span in s runs
	// over what was taken out inside it and right after it (a hidden
	// character left after a placeholder would be masked by a second
	// pass). Their places in s, in one walk over s.
	need := make([]int, 0, 2*len(found))
	for _, sp := range found {
		need = append(need, sp.start, sp.end)
	}
	slices.Sort(need)
	need = slices.Compact(need)
	at := make([]int, len(need))
	for k := range at {
		at[k] = len(s) // the end of c is the end of s
	}
	j, x := 0, 0 // x: the position in c of s[i]
	for i := 0; i < len(s) && j < len(need); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError && hidden(r) {
			i += w
			continue
		}
		for j < len(need) && need[j] < x+w {
			at[j] = i + need[j] - x
			j++
		}
		i, x = i+w, x+w
	}
	origin := func(p int) int {
		k, _ := slices.BinarySearch(need, p)
		return at[k]
	}
	seen := map[string]bool{}
	for _, sp := range found {
		start, end := origin(sp.start), origin(sp.end)
		spans = append(spans, span{start: start, end: end, kind: sp.kind})
		// The value with hidden characters in or after it is not the
		// value where it stands without them (Text masks a value again
		// where it repeats, as it is in s): mask those too.
		v := c[sp.start:sp.end]
		if len(v) < minRepeat || s[start:end] == v || seen[v] || len(seen) >= maxRepeatValues || IsPlaceholder(v) {
			continue
		}
		seen[v] = true
		for from := 0; ; {
			i := strings.Index(s[from:], v)
			if i < 0 {
				break
			}
			spans = append(spans, span{start: from + i, end: from + i + len(v), kind: sp.kind})
			from += i + len(v)
		}
	}
	return spans
}

// hidden are the characters a reader does not see: zero-width and other
// invisible format characters, bidi controls, the soft hyphen, tags,
// variation selectors, Hangul fillers, and control characters other than
// white space (the set the orchestrator takes out of tool results).
func hidden(r rune) bool {
	switch {
	case r >= 0xE0000 && r <= 0xE007F, r >= 0xE0100 && r <= 0xE01EF,
		r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x061C,
		r >= 0x200B && r <= 0x200F, r >= 0x2060 && r <= 0x2064, r == 0xFEFF,
		r >= 0x206A && r <= 0x206F, r == 0x180E, r >= 0xFFF9 && r <= 0xFFFB, r == 0x034F, r == 0x00AD,
		r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\v' && r != '\f', r == 0x7F, r >= 0x80 && r <= 0x9F,
		r >= 0xFE00 && r <= 0xFE0F, r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0,
		r >= 0x1D173 && r <= 0x1D17A:
		return true
	}
	return false
}

// mayHide is a cheap test that s holds no hidden character: none of
// their first bytes.
func mayHide(s string) bool {
	for i := 0; i < len(s); i++ {
		if hideFirst[s[i]] {
			return true
		}
	}
	return false
}

// hideFirst marks the first bytes of hidden characters: the controls
// but white space, DEL, and the lead bytes of the hidden runes' UTF-8.
var hideFirst = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f', c == 0x7F,
			c == 0xC2, c == 0xCD, c == 0xD8, c == 0xE1, c == 0xE2, c == 0xE3, c == 0xEF, c == 0xF0, c == 0xF3:
			t[c] = true
		}
	}
	return t
}()

// withoutHidden returns s without its hidden characters, and whether it
// held any. Invalid bytes stay.
func withoutHidden(s string) (string, bool) {
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError && hidden(r) {
			break
		}
		i += w
	}
	if i == len(s) {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !hidden(r) {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String(), true
}

// maxPiece is about how much text the line detectors read at a time (in
// whole lines): the lines holding a hint are listed per detector, and a
// list for the whole text took 40 times the text's size on a text with a
// hint on every short line (626 MiB for 16 MiB of "pw\n").
const maxPiece = 64 << 10

// lineBased reports whether d reads a text line by line (on the lines
// that hold a hint, or on every line), so a text can be read a piece of
// whole lines at a time.
func (d *detector) lineBased() bool {
	return d.anchored == nil && d.find == nil && (d.perLine || d.local)
}

func detectAt(s string, depth int) []span {
	pooled := linesPool.Get().(*[][][2]int)
	defer putLines(pooled)
	lower := asciiLower(s)
	fold := hasFoldRune(s)
	// The line detectors' matches, and which detectors have a hint in s,
	// a piece of whole lines at a time (no hint spans a line).
	var found [][][]int
	var present []bool
	var anchorLines [][][2]int // (by detector: the lines to look for anchors on)
	for off := 0; off < len(s); {
		end := len(s)
		if end-off > maxPiece {
			end = lineEnd(s, off+maxPiece)
		}
		piece, lowerPiece := s[off:end], lower[off:end]
		lines := scan.linesInto(lowerPiece, pooled)
		for i := range detectors {
			d := &detectors[i]
			has := lines != nil && len(lines[i]) > 0
			var ms [][]int
			switch {
			case !d.lineBased() || fold && d.fold:
			case has:
				ms = d.matches(piece, lowerPiece, lines[i])
			case len(d.hints) == 0 && strings.ContainsAny(piece, ":="):
				// (the entropy detector: a line with no kvKeyRE
				// separator holds no match)
				ms = d.matches(piece, lowerPiece, allLines(piece))
			}
			if !has && len(ms) == 0 {
				continue
			}
			if present == nil {
				// (a text with no hint allocates none of this)
				present = make([]bool, len(detectors))
				found = make([][][]int, len(detectors))
			}
			present[i] = present[i] || has
			if has && d.anchorsHinted {
				if anchorLines == nil {
					anchorLines = make([][][2]int, len(detectors))
				}
				for _, l := range lines[i] {
					anchorLines[i] = append(anchorLines[i], [2]int{l[0] + off, l[1] + off})
				}
			}
			for _, m := range ms {
				for k := range m {
					if m[k] >= 0 {
						m[k] += off
					}
				}
			}
			found[i] = append(found[i], ms...)
		}
		off = end + 1
	}
	var spans []span
	for i := range detectors {
		d := &detectors[i]
		var ms [][]int
		switch {
		case fold && d.fold:
			// A hint spelt with a Kelvin sign or a long s is invisible to
			// the ASCII hints: the regexp reads the whole text.
			ms = d.re.FindAllStringSubmatchIndex(s, -1)
		case d.lineBased():
			if found == nil {
				continue
			}
			ms = found[i]
		case len(d.hints) > 0 && (present == nil || !present[i]):
			continue
		case d.kind == "base64-secret":
			ms = base64SecretsAt(s, depth)
		case d.find != nil:
			ms = d.find(s)
		case d.anchorsHinted:
			ms = d.anchoredMatches(s, lower, anchorLines[i])
		default:
			ms = d.matches(s, lower, nil)
		}
		for _, m := range ms {
			if d.check != nil && !d.check(s, m) {
				continue
			}
			start, end := m[2*d.group], m[2*d.group+1]
			if start < 0 || end <= start {
				continue
			}
			// Quoted values: mask inside the quotes, keep the quotes.
			if end-start >= 2 && (s[start] == '"' || s[start] == '\'') && s[end-1] == s[start] {
				start, end = start+1, end-1
				if end <= start {
					continue
				}
			}
			kind := d.kind
			if d.named {
				kind = kindForKey(s[m[2]:m[3]])
			}
			spans = append(spans, span{start: start, end: end, kind: kind})
		}
	}
	return spans
}

const uuidPattern = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`

var uuidRE = regexp.MustCompile(`^` + uuidPattern + `$`)

// vaultSecretID reports whether a structured key and value are a Vault
// AppRole secret_id: the key says so and the value is a UUID.
func vaultSecretID(key, v string) bool {
	w := splitWords(key)
	n := len(w)
	return n >= 2 && w[n-2] == "secret" && w[n-1] == "id" && uuidRE.MatchString(v)
}

func hasDigit(s string) bool {
	return strings.ContainsAny(s, "0123456789")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// looksLikePath is true for a flag value that names a file (--auth-tokens
// /etc/opsmcp/tokens.csv), which is where a secret is, not the secret.
func looksLikePath(v string) bool {
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "../") || strings.HasPrefix(v, "~/") {
		return true
	}
	for _, ext := range []string{".csv", ".txt", ".yaml", ".yml", ".json", ".pem", ".key", ".crt", ".env", ".conf"} {
		if strings.HasSuffix(strings.ToLower(v), ext) {
			return true
		}
	}
	return false
}

var blockKeyRE = regexp.MustCompile(`^([ \t]*)(?:-[ \t]+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*:[ \t]*(?:![!A-Za-z0-9_./-]*[ \t]+)?[|>][-+0-9]*[ \t]*\r?$`)

// blockScalars finds YAML block scalars (key: | and key: >) under secret
// keys and returns their indented body as the value (group 2), the key as
// group 1.
func blockScalars(s string) [][]int {
	var out [][]int
	for off := 0; off < len(s); {
		end := lineEnd(s, off)
		m := blockKeyRE.FindStringSubmatchIndex(s[off:end])
		if m == nil || !SensitiveKey(s[off+m[4]:off+m[5]]) {
			off = end + 1
			continue
		}
		indent := m[3] - m[2]
		bodyStart, bodyEnd := -1, -1
		next := end + 1
		for next < len(s) {
			le := lineEnd(s, next)
			line := s[next:le]
			if strings.TrimSpace(line) != "" {
				if leading(line) <= indent {
					break
				}
				if bodyStart < 0 {
					bodyStart = next + leading(line)
				}
				bodyEnd = next + len(strings.TrimRight(line, " \t\r"))
			}
			next = le + 1
		}
		if bodyStart >= 0 && bodyEnd > bodyStart {
			out = append(out, []int{off + m[0], bodyEnd, off + m[4], off + m[5], bodyStart, bodyEnd})
		}
		off = end + 1
		if next > off {
			off = next
		}
	}
	return out
}

var (
	yamlKindSecretRE = regexp.MustCompile(`^[ \t]*kind:[ \t]*["']?Secret["']?[ \t]*\r?$`)
	yamlDataRE       = regexp.MustCompile(`^([ \t]*)(?:data|stringData):[ \t]*\r?$`)
	yamlEntryRE      = regexp.MustCompile(`^[ \t]*["']?[^\s:"']+["']?:[ \t]*(.*?)[ \t]*\r?$`)
	jsonKindSecretRE = regexp.MustCompile(`"kind"[ \t]*:[ \t]*"Secret"`)
	jsonDataRE       = regexp.MustCompile(`"(?:data|stringData)"[ \t]*:[ \t]*\{`)
	jsonEntryRE      = regexp.MustCompile(`"[^"\\]*"[ \t\r\n]*:[ \t\r\n]*"((?:[^"\\]|\\.)*)"`)
)

// secretManifests finds the values of a Secret manifest's data and
// stringData, in YAML (documents split at ---, a document is a Secret
// when it says kind: Secret) and in JSON (when the text says "kind":
// "Secret"). Each value is group 1; key names stay.
func secretManifests(s string) [][]int {
	var out [][]int
	if jsonKindSecretRE.MatchString(s) {
		scanned := 0
		for _, d := range jsonDataRE.FindAllStringIndex(s, -1) {
			if d[0] < scanned {
				continue // inside the block just read: each byte is read once
			}
			end := strings.IndexByte(s[d[1]:], '}')
			if end < 0 {
				end = len(s)
			} else {
				end += d[1]
			}
			scanned = end
			for _, e := range jsonEntryRE.FindAllStringSubmatchIndex(s[d[1]:end], -1) {
				if e[3] > e[2] {
					out = append(out, []int{d[1] + e[0], d[1] + e[1], d[1] + e[2], d[1] + e[3]})
				}
			}
		}
	}
	// YAML, one document at a time.
	for doc := 0; doc < len(s); {
		next := len(s)
		for off := doc; off < len(s); {
			le := lineEnd(s, off)
			if off > doc && strings.HasPrefix(s[off:le], "---") {
				next = off
				break
			}
			off = le + 1
		}
		out = append(out, yamlSecretData(s, doc, next)...)
		if next == doc {
			next = lineEnd(s, doc) + 1
		}
		doc = next
	}
	return out
}

// yamlSecretData is secretManifests for the YAML document s[from:to].
func yamlSecretData(s string, from, to int) [][]int {
	if !strings.Contains(s[from:to], "Secret") {
		return nil // (yamlKindSecretRE's word: no line of it can match)
	}
	secret := false
	for off := from; off < to; {
		le := lineEnd(s, off)
		if yamlKindSecretRE.MatchString(s[off:le]) {
			secret = true
			break
		}
		off = le + 1
	}
	if !secret {
		return nil
	}
	var out [][]int
	for off := from; off < to; {
		le := lineEnd(s, off)
		m := yamlDataRE.FindStringSubmatchIndex(s[off:le])
		off = le + 1
		if m == nil {
			continue
		}
		indent, entry := m[3]-m[2], -1
		for off < to {
			le := lineEnd(s, off)
			if le > to {
				le = to
			}
			line := s[off:le]
			if strings.TrimSpace(line) == "" {
				off = le + 1
				continue
			}
			lead := leading(line)
			if lead <= indent {
				break
			}
			if entry < 0 {
				entry = lead
			}
			body := strings.TrimRight(line, " \t\r")
			if lead > entry {
				// A line of a block scalar's value: all of it.
				out = append(out, []int{off + lead, off + len(body), off + lead, off + len(body)})
			} else if e := yamlEntryRE.FindStringSubmatchIndex(line); e != nil && e[3] > e[2] {
				if v := line[e[2]:e[3]]; !strings.HasPrefix(v, "|") && !strings.HasPrefix(v, ">") {
					out = append(out, []int{off + e[0], off + e[3], off + e[2], off + e[3]})
				}
			}
			off = le + 1
		}
	}
	return out
}

func lineEnd(s string, off int) int {
	if i := strings.IndexByte(s[off:], '\n'); i >= 0 {
		return off + i
	}
	return len(s)
}

func leading(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

var (
	tfVariableRE  = regexp.MustCompile(`\bvariable[ \t]+"([^"\n]+)"[ \t]*\{`)
	tfDefaultRE   = regexp.MustCompile(`(?m)^[ \t]*default[ \t]*=[ \t]*"([^"\n]*)"`)
	tfSensitiveRE = regexp.MustCompile(`(?m)^[ \t]*sensitive[ \t]*=[ \t]*true\b`)
)

// terraformDefaults finds the default of a Terraform variable whose name
// is secret or that is marked sensitive (group 2), with the variable's
// name as group 1.
func terraformDefaults(s string) [][]int {
	var out [][]int
	scanned := 0
	for _, v := range tfVariableRE.FindAllStringSubmatchIndex(s, -1) {
		if v[0] < scanned {
			continue // inside the block just read: blocks do not nest variables
		}
		body := v[1]
		depth, end := 1, len(s)
		for i := body; i < len(s) && i < body+8192; i++ {
			if s[i] == '{' {
				depth++
			} else if s[i] == '}' {
				depth--
				if depth == 0 {
					end = i
					break
				}
			}
		}
		if end > body+8192 {
			end = body + 8192
		}
		scanned = end
		block := s[body:end]
		name := s[v[2]:v[3]]
		if !SensitiveKey(name) && !tfSensitiveRE.MatchString(block) {
			continue
		}
		d := tfDefaultRE.FindStringSubmatchIndex(block)
		if d == nil || !valueLooksSet(block[d[2]:d[3]]) {
			continue
		}
		out = append(out, []int{v[0], body + d[1], v[2], v[3], body + d[2], body + d[3]})
	}
	return out
}

func allLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// matches returns the submatch indexes of d in s: over the whole text,
// or, for perLine and local detectors, on each line that holds a hint
// (and passes lineOK).
func (d *detector) matches(s, lower string, lines [][2]int) [][]int {
	if d.anchored != nil {
		return d.anchoredMatches(s, lower, nil)
	}
	if !d.perLine && !d.local {
		if d.scanner != nil {
			return d.scanner(s)
		}
		return d.re.FindAllStringSubmatchIndex(s, -1)
	}
	var out [][]int
	var kvFlat []int // a key=value detector's matches, 6 indexes each
	for _, l := range lines {
		off, end := l[0], l[1]
		line := s[off:end]
		ok := d.lineOK == nil || d.lineOK(line, lower[off:end])
		if ok && !d.perLine {
			// A local regexp's matches in the whole text are its matches
			// in each line: none spans a newline, and a line's start and
			// end read as the text's do (\b, (?m)^ and $).
			var ms [][]int
			switch {
			case d.scanner != nil:
				ms = d.scanner(line)
			case d.startsAtHint != nil:
				ms = d.hintStarts(line, lower[off:end])
			default:
				ms = d.re.FindAllStringSubmatchIndex(line, -1)
			}
			for _, m := range ms {
				for i := range m {
					if m[i] >= 0 {
						m[i] += off
					}
				}
				out = append(out, m)
			}
		} else if ok && d.kv != kvNone {
			n := len(kvFlat)
			kvFlat = kvLineAppend(kvFlat, line, d.kv)
			for i := n; i < len(kvFlat); i++ {
				kvFlat[i] += off
			}
		} else if ok {
			// After each match, look again from where its value starts: in
			// "chat: password: x" the first match is chat = "password:",
			// and the secret is in the next one. Overlapping spans merge.
			for from := 0; from < len(line); {
				m := d.re.FindStringSubmatchIndex(line[from:])
				if m == nil {
					break
				}
				next := from + m[1]
				if v := m[2*d.group]; v > m[0] && strings.ContainsAny(line[from+v:from+m[1]], ":=") {
					next = from + v // the value may itself be "key: value"
				}
				for i := range m {
					if m[i] >= 0 {
						m[i] += off + from
					}
				}
				out = append(out, m)
				from = next
			}
		}
	}
	if d.kv != kvNone {
		return groups(kvFlat, 6)
	}
	return out
}

// hintStarts is re.FindAllStringSubmatchIndex(line, -1) for a detector
// whose matches start with a hint (startsAtHint): the anchored regexp is
// tried at each hint's start, in order and past the last match's end,
// after a non-word byte (the leading \b: each hint starts with a
// letter). As in anchoredMatches, leftmost-first at a start is what the
// anchored regexp takes there.
func (d *detector) hintStarts(line, lower string) [][]int {
	var starts []int
	for _, h := range d.hints {
		for pos := 0; ; {
			i := strings.Index(lower[pos:], h)
			if i < 0 {
				break
			}
			starts = append(starts, pos+i)
			pos += i + 1
		}
	}
	return tryStarts(line, starts, d.startsAtHint, nil, nil)
}

// tryStarts is FindAllStringSubmatchIndex of a regexp every match of
// which starts at one of starts and after a non-word byte (a leading
// \b, which the slice from a start hides): anchored, the regexp is
// tried at each start in order past the last match's end (but where
// skip refuses), on s from there to end(start) (the text's end when end
// is nil).
func tryStarts(s string, starts []int, anchored *regexp.Regexp, skip func(st int) bool, end func(st int) int) [][]int {
	slices.Sort(starts)
	var out [][]int
	last := 0
	for i, st := range starts {
		if st < last || i > 0 && st == starts[i-1] || st > 0 && wordByte(s[st-1]) || skip != nil && skip(st) {
			continue
		}
		rest := s[st:]
		if end != nil {
			rest = s[st:end(st)]
		}
		m := anchored.FindStringSubmatchIndex(rest)
		if m == nil {
			continue
		}
		for k := range m {
			if m[k] >= 0 {
				m[k] += st
			}
		}
		out = append(out, m)
		last = m[1]
	}
	return out
}

// anchoredMatches is re.FindAllStringSubmatchIndex(s, -1) for a detector
// with anchors (but for matches that start inside a placeholder): every match starts at an anchor or at a lead right
// before one, so trying the anchored regexp at those starts, in order
// and past the last match's end, finds the same matches (leftmost-first
// at a start is what the anchored regexp takes there). The leading \b
// is checked here, as the slice hides the byte before it.
//
// lines, if not nil, are the only lines of s that hold an anchor.
func (d *detector) anchoredMatches(s, lower string, lines [][2]int) [][]int {
	if lines == nil {
		lines = [][2]int{{0, len(s)}}
	}
	var starts []int
	for _, a := range d.anchors {
		for _, l := range lines {
			for pos := l[0]; ; {
				i := strings.Index(lower[pos:l[1]], a)
				if i < 0 {
					break
				}
				i += pos
				for _, l := range d.leads {
					if strings.HasSuffix(lower[:i], l) {
						starts = append(starts, i-len(l))
					}
				}
				starts = append(starts, i)
				pos = i + 1
			}
		}
	}
	// A start inside a placeholder is the placeholder's own kind: a
	// second pass read "[MASKED:api-cookie:…] host=x" as a Cookie header
	// and masked the rest of the line. (Starts are tried in order.)
	ph := placeholders(s)
	inPlaceholder := func(st int) bool {
		for len(ph) > 0 && ph[0].end <= st {
			ph = ph[1:]
		}
		return len(ph) > 0 && ph[0].start < st
	}
	var end func(int) int
	if d.maxRuns > 0 {
		end = func(st int) int { return runsEnd(s, st, d.maxRuns) }
	}
	return tryStarts(s, starts, d.anchored, inPlaceholder, end)
}

// runsEnd is the end of the n-th run of bytes other than \s's white space
// from i on, and the byte after it (or the text's end).
func runsEnd(s string, i, n int) int {
	ws := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
	for runs := 0; i < len(s); {
		for i < len(s) && ws(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		for i < len(s) && !ws(s[i]) {
			i++
		}
		if runs++; runs == n {
			return min(i+1, len(s))
		}
	}
	return len(s)
}

// wordByte is \b's word character.
func wordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// foldRunes are the non-ASCII runes Go's case folding takes for ASCII
// letters: the Kelvin sign (k) and the long s.
func hasFoldRune(s string) bool {
	return strings.Contains(s, "\u212a") || strings.Contains(s, "\u017f")
}

// hintScan finds every detector's hints in one pass over a lower-cased
// text (Go's strings.Index, once per hint, was a third of the time on
// clean logs: hints start with common letters).
type hintScan struct {
	hints []string
	users [][]int // detector indexes, by hint
	// byPair[a<<8|b] is 1 + the index in lists of the hints that start
	// with the bytes a, b; bySingle[a] the same for one-byte hints.
	byPair   [1 << 16]uint8
	bySingle [256]uint8
	lists    [][]int
}

// scan holds the hints of the detector table (filled by init).
var scan = &hintScan{}

// add registers the hints of detector di.
func (h *hintScan) add(di int, hints []string) {
	for _, hint := range hints {
		id := slices.Index(h.hints, hint)
		if id < 0 {
			id = len(h.hints)
			h.hints = append(h.hints, hint)
			h.users = append(h.users, nil)
			slot := &h.bySingle[hint[0]]
			if len(hint) > 1 {
				slot = &h.byPair[int(hint[0])<<8|int(hint[1])]
			}
			if *slot == 0 {
				h.lists = append(h.lists, nil)
				if len(h.lists) > 255 {
					panic("mask: too many hint prefixes")
				}
				*slot = uint8(len(h.lists))
			}
			h.lists[*slot-1] = append(h.lists[*slot-1], id)
		}
		h.users[id] = append(h.users[id], di)
	}
}

// lines returns, by detector index, the bounds [start, end) of each line
// of lower that holds one of the detector's hints, in order, each once;
// nil when no hint is found (most short texts: nothing is allocated).
func (h *hintScan) lines(lower string) [][][2]int {
	return h.linesInto(lower, nil)
}

// linesInto is lines, in buf's lists (emptied first) when buf is not
// nil: one detectAt's lists, reused by the next (appending to a list per
// detector was a tenth of token-dense masking's allocations).
func (h *hintScan) linesInto(lower string, buf *[][][2]int) [][][2]int {
	if buf != nil {
		for i := range *buf {
			(*buf)[i] = (*buf)[i][:0]
		}
	}
	var out [][][2]int
	ls, seen := 0, 0 // the line start of position seen
	hit := func(i, k int) {
		for _, id := range h.lists[k-1] {
			if !strings.HasPrefix(lower[i:], h.hints[id]) {
				continue
			}
			if nl := strings.LastIndexByte(lower[seen:i], '\n'); nl >= 0 {
				ls = seen + nl + 1
			}
			seen = i
			if out == nil && buf != nil {
				out = *buf
			} else if out == nil {
				out = make([][][2]int, len(detectors))
			}
			for _, di := range h.users[id] {
				if n := len(out[di]); n == 0 || out[di][n-1][0] != ls {
					out[di] = append(out[di], [2]int{ls, -1})
				}
			}
		}
	}
	for i := 0; i+1 < len(lower); i++ {
		if k := h.byPair[int(lower[i])<<8|int(lower[i+1])]; k != 0 {
			hit(i, int(k))
		}
		if k := h.bySingle[lower[i]]; k != 0 {
			hit(i, int(k))
		}
	}
	if n := len(lower); n > 0 && h.bySingle[lower[n-1]] != 0 {
		hit(n-1, int(h.bySingle[lower[n-1]]))
	}
	for _, l := range out {
		for j := range l {
			l[j][1] = lineEnd(lower, l[j][0])
		}
	}
	return out
}

// linesPool holds hint line lists for detectAt (linesInto).
var linesPool = sync.Pool{New: func() any {
	b := make([][][2]int, len(detectors))
	return &b
}}

// maxPooledLines is the most line bounds a pooled list keeps: a hostile
// text's lists go back to the garbage collector.
const maxPooledLines = 4096

func putLines(b *[][][2]int) {
	n := 0
	for _, l := range *b {
		n += cap(l)
	}
	if n <= maxPooledLines {
		linesPool.Put(b)
	}
}

// allLines returns the bounds [start, end) of every line of s.
func allLines(s string) [][2]int {
	var out [][2]int
	for off := 0; off < len(s); {
		le := lineEnd(s, off)
		out = append(out, [2]int{off, le})
		off = le + 1
	}
	return out
}

// keyHints are the hints of detectors that need a secret-looking key:
// every word and suffix SensitiveKey takes holds one of them.
var keyHints = []string{"pass", "pw", "secret", "token", "key", "cred", "auth", "dsn", "cookie"}

// keyChar is a character of a key after its first (lower-cased).
func keyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// keyRun returns the bounds of the run of key characters through a hint
// that ends at end.
func keyRun(lower string, end int) (int, int) {
	i, j := end, end
	for i > 0 && keyChar(lower[i-1]) {
		i--
	}
	for j < len(lower) && keyChar(lower[j]) {
		j++
	}
	return i, j
}

// eachKeyRun calls f with the bounds of each run of key characters in
// lower that holds a hint, until f reports true. A hint is made of key
// characters, so each occurrence lies in one run; after a run, the
// search for that hint goes on past its end: a run holding thousands of
// occurrences ("pwpwpw…", a long URL-safe base64 value) is read once per
// hint, not once per occurrence (which was quadratic: minutes for a
// 256 KiB line).
func eachKeyRun(lower string, hints []string, f func(i, j int) bool) bool {
	for _, h := range hints {
		for pos := 0; ; {
			k := strings.Index(lower[pos:], h)
			if k < 0 {
				break
			}
			i, j := keyRun(lower, pos+k+len(h))
			if f(i, j) {
				return true
			}
			pos = j
		}
	}
	return false
}

// kvKeyOnLine: a masked key=value has a secret key, and kvKeyRE takes a
// key as a whole run of key characters (from its first letter or '_')
// followed by the separator (a quote, blanks, then : or =): no shorter
// key is followed by one, and a match ends after a separator, never
// inside a run.
func kvKeyOnLine(line, lower string) bool {
	return eachKeyRun(lower, keyHints, func(i, j int) bool {
		for i < j && !(lower[i] >= 'a' && lower[i] <= 'z' || lower[i] == '_') {
			i++
		}
		k := j
		if k < len(lower) && (lower[k] == '"' || lower[k] == '\'') {
			k++
		}
		for k < len(lower) && (lower[k] == ' ' || lower[k] == '\t') {
			k++
		}
		return k < len(lower) && (lower[k] == ':' || lower[k] == '=') && i < j && SensitiveKey(line[i:j])
	})
}

// flagOnLine: a masked flag is a whole run of key characters after a
// line's start or a blank, one or two dashes and a secret key, followed
// by a blank.
func flagOnLine(line, lower string) bool {
	return eachKeyRun(lower, keyHints, func(i, j int) bool {
		if j >= len(lower) || lower[j] != ' ' && lower[j] != '\t' || lower[i] != '-' || i > 0 && lower[i-1] != ' ' && lower[i-1] != '\t' {
			return false
		}
		i++
		if lower[i] == '-' {
			i++
		}
		return i < j && SensitiveKey(line[i:j])
	})
}

// hasHex40 reports whether lower holds 40 hex digits in a row, as a
// Gitea token is.
func hasHex40(_, lower string) bool {
	run := 0
	for i := 0; i < len(lower); i++ {
		if c := lower[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			if run++; run >= 40 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// lineKeyFirst: a masked "key value" alone on a line has a secret key,
// the line's first word, followed by a blank.
func lineKeyFirst(line, lower string) bool {
	i := 0
	for i < len(lower) && (lower[i] == ' ' || lower[i] == '\t') {
		i++
	}
	j := i
	for j < len(lower) && keyChar(lower[j]) {
		j++
	}
	return j < len(lower) && (lower[j] == ' ' || lower[j] == '\t') && i < j && SensitiveKey(line[i:j])
}

// entropyOnLine: a high-entropy value is a run of base64 characters
// (with its padding) that starts right after a separator, a blank, a '['
// or a quote (where kvKeyRE can end) and is random enough. Such a run
// starts a run of non-'=' base64 characters, since none of those
// characters can end a key match.
func entropyOnLine(line, _ string) bool {
	if !strings.ContainsAny(line, ":=") {
		return false // kvKeyRE's separators
	}
	for i := 1; i < len(line); {
		if !base64Char(line[i]) || line[i] == '=' {
			i++
			continue
		}
		j := i
		for j < len(line) && base64Char(line[j]) && line[j] != '=' {
			j++
		}
		v1 := j
		for v1 < len(line) && line[v1] == '=' {
			v1++
		}
		switch line[i-1] {
		case ' ', '\t', '=', ':', '>', '[', '"', '\'':
			if line[i] != '/' && highEntropy(line[i:v1]) {
				return true
			}
		}
		i = j
	}
	return false
}

// hasLongRun reports whether line holds 24 or more consecutive characters
// of the kind random keys are made of, the only lines the entropy detector
// needs to look at.
func hasLongRun(line string) bool {
	run := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '_' || c == '=' || c == '-' {
			run++
			if run >= 24 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// placeholderRE is a placeholder exactly as placeholder writes it. Only
// that counts as already masked: a bare "[MASKED" planted before a value
// must not shield it.
var placeholderRE = regexp.MustCompile(`\[MASKED:[^\]\s:]{1,160}:[0-9a-f]{8}\]`)

// placeholders returns the spans of placeholders already in s.
func placeholders(s string) []span {
	if !strings.Contains(s, Prefix) {
		return nil
	}
	var out []span
	for _, m := range placeholderRE.FindAllStringIndex(s, -1) {
		// A Secret value masked by Value carries its length: "[MASKED:…]
		// (27 bytes)" is one masked unit, not a placeholder followed by a
		// value to mask.
		if l := byteCountRE.FindStringIndex(s[m[1]:]); l != nil {
			m[1] += l[1]
		}
		out = append(out, span{start: m[0], end: m[1]})
	}
	return out
}

var byteCountRE = regexp.MustCompile(`^ \(\d{1,12} bytes\)`)

// maxPlaceholder is the longest placeholder placeholderRE accepts.
const maxPlaceholder = len("[MASKED:") + 160 + len(":01234567]")

// IsPlaceholder reports whether s is exactly one placeholder.
func IsPlaceholder(s string) bool {
	// Cheap refusals first: callers ask this of every found value, which
	// on a hostile line may be thousands of values each the line long.
	if len(s) > maxPlaceholder || !strings.HasPrefix(s, "[MASKED:") || s[len(s)-1] != ']' {
		return false
	}
	m := placeholderRE.FindStringIndex(s)
	return m != nil && m[0] == 0 && m[1] == len(s)
}

func hasAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// valueLooksSet is false for values that are plainly not secrets even under
// a secret-looking key: empty, booleans, small numbers, references to
// another variable, and placeholders already masked.
func valueLooksSet(v string) bool {
	v = strings.Trim(v, `"'`)
	if !maskableValue(v) {
		return false
	}
	lv := v
	if len(v) <= len("disabled") {
		lv = strings.ToLower(v) // the words below are short: a long value is none of them
	}
	switch lv {
	case "bearer", "basic", "token", "digest", "negotiate", "apikey":
		return false // an auth scheme; the credential after it is matched by auth-header
	case "read", "write", "none", "required", "optional", "enabled", "disabled", "yes", "no", "on", "off":
		return false // a permission or a switch (id-token: write)
	}
	if allLetters(v) && SensitiveKey(v) {
		return false // a key's name as value: a reference (secretKey: password)
	}
	if strings.HasPrefix(v, "${") || strings.HasPrefix(v, "$(") || strings.HasPrefix(v, "{{") || v == "|" || v == ">" || v == "|-" || v == ">-" {
		return false
	}
	allDigits := true
	for _, r := range v {
		if r < '0' || r > '9' {
			allDigits = false
			break
		}
	}
	return !(allDigits && len(v) < 8)
}

// Words (after splitting a key on separators and camel case) that make a
// key secret, and pairs of adjacent words that do.
var (
	secretWords = map[string]bool{
		"password": true, "passwd": true, "pwd": true, "pass": true, "passphrase": true,
		"secret": true, "token": true, "apikey": true, "privatekey": true,
		"credential": true, "credentials": true, "auth": true, "authorization": true,
		"accesskey": true, "secretkey": true, "clientsecret": true, "dsn": true,
		"cookie": true, "accountkey": true, "sharedaccesskey": true, "signingkey": true,
		"encryptionkey": true, "masterkey": true, "sessionkey": true, "webhooksecret": true,
		"pw": true, "dbpass": true, "dbpw": true, "requirepass": true, "masterauth": true,
	}
	secretPairs = map[[2]string]bool{
		{"api", "key"}: true, {"private", "key"}: true, {"access", "key"}: true,
		{"secret", "key"}: true, {"client", "secret"}: true, {"account", "key"}: true,
		{"signing", "key"}: true, {"encryption", "key"}: true, {"master", "key"}: true,
		{"session", "key"}: true, {"auth", "key"}: true, {"shared", "key"}: true,
	}
	// A key whose last word is one of these names something about a secret
	// (where it is, what it is called), not the secret itself.
	referenceWords = map[string]bool{
		"name": true, "names": true, "ref": true, "refs": true, "path": true, "file": true,
		"type": true, "kind": true, "url": true, "uri": true, "endpoint": true, "ttl": true,
		"expiry": true, "expires": true, "expiration": true, "mode": true, "id": true,
		"count": true, "length": true, "len": true, "max": true, "min": true, "limit": true,
		"enabled": true, "header": true, "policy": true, "issuer": true, "audience": true,
		"provider": true, "method": true, "format": true, "version": true, "store": true,
		"selector": true, "namespace": true, "timeout": true, "seconds": true, "size": true,
		"source": true, "volume": true, "mount": true, "hint": true, "required": true,
		"ttlseconds": true, "secretref": true, "keyref": true, "items": true, "dir": true,
		"class": true, "template": true, "scheme": true, "strategy": true, "rotation": true,
		"at": true, "reason": true, "status": true, "stdin": true,
	}
)

// SensitiveKey reports whether a key (a map key, an env name, a config
// field) names a secret, e.g. password, DB_PASSWORD, apiKey, client_secret,
// db.password; but not secretName, tokenPath, passwordFile or max_tokens.
func SensitiveKey(key string) bool {
	if len(key) <= maxFastKey && ascii(key) {
		return sensitiveASCII(key)
	}
	words := splitWords(key)
	if len(words) == 0 {
		return false
	}
	n := len(words)
	if referenceWords[words[n-1]] {
		return false
	}
	for i, w := range words {
		// password1, Password123: a numbered key is the same key.
		w = strings.TrimRight(w, "0123456789")
		words[i] = w
		if secretWords[w] || runTogether(w) {
			return true
		}
		if i > 0 && secretPairs[[2]string{words[i-1], w}] {
			return true
		}
	}
	return false
}

// maxFastKey is the longest key sensitiveASCII reads.
const maxFastKey = 128

// sensitiveASCII is SensitiveKey for an ASCII key of at most maxFastKey
// bytes (every key a detector finds on an ordinary line), without
// allocating: the words are splitASCII's, lowered in a buffer on the
// stack, and looked up as map keys converted in place.
func sensitiveASCII(key string) bool {
	var low [maxFastKey]byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	var words [maxFastKey][2]int
	n := 0
	asciiWords(key, func(a, b int) {
		words[n] = [2]int{a, b}
		n++
	})
	if n == 0 || referenceWords[string(low[words[n-1][0]:words[n-1][1]])] {
		return false
	}
	var pair [2*maxFastKey + 1]byte
	var prev []byte
	for _, w := range words[:n] {
		a, b := w[0], w[1]
		for b > a && low[b-1] >= '0' && low[b-1] <= '9' {
			b-- // password1, Password123: a numbered key is the same key
		}
		word := low[a:b]
		if secretWords[string(word)] {
			return true
		}
		for _, suf := range secretSuffixes {
			if len(word) > len(suf) && string(word[len(word)-len(suf):]) == suf {
				return true
			}
		}
		if prev != nil {
			k := copy(pair[:], prev)
			pair[k] = ' '
			k += 1 + copy(pair[k+1:], word)
			if secretPairsJoined[string(pair[:k])] {
				return true
			}
		}
		prev = word
	}
	return false
}

// secretPairsJoined is secretPairs with each pair's words joined by a
// blank.
var secretPairsJoined = func() map[string]bool {
	m := make(map[string]bool, len(secretPairs))
	for p := range secretPairs {
		m[p[0]+" "+p[1]] = true
	}
	return m
}()

// secretSuffixes end a run-together name that is secret: PGPASSWORD,
// ADMINPASSWORD, MYSQLPWD, csrftoken. ("pass" is left out: bypass,
// compass.)
var secretSuffixes = []string{"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey"}

func runTogether(w string) bool {
	for _, suf := range secretSuffixes {
		if len(w) > len(suf) && strings.HasSuffix(w, suf) {
			return true
		}
	}
	return false
}

// benignKey names values that are random by nature but not secret: digests,
// ids, versions, checksums.
func benignKey(key string) bool {
	words := splitWords(key)
	for _, w := range words {
		switch w {
		case "image", "digest", "sha", "sha256", "sha1", "hash", "checksum", "uid", "uuid", "id",
			"commit", "revision", "resourceversion", "version", "etag", "integrity", "fingerprint",
			"nonce", "trace", "traceid", "spanid", "request", "requestid", "ref", "tag", "message", "msg",
			"resolved", "sum", "h1", "url", "path", "name", "title", "description",
			// An upstream's page token (Kubernetes' continue) that the caller
			// must pass back as it is.
			"continue":
			return true
		}
	}
	return false
}

// splitWords splits "DB_PASSWORD", "apiKey", "client-secret", "db.password"
// into lower-case words.
func splitWords(key string) []string {
	if ascii(key) {
		return splitASCII(key)
	}
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(key)
	for i, r := range runes {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(runes[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// splitASCII is splitWords for an ASCII key (every key the detectors
// read), without its rune and string copies: words are slices of key,
// copied only to lower them.
func splitASCII(key string) []string {
	words := make([]string, 0, 4)
	asciiWords(key, func(a, b int) { words = append(words, asciiLower(key[a:b])) })
	return words
}

// asciiWords calls f with the bounds of each word of an ASCII key, as
// splitWords splits it: runs of letters and digits, cut again where a
// lower-case letter is followed by an upper-case one.
func asciiWords(key string, f func(a, b int)) {
	start := -1
	flush := func(end int) {
		if start >= 0 {
			f(start, end)
			start = -1
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'):
			flush(i)
		case c >= 'A' && c <= 'Z' && i > 0 && key[i-1] >= 'a' && key[i-1] <= 'z':
			flush(i)
			start = i
		case start < 0:
			start = i
		}
	}
	flush(len(key))
}

// highEntropy reports whether v looks like a random key: long enough, with
// letters of both cases and digits, and more bits per character than hex
// (so commit ids and digests are not taken for secrets).
//
// It reads v once, and decides without a logarithm where it can: k
// distinct bytes carry at most log2(k) bits each, below 4.2 for k <= 18
// (log2 18 = 4.17); and the entropy is also log2(n) - sum(c log2 c)/n,
// which a table of c log2 c gives to within 1e-12 of the sum over
// p log2 p, so a result farther than 1e-9 from 4.2 is decided by it. In
// the band between (never met but by construction), the sum runs over
// the same counts in the same order as before, the same float64.
func highEntropy(v string) bool {
	if len(v) < 24 {
		return false
	}
	var counts [256]int
	var seen [4]uint64
	var upper, lower, digit bool
	distinct := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
		if counts[c] == 0 {
			distinct++
			seen[c>>6] |= 1 << (c & 63)
		}
		counts[c]++
	}
	if !(upper && lower && digit) || distinct <= 18 {
		return false
	}
	n := float64(len(v))
	if len(v) < len(cLog2c) {
		sum := 0.0
		for w, set := range seen {
			for ; set != 0; set &= set - 1 {
				sum += cLog2c[counts[w<<6|bits.TrailingZeros64(set)]]
			}
		}
		if h := math.Log2(n) - sum/n; math.Abs(h-4.2) > 1e-9 {
			return h > 4.2
		}
	}
	h := 0.0
	for w, set := range seen {
		for ; set != 0; set &= set - 1 {
			p := float64(counts[w<<6|bits.TrailingZeros64(set)]) / n
			h -= p * math.Log2(p)
		}
	}
	return h >= 4.2
}

// cLog2c[c] is c log2 c, for the counts of values up to 4 KiB long.
var cLog2c = func() (t [4096]float64) {
	for c := 1; c < len(t); c++ {
		t[c] = float64(c) * math.Log2(float64(c))
	}
	return t
}()

// kindForKey names the placeholder kind for a value masked because of its
// key: the key's words joined, so "[MASKED:db-password:…]" tells the reader
// what was there.
func kindForKey(key string) string {
	words := splitWords(key)
	if len(words) == 0 {
		return "secret"
	}
	if len(key) > 40 {
		// Not a name someone chose for a setting, but text (a log field,
		// a key holding a token): naming the placeholder after it could
		// repeat what is masked. The secret word alone says enough.
		for i := len(words) - 1; i >= 0; i-- {
			if secretWords[words[i]] || runTogether(words[i]) || i > 0 && secretPairs[[2]string{words[i-1], words[i]}] {
				return words[i]
			}
		}
		return "secret"
	}
	// Only words of letters name a kind: a word with digits in it may be
	// part of a secret that a detector found inside the key itself
	// (sshpass -pX ran on into a "key" pX), and the kind is in clear.
	var kept []string
	for _, w := range words {
		if allLetters(w) {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		return "secret"
	}
	k := strings.Join(kept, "-")
	if len(k) > 40 {
		k = k[:40]
	}
	return k
}
