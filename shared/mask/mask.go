// Package mask hides secrets in everything a server sends out.
//
// It has two layers. The structural layer knows where secrets live in
// structured data (a Kubernetes Secret's data, a map key named "password",
// an env entry whose name looks secret). The detector layer finds secrets
// by shape in any text (private key blocks, JWTs, cloud and forge tokens,
// URLs with a password, Authorization headers, key=value assignments with
// a secret-looking key, high-entropy values in an assignment).
//
// A masked value becomes a placeholder "[MASKED:<kind>:<hash>]", where hash
// is a short keyed hash (HMAC-SHA256 with a per-process key): two different
// secrets stay distinguishable, equal ones match, and neither is revealed.
package mask

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
)

// Prefix starts every placeholder, so a reader (or a test) can tell masked
// text from clear text.
const Prefix = "[MASKED"

// Masker replaces secrets with placeholders. It is safe for concurrent use.
type Masker struct {
	key []byte
	// macs holds keyed HMACs to reuse (hmac.New hashes the key twice
	// and allocates, per placeholder), each with a buffer for the
	// secret's bytes (hmac has no WriteString: io.WriteString copied
	// every secret to a new slice).
	macs sync.Pool
}

// pooledMAC is one of a Masker's reusable HMACs.
type pooledMAC struct {
	mac hash.Hash
	buf []byte
}

// New returns a Masker whose placeholder hashes are keyed with key. An empty
// key draws a random one, so hashes cannot be compared across processes.
func New(key []byte) *Masker {
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic(fmt.Errorf("mask: read random key: %w", err))
		}
	}
	m := &Masker{key: key}
	m.macs.New = func() any { return &pooledMAC{mac: hmac.New(sha256.New, m.key)} }
	return m
}

// placeholder renders the replacement for secret of the given kind.
func (m *Masker) placeholder(kind, secret string) string {
	p := m.macs.Get().(*pooledMAC)
	p.mac.Reset()
	if len(secret) <= 4096 {
		p.buf = append(p.buf[:0], secret...)
		p.mac.Write(p.buf)
	} else {
		io.WriteString(p.mac, secret) // (no buffer kept that large)
	}
	var sum [sha256.Size]byte
	var id [8]byte
	hex.Encode(id[:], p.mac.Sum(sum[:0])[:4])
	m.macs.Put(p)
	var b strings.Builder
	b.Grow(len(Prefix) + len(kind) + len(id) + 3)
	b.WriteString(Prefix)
	b.WriteByte(':')
	b.WriteString(kind)
	b.WriteByte(':')
	b.Write(id[:])
	b.WriteByte(']')
	return b.String()
}

// span is a region of a text to replace. keep bytes at its start stay in
// clear (e.g. "Bearer ").
type span struct {
	start, end int
	kind       string
}

// Text masks every secret the detectors find in s and returns the result
// and how many values were masked.
func (m *Masker) Text(s string) (string, int) {
	if s == "" {
		return s, 0
	}
	spans := detect(s)
	if len(spans) == 0 {
		return s, 0
	}
	// Placeholders already in s stay whole, and only they: the rest of a
	// value they sit in (or beside) is masked all the same.
	ph := placeholders(s)
	spans = outside(s, merge(spans), ph)
	spans = outside(s, merge(repeats(s, spans)), ph)
	if len(spans) == 0 {
		return s, 0
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	// A repeated secret is hashed once (most found secrets repeat: a
	// value where it is set and where it is used).
	var memo map[[2]string]string
	if len(spans) > 1 {
		memo = make(map[[2]string]string, len(spans))
	}
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		k := [2]string{sp.kind, s[sp.start:sp.end]}
		ph, ok := memo[k]
		if !ok {
			ph = m.placeholder(k[0], k[1])
			if memo != nil {
				memo[k] = ph
			}
		}
		b.WriteString(ph)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String(), len(spans)
}

// minRepeat is the shortest secret whose other occurrences are masked too:
// shorter values are too likely to be ordinary words.
const minRepeat = 8

// maxRepeatValues bounds how many distinct secrets of one text are looked
// for again: each is one linear search of the text, so a line crafted to
// hold thousands of them costs no more than one that holds a few dozen.
// (A secret past the bound is still masked where it was found.)
const maxRepeatValues = 64

// repeats adds every other occurrence of a secret already found: a token
// detected where it is assigned ("token: X") is masked where it stands
// alone in the same text too ("do not paste X"). spans must be merged:
// the values are then disjoint, so hashing them reads the text once.
// (Comparing every found value at every position that shared its first
// bytes was cubic: 57 s for 64 KiB of "password:".)
//
// The first maxRepeatValues distinct values are looked for in one walk
// over the text (repeatsOnePass), and the spans come out in the order a
// strings.Index walk per value, in the order the values were found,
// gives them: value by value, each value's occurrences left to right,
// each search going on after the last occurrence's end.
func repeats(s string, spans []span) []span {
	var buf [maxRepeatValues]repeatValue
	vals := buf[:0]
	for _, sp := range spans {
		if len(vals) >= maxRepeatValues {
			break
		}
		v := s[sp.start:sp.end]
		if len(v) < minRepeat || IsPlaceholder(v) || slices.ContainsFunc(vals, func(r repeatValue) bool { return r.v == v }) {
			continue
		}
		vals = append(vals, repeatValue{v: v, kind: sp.kind, start: sp.start})
	}
	if len(vals) == 0 {
		return spans
	}
	hits := repeatsOnePass(s, vals)
	out := spans
	for _, r := range vals {
		if !r.missed {
			for _, h := range hits[r.first:r.last] {
				out = append(out, span{start: h, end: h + len(r.v), kind: r.kind})
			}
			continue
		}
		for from := 0; from <= len(s)-len(r.v); {
			i := strings.Index(s[from:], r.v)
			if i < 0 {
				break
			}
			i += from
			if i != r.start {
				out = append(out, span{start: i, end: i + len(r.v), kind: r.kind})
			}
			from = i + len(r.v)
		}
	}
	return out
}

// repeatValue is a found value repeats looks for again.
type repeatValue struct {
	v, kind string
	start   int // where it was found (not a repeat)
	// from is where the search for it goes on; first and last bound its
	// occurrences in repeatsOnePass's result.
	from, count, first, last int
	head                     uint64 // its first 8 bytes (head8)
	// misses counts the positions that held its first 8 bytes but not
	// the rest; past maxRepeatMisses (missed) it is left to a
	// strings.Index walk of its own.
	misses int
	missed bool
}

// maxRepeatMisses bounds the failed comparisons of one value in
// repeatsOnePass: each costs up to the value's length, and a text made
// to share a long value's first bytes everywhere would make the walk
// cost the text's length times the value's. strings.Index, which the
// value is then left to, is linear.
const maxRepeatMisses = 16

// head8 is the first 8 bytes of s (which has as many) as a number.
func head8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// repeatsOnePass finds, in one walk over s, the occurrences (but the one
// it was found at) of each value of vals, and returns them grouped by
// value (vals[i].first to vals[i].last), each group in the order of s;
// a value marked missed has none there. A value is compared only at a
// position whose first two bytes start some value, and whose first 8
// are its own (every value has at least minRepeat bytes); each search
// for it goes on after its last occurrence, as strings.Index's walk
// does.
func repeatsOnePass(s string, vals []repeatValue) []int {
	// pairs: the first two bytes of some value; byFirst and next chain
	// the values by their first byte (1 + index; 0 ends a chain).
	var pairs [1 << 16 / 64]uint64
	var byFirst [256]uint8
	var next [maxRepeatValues]uint8
	for i := len(vals) - 1; i >= 0; i-- {
		v := vals[i].v
		k := int(v[0])<<8 | int(v[1])
		pairs[k>>6] |= 1 << (k & 63)
		next[i], byFirst[v[0]] = byFirst[v[0]], uint8(i+1)
		vals[i].head = head8(v)
	}
	type hit struct{ vi, at int }
	var found []hit
	for i := 0; i+minRepeat <= len(s); i++ {
		k := int(s[i])<<8 | int(s[i+1])
		if pairs[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		h := head8(s[i:])
		for link := &byFirst[s[i]]; *link != 0; {
			c := *link
			r := &vals[c-1]
			if r.head != h || i < r.from {
				link = &next[c-1]
				continue
			}
			if !strings.HasPrefix(s[i:], r.v) {
				if r.misses++; r.misses > maxRepeatMisses {
					r.missed = true
					*link = next[c-1] // out of the chain
					continue
				}
				link = &next[c-1]
				continue
			}
			r.from = i + len(r.v)
			if i != r.start {
				found = append(found, hit{int(c - 1), i})
				r.count++
			}
			link = &next[c-1]
		}
	}
	// Grouped by value, in the order of s within each (a counting sort).
	n := 0
	for vi := range vals {
		vals[vi].first, vals[vi].last = n, n
		n += vals[vi].count
	}
	out := make([]int, n)
	for _, h := range found {
		out[vals[h.vi].last] = h.at
		vals[h.vi].last++
	}
	return out
}

// outside returns the parts of spans (sorted, disjoint) that lie outside
// the placeholders ph (sorted, disjoint), in one sweep over both. A part
// with no letter or digit (a quote, a comma, a blank between two
// placeholders) is dropped: there is nothing left to hide in it.
func outside(s string, spans, ph []span) []span {
	if len(ph) == 0 {
		return spans
	}
	var out []span
	j := 0
	for _, sp := range spans {
		for j < len(ph) && ph[j].end <= sp.start {
			j++
		}
		cur := sp.start
		for k := j; k < len(ph) && ph[k].start < sp.end; k++ {
			if ph[k].start > cur {
				out = appendPart(out, s, span{start: cur, end: ph[k].start, kind: sp.kind})
			}
			if ph[k].end > cur {
				cur = ph[k].end
			}
		}
		if cur < sp.end {
			out = appendPart(out, s, span{start: cur, end: sp.end, kind: sp.kind})
		}
	}
	return out
}

func appendPart(out []span, s string, sp span) []span {
	for i := sp.start; i < sp.end; i++ {
		if c := s[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 {
			return append(out, sp)
		}
	}
	return out
}

// merge sorts spans and folds overlapping ones into the widest cover, so a
// value found by two detectors is replaced once.
func merge(spans []span) []span {
	if len(spans) == 0 {
		return spans
	}
	// (slices.SortFunc is sort.Slice's pdqsort without reflection: the
	// same comparisons and swaps, so spans that tie, one value found by
	// two detectors, keep the order that picks their kind.)
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		return cmp.Compare(b.end, a.end)
	})
	out := spans[:1]
	for _, sp := range spans[1:] {
		cur := &out[len(out)-1]
		if sp.start < cur.end {
			if sp.end > cur.end {
				cur.end = sp.end
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// Value masks a JSON-shaped value (what encoding/json decodes into an any:
// maps, slices, strings, numbers). Keys are kept; values under secret-looking
// keys, Kubernetes Secret data and secret env entries are replaced; every
// other string goes through the text detectors. The input is not modified.
func (m *Masker) Value(v any) (any, int) {
	w := &walker{}
	out := m.walk(v, "", w)
	return out, w.n
}

// Masked reports whether Text(s) == s is already known: s is one whole
// line of a text Text returned and holds no placeholder, so it is a line
// of that text as it was, in which nothing was found with the rest of the
// text around it, and a line alone shows the detectors no more than it
// does in its text (context only adds: a YAML block, a repeated value).
// FuzzLinesOfMaskedText holds Text to this. A line with a placeholder is
// not known: masking twice can differ from masking once around one (see
// docs/security.md, Known limits).
type Masked func(s string) bool

// AnyMasked is Any, except that a string known reports as masked is not
// masked as text a second time. Everything else a walk does to it (a
// secret key's value, a long value given its key as context) still
// happens.
func (m *Masker) AnyMasked(v any, known Masked) (any, int, error) {
	generic, err := roundTrip(v)
	if err != nil {
		return nil, 0, err
	}
	w := &walker{known: known}
	out := m.walk(generic, "", w)
	return out, w.n, nil
}

// walker is one Value walk's state: the count of masked values, and what
// was found of each map key, which repeats in every item of a list
// ("name", "ts", "text" two hundred times): masking and judging it once
// is the same as doing so every time (both are pure functions of the
// key), and was most of the walk over a page of log lines.
type walker struct {
	n         int
	known     Masked
	keys      map[string]walkedKey
	sensitive map[string]bool
}

type walkedKey struct {
	masked string
	count  int
}

// maxWalkKeys bounds each cache of a walk: a hostile document's keys are
// all different.
const maxWalkKeys = 4096

// key is m.Text(k), from the walk's cache.
func (w *walker) key(m *Masker, k string) (string, int) {
	if wk, ok := w.keys[k]; ok {
		return wk.masked, wk.count
	}
	masked, c := m.Text(k)
	if w.keys == nil {
		w.keys = map[string]walkedKey{}
	}
	if len(w.keys) < maxWalkKeys {
		w.keys[k] = walkedKey{masked: masked, count: c}
	}
	return masked, c
}

// isSensitive is SensitiveKey(k), from the walk's cache.
func (w *walker) isSensitive(k string) bool {
	if v, ok := w.sensitive[k]; ok {
		return v
	}
	v := SensitiveKey(k)
	if w.sensitive == nil {
		w.sensitive = map[string]bool{}
	}
	if len(w.sensitive) < maxWalkKeys {
		w.sensitive[k] = v
	}
	return v
}

// JSON masks a JSON document and returns it re-encoded. Invalid JSON is
// masked as text, so nothing ever passes unmasked.
func (m *Masker) JSON(raw []byte) ([]byte, int) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		s, n := m.Text(string(raw))
		return []byte(s), n
	}
	out, n := m.Value(v)
	b, err := json.Marshal(out)
	if err != nil {
		s, n := m.Text(string(raw))
		return []byte(s), n
	}
	return b, n
}

// Any masks an arbitrary Go value by round-tripping it through JSON.
func (m *Masker) Any(v any) (any, int, error) {
	generic, err := roundTrip(v)
	if err != nil {
		return nil, 0, err
	}
	out, n := m.Value(generic)
	return out, n, nil
}

// roundTrip is v as encoding/json decodes its encoding into an any.
func roundTrip(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("mask: encode value: %w", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, fmt.Errorf("mask: decode value: %w", err)
	}
	return generic, nil
}

func (m *Masker) walk(v any, key string, w *walker) any {
	switch t := v.(type) {
	case map[string]any:
		return m.walkMap(t, w)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = m.walk(e, key, w)
		}
		return out
	case string:
		if key != "" && (w.isSensitive(key) || vaultSecretID(key, t)) && maskableValue(t) {
			w.n++
			return m.placeholder(kindForKey(key), t)
		}
		s, c := t, 0
		if w.known == nil || !w.known(t) {
			s, c = m.Text(t)
		}
		w.n += c
		// The text shows it as "key: value", where the key gives the
		// value its context (a long random value under any name is a
		// high-entropy assignment): mask it so here too, on top of the
		// above, or structured content would show what the text hides.
		if key != "" && hasLongRun(s) {
			// The key's last line is the value's line in the text.
			prefix := key[strings.LastIndexAny(key, "\r\n")+1:] + ": "
			if ks, kc := m.Text(prefix + s); kc > 0 && strings.HasPrefix(ks, prefix) {
				w.n += kc
				s = ks[len(prefix):]
			}
		}
		return s
	case float64, json.Number, int, int64:
		// {"password": 12345678901}: a number under a secret key is the
		// secret all the same.
		if key != "" && w.isSensitive(key) {
			w.n++
			return m.placeholder(kindForKey(key), fmt.Sprint(t))
		}
		return v
	default:
		return v
	}
}

// pairNames are the fields that name a sibling "value" field: an env entry
// {name: DB_PASSWORD, value: ...}, a {key, value} pair as Helm, Consul and
// many APIs write it, and the same as Go marshals it (Name, Value).
var pairNames = []string{"name", "Name", "key", "Key"}

func (m *Masker) walkMap(in map[string]any, w *walker) map[string]any {
	out := make(map[string]any, len(in))
	isSecret := in["kind"] == "Secret" && (in["apiVersion"] == "v1" || in["apiVersion"] == nil) || secretListItem(in)
	// The value is secret because of its sibling's name.
	secretEnv := false
	for _, f := range pairNames {
		if name, _ := in[f].(string); name != "" && SensitiveKey(name) {
			secretEnv = true
		}
	}
	for k, v := range in {
		// A map key is upstream text like any other (a JSON log line's
		// field name, a label): a secret in it is masked, and the masked
		// key is what names the value's placeholder.
		if mk, c := w.key(m, k); c > 0 {
			w.n += c
			k = mk
		}
		switch {
		case isSecret && (k == "data" || k == "stringData"):
			out[k] = m.secretData(v, k == "data", w)
		case secretEnv && (k == "value" || k == "Value"):
			if s, ok := v.(string); ok && maskableValue(s) {
				w.n++
				out[k] = m.placeholder("env", s)
				continue
			}
			out[k] = m.walk(v, k, w)
		default:
			out[k] = m.walk(v, k, w)
		}
	}
	return out
}

// secretListItem reports whether m is a Secret as a list returns it: the
// API leaves kind and apiVersion out of a list's items, but a Secret has
// metadata, a type and data, where a ConfigMap has no type.
func secretListItem(m map[string]any) bool {
	if _, ok := m["kind"]; ok {
		return false
	}
	_, meta := m["metadata"].(map[string]any)
	_, typed := m["type"].(string)
	_, data := m["data"].(map[string]any)
	_, stringData := m["stringData"].(map[string]any)
	return meta && typed && (data || stringData)
}

// secretData keeps a Secret's key names and shows only each value's length
// in bytes (decoded, for base64 "data").
func (m *Masker) secretData(v any, base64Encoded bool, w *walker) any {
	data, ok := v.(map[string]any)
	if !ok {
		return m.walk(v, "data", w)
	}
	out := make(map[string]any, len(data))
	for k, val := range data {
		s, _ := val.(string)
		size := len(s)
		if base64Encoded {
			size = base64DecodedLen(s)
		}
		w.n++
		ph := m.placeholder("secret-data", s)
		out[k] = fmt.Sprintf("%s (%d bytes)", ph, size)
	}
	return out
}

func base64DecodedLen(s string) int {
	s = strings.TrimRight(s, "=")
	return len(s) * 3 / 4
}

// maskableValue reports whether a value under a secret-looking key is worth
// masking: empty strings, booleans and already masked values are not.
func maskableValue(s string) bool {
	if s == "" || IsPlaceholder(s) {
		return false
	}
	if len(s) > 5 {
		return true // longer than every word below: no need to lower it
	}
	switch strings.ToLower(s) {
	case "true", "false", "null", "none", "~":
		return false
	}
	return true
}
