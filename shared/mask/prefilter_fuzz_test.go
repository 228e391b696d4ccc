package mask

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceDecode is decodeBase64Text as it was written with
// encoding/base64, before the allocation-free decoder.
func referenceDecode(run string) (string, bool) {
	enc := base64.StdEncoding
	if strings.ContainsAny(run, "-_") {
		enc = base64.URLEncoding
	}
	b, err := enc.WithPadding(base64.NoPadding).DecodeString(strings.TrimRight(run, "="))
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return "", false
		}
	}
	return string(b), true
}

// referenceHighEntropy is highEntropy as it was written before its
// single pass and early exit.
func referenceHighEntropy(v string) bool {
	if len(v) < 24 {
		return false
	}
	var upper, lower, digit bool
	for _, r := range v {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	if !(upper && lower && digit) {
		return false
	}
	var counts [256]int
	for i := 0; i < len(v); i++ {
		counts[v[i]]++
	}
	n := float64(len(v))
	h := 0.0
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h >= 4.2
}

// referenceSensitiveKey is SensitiveKey as it was written before its
// allocation-free path for short ASCII keys.
func referenceSensitiveKey(key string) bool {
	words := splitWords(key)
	if len(words) == 0 {
		return false
	}
	n := len(words)
	if referenceWords[words[n-1]] {
		return false
	}
	for i, w := range words {
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

// FuzzPrefiltersExact asserts that every shortcut masking takes to skip
// work changes no result, on any text: kvKeys finds what kvKeyRE finds,
// the base64 decoder agrees with encoding/base64, a line a lineOK test
// refuses holds no match its detector would keep, an anchored detector
// finds what its regexp finds over the whole text, and a line-local
// detector's matches over the whole text are its matches on the lines
// that hold a hint.
func FuzzPrefiltersExact(f *testing.F) {
	for _, s := range []string{
		"a=b", "x: !!binary  [ v", "9abc := 'x'", "k=>v a:b", "-x.y: \"z\"", "a' = b", "a!:b",
		"password: password: hunter2x", "--db-password s3cr3tValue9 --port 80", "requirepass Zq81hunter",
		"token: Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9L", "api_key=\"AbCdEf0123456789GhIjKlMn\"",
		"Proxy-Authorization: Basic dXNlcjpwYXNz", "Set-Cookie: sid=abc123def456", "x-api-key:\n  K3y-Zq81hunter",
		"machine h login ci\npassword Zq81hunter", "- name: DB_PASSWORD\n  value: Zq81hunter", "user_authorization: none",
		"cGFzc3dvcmQ6IGh1bnRlcjI=", "aGVsbG8-_w==", "YR", "deploy token 3f2a9c1be07d4a5f8c6b2e1d0a9f8e7d6c5b4a39",
		"postgres://app:p@ss@db:5432 x://y:z@w", "ab1://:@@ x+y://u:@h redis://:pw@h 9a://u:p@h", "a://b://c:d@e", "-://u:p@h",
		"https://abcdefghij0123456789@gitea/x https://abcdefghij0123456789x/@h", "s://u\u2028:p@h",
		"Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9L Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9LZZZZ", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa1A",
		"x.eyJabcdefgh.eyJabcdefgh.abcdefgh_eyJ-eyJabcdefgh.eyJab-defgh.abcdefg", "-eyJ-eyJaaaaaaaa.eyJbbbbbbbb.cccccccc",
		"DB_PASSWORD1 apiKey api.key client-secret2 x_secretName PGPASSWORD bypass MYAPIKEYS tokenPath AccessKey9 secretKeyRef", "Api_Key_Id ACCESS_KEY SESSION2KEY",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIx\n-----END RSA PRIVATE KEY-----\n-----BEGIN PRIVATE KEY BLOCK-----x-----END PRIVATE KEY-----",
		"-----BEGIN PRIVATE KEY PRIVATE KEY----- a -----END X PRIVATE KEY BLOCK----- -----BEGIN EC PRIVATE KEY-----\xff-----END", "------BEGIN  PRIVATE KEY------",
		"Authorization : [ 'Bearer\n  x", "proxy-authorization\t:\n\n  [\n  \"bearer\n\tv a", "x-api-key = [ \"k\" ,", "X-Vault-Token:\n \n  [MASKED:x:1]y z",
		"AKIA0123456789ABCDEF xAKIA0123456789ABCDEF sk-" + strings.Repeat("a", 40) + " ghp_" + strings.Repeat("b", 36) + "github_pat_" + strings.Repeat("c", 30),
		"ALTER USER x PASSWORD 'p''q'", "IDENTIFIED WITH mysql_native_password BY\t'x'", "pa\u017f\u017fword 'x'", "by'x' by '", "\u212a password 'y'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, b := fmt.Sprint(kvKeyRE.FindAllStringSubmatchIndex(s, -1)), fmt.Sprint(kvKeys(s)); a != b {
			t.Fatalf("kvKeys(%q) = %s, kvKeyRE finds %s", s, b, a)
		}
		run := strings.Map(func(r rune) rune {
			if r < 0x80 && base64Char(byte(r)) {
				return r
			}
			return -1
		}, s)
		for _, r := range []string{run, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
			a, aok := referenceDecode(r)
			if b, bok := decodeBase64Text(r); a != b || aok != bok {
				t.Fatalf("decodeBase64Text(%q) = %q %v, encoding/base64: %q %v", r, b, bok, a, aok)
			}
		}
		for _, v := range append(strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && !base64Char(byte(r)) }), s, run) {
			if a, b := referenceHighEntropy(v), highEntropy(v); a != b {
				t.Fatalf("highEntropy(%q) = %v, the reference %v", v, b, a)
			}
		}
		for _, k := range append(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ':' || r == '=' || r == '\n' }), s) {
			if a, b := referenceSensitiveKey(k), SensitiveKey(k); a != b {
				t.Fatalf("SensitiveKey(%q) = %v, the reference %v", k, b, a)
			}
		}
		lower := asciiLower(s)
		lines := scan.lines(lower)
		for i := range detectors {
			d := &detectors[i]
			if d.scanner != nil {
				// (A local detector's scanner is meant for a line, but
				// its regexp's language holds no newline: it must agree
				// on any text.)
				if a, b := fmt.Sprint(d.re.FindAllStringSubmatchIndex(s, -1)), fmt.Sprint(d.scanner(s)); a != b {
					t.Fatalf("%s on %q: scanner %s, regexp %s", d.kind, s, b, a)
				}
			}
			if d.lineOK != nil {
				for _, l := range allLines(s) {
					line := s[l[0]:l[1]]
					if d.lineOK(line, lower[l[0]:l[1]]) {
						continue
					}
					var ms [][]int
					switch {
					case d.kv != kvNone:
						ms = kvLine(line, d.kv)
					default:
						ms = d.re.FindAllStringSubmatchIndex(line, -1)
					}
					for _, m := range ms {
						if d.check == nil || d.check(line, m) {
							t.Fatalf("%s: lineOK refused %q, which holds a match %v", d.kind, line, m)
						}
					}
				}
			}
			if hasFoldRune(s) || d.re == nil || d.perLine {
				continue
			}
			if d.anchored != nil && placeholders(s) == nil { // (inside one, no match starts)
				if a, b := fmt.Sprint(d.re.FindAllStringSubmatchIndex(s, -1)), fmt.Sprint(d.anchoredMatches(s, lower, nil)); a != b {
					t.Fatalf("%s on %q: anchored %s, regexp %s", d.kind, s, b, a)
				}
			}
			if d.anchorsHinted && placeholders(s) == nil {
				// On the hint lines alone, as detectAt runs it.
				var on [][2]int
				if lines != nil {
					on = lines[i]
				}
				if a, b := fmt.Sprint(d.re.FindAllStringSubmatchIndex(s, -1)), fmt.Sprint(d.anchoredMatches(s, lower, on)); a != b {
					t.Fatalf("%s on %q: anchored on hint lines %s, regexp %s", d.kind, s, b, a)
				}
			}
			if d.local {
				// Compared as kept: a hint may be in a match only once
				// check has passed (a secret key holds one).
				keep := func(ms [][]int) (out [][]int) {
					for _, m := range ms {
						if d.check == nil || d.check(s, m) {
							out = append(out, m)
						}
					}
					return out
				}
				all := keep(d.re.FindAllStringSubmatchIndex(s, -1))
				var got [][]int
				if lines != nil && len(lines[i]) > 0 {
					got = keep(d.matches(s, lower, lines[i]))
				}
				if a, b := fmt.Sprint(all), fmt.Sprint(got); a != b && len(all)+len(got) > 0 {
					t.Fatalf("%s on %q: on hint lines %s, whole text %s", d.kind, s, b, a)
				}
			}
		}
	})
}
