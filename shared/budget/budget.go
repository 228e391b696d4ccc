// Package budget bounds every tool result and says when it was cut.
//
// A result is a structured object (whose "items" array, if any, is the list
// to page through) and a text rendering. When either is over the byte
// budget, the result is cut: lists at an item boundary, text at a line
// boundary, and a cursor is returned that continues exactly where the cut
// was made when passed back with the same arguments.
package budget

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Cursor is where the next page starts: an item index in the structured
// list and a byte offset in the text (of the current item, when one item
// alone is larger than the budget). Args ties it to the query it came from.
//
// Pos, when set, is a tool's own position (a log timestamp, a file offset):
// the tool resumed there itself, so Items counts from that position.
type Cursor struct {
	Items int    `json:"i,omitempty"`
	Text  int    `json:"t,omitempty"`
	Pos   string `json:"p,omitempty"`
	Args  string `json:"a"`
}

// Seal renders c as an opaque string signed with key (HMAC-SHA256) and
// bound to bind (the binder binds the tool, the arguments and the caller),
// so a cursor can be neither forged nor moved to another call or user: a
// tool's own position (a file offset, a log timestamp) comes back exactly
// as the tool wrote it.
func (c Cursor) Seal(key []byte, bind string) string {
	b, _ := json.Marshal(c)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(cursorMAC(key, bind, body))
}

func cursorMAC(key []byte, bind, body string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(bind))
	mac.Write([]byte{0})
	mac.Write([]byte(body))
	return mac.Sum(nil)[:16]
}

// ErrBadCursor is returned for a cursor that cannot be decoded.
var ErrBadCursor = errors.New("invalid cursor: pass back the cursor string exactly as a previous result gave it")

// ErrForeignCursor is returned for a well-formed cursor that was not made
// for this call: changed, made by another server, or for other arguments
// or another caller.
var ErrForeignCursor = errors.New("invalid cursor: it does not belong to this call (other arguments, another tool or another caller, or it was changed); repeat the same arguments with the cursor as given, or drop the cursor to start over")

// Open parses a cursor made by Seal with the same key and bind.
func Open(s string, key []byte, bind string) (Cursor, error) {
	var c Cursor
	body, sig, ok := strings.Cut(s, ".")
	if !ok {
		return c, ErrBadCursor
	}
	// The decoder skips CR and LF even when Strict, so only the canonical
	// encoding is accepted: one string per signature.
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || base64.RawURLEncoding.EncodeToString(got) != sig {
		return c, ErrBadCursor
	}
	if !hmac.Equal(got, cursorMAC(key, bind, body)) {
		return c, ErrForeignCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return c, ErrBadCursor
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Items < 0 || c.Text < 0 {
		return c, ErrBadCursor
	}
	return c, nil
}

// Page is one result before it is bounded.
type Page struct {
	// Data is the structured result as a JSON object; Data["items"], when it
	// is an array, is paged.
	Data map[string]any
	// Render, when set, renders the text from (a page of) Data, so text and
	// structure always show the same items. Otherwise Text is used as is.
	Render func(data map[string]any) string
	Text   string
}

// Cut is a bounded page.
type Cut struct {
	Data map[string]any
	Text string
	// Next is where to continue, or nil when the page is complete.
	Next *Cursor
	// Shown and Total count items, when the data has a list.
	Shown, Total int
}

// Apply bounds p to max bytes of text and max bytes of encoded data,
// starting at from.
func Apply(p Page, from Cursor, max int) Cut {
	if max <= 0 {
		max = 1
	}
	items, hasItems := p.Data["items"].([]any)
	if from.Items > len(items) {
		from.Items = len(items)
	}
	if p.Render != nil {
		if hasItems {
			return applyRendered(p, items, from, max)
		}
		p.Text = p.Render(p.Data)
	}
	out := Cut{Data: p.Data}
	var next Cursor
	cut := false
	if hasItems {
		rest := items[from.Items:]
		k := sort.Search(len(rest)+1, func(k int) bool {
			return k > 0 && jsonSize(with(p.Data, rest[:k])) > max
		}) - 1
		if k < 0 {
			k = 0
		}
		if k == 0 && len(rest) > 0 {
			k = 1 // always make progress; its long strings are cut below
		}
		out.Data = with(p.Data, rest[:k])
		out.Shown, out.Total = k, len(items)
		if from.Items+k < len(items) {
			next.Items = from.Items + k
			cut = true
		}
	}
	if jsonSize(out.Data) > max {
		out.Data = cutStrings(out.Data, max).(map[string]any)
	}
	text, off, more := Text(p.Text, from.Text, max)
	out.Text = text
	if more {
		next.Text = off
		cut = true
	}
	if cut {
		out.Next = &next
	}
	return out
}

func applyRendered(p Page, items []any, from Cursor, max int) Cut {
	rest := items[from.Items:]
	fits := func(k int) bool {
		d := with(p.Data, rest[:k])
		return jsonSize(d) <= max && len(p.Render(d)) <= max
	}
	// Largest k that fits; fits is monotone in k.
	k := sort.Search(len(rest)+1, func(k int) bool { return k > 0 && !fits(k) }) - 1
	if k < 0 {
		k = 0
	}
	out := Cut{Total: len(items)}
	if k > 0 || len(rest) == 0 {
		out.Data = with(p.Data, rest[:k])
		out.Text = p.Render(out.Data)
		out.Shown = k
		if from.Items+k < len(items) {
			out.Next = &Cursor{Items: from.Items + k}
		}
		return out
	}
	// One item alone is over the budget: page through its text.
	one := with(p.Data, rest[:1])
	text, off, more := Text(p.Render(one), from.Text, max)
	out.Text = text
	out.Data = one
	if jsonSize(one) > max {
		out.Data = cutStrings(one, max).(map[string]any)
	}
	out.Shown = 1
	switch {
	case more:
		out.Next = &Cursor{Items: from.Items, Text: off}
	case from.Items+1 < len(items):
		out.Next = &Cursor{Items: from.Items + 1}
	}
	return out
}

// Text returns s[from:] cut to at most max bytes, at the last line break
// that fits (or mid-line, at a UTF-8 boundary, when no line break does),
// the offset to continue from, and whether anything is left.
func Text(s string, from, max int) (string, int, bool) {
	if from > len(s) {
		from = len(s)
	}
	rest := s[from:]
	if len(rest) <= max {
		return rest, len(s), false
	}
	end := max
	if i := strings.LastIndexByte(rest[:max], '\n'); i > 0 {
		end = i + 1
	} else {
		for end > 0 && !utf8Start(rest[end]) {
			end--
		}
		if end == 0 {
			end = max
		}
	}
	return rest[:end], from + end, true
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func with(data map[string]any, items []any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
	}
	out["items"] = items
	return out
}

func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// cutStrings shortens every string longer than an eighth of max, so one
// huge value (a ConfigMap's file, a log line) cannot blow the budget.
func cutStrings(v any, max int) any {
	limit := max / 8
	if limit < 64 {
		limit = 64
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = cutStrings(e, max)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cutStrings(e, max)
		}
		return out
	case string:
		if len(t) > limit {
			s, _, _ := Text(t, 0, limit)
			return s + fmt.Sprintf("…[cut: %d of %d bytes]", len(s), len(t))
		}
		return t
	default:
		return v
	}
}
