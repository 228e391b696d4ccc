package tool

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMarshalDataRedTeam: values the binder can be handed, chosen to
// break a hand-written encoder, encode byte for byte as json.Marshal
// encodes them (or fail as it fails): every single byte and every pair
// of a lead and a continuation byte (invalid and overlong UTF-8, the
// CESU form of lone surrogates), runes at each encoding-length boundary,
// U+2028/2029 beside other escapes, nesting as deep as json.Unmarshal
// accepts, json.Number, typed nils, non-string-keyed maps inside, NaN
// and the infinities, and a 4 MiB string.
func TestMarshalDataRedTeam(t *testing.T) {
	var bytesOne, pairs strings.Builder
	for c := 0; c < 256; c++ {
		bytesOne.WriteByte(byte(c))
		for _, d := range []byte{0x80, 0x9f, 0xa0, 0xbf, 'a'} {
			pairs.WriteByte(byte(c))
			pairs.WriteByte(d)
			pairs.WriteByte(' ')
		}
	}
	runes := []rune{0, 0x1f, 0x7f, 0x80, 0x7ff, 0x800, 0xfffd, 0xfffe, 0xffff, 0x10000, 0x10ffff, 0x2027, 0x2028, 0x2029, 0x202a, 0xfeff, 0x200b}
	var rs strings.Builder
	for _, r := range runes {
		rs.WriteRune(r)
		rs.WriteString("<&>")
	}
	deep := strings.Repeat(`{"a":[`, 4999) + `1` + strings.Repeat(`]}`, 4999)
	var deepV map[string]any
	require.NoError(t, json.Unmarshal([]byte(deep), &deepV))
	type T struct{ A string }
	var nilT *T
	var nilErr error
	cases := []map[string]any{
		{"one": bytesOne.String(), bytesOne.String(): 1},
		{"pairs": pairs.String(), pairs.String(): []any{pairs.String()}},
		{"runes": rs.String(), "surrogates": "\xed\xa0\x80\xed\xbf\xbf", "overlong": "\xc0\xaf\xe0\x80\xaf", "cut": "a\xf0\x9f\x99"},
		deepV,
		{"num": json.Number("12.50"), "n2": []any{json.Number("1e400")}},
		{"typednil": nilT, "iface": nilErr, "m": map[string]any{"k": (*int)(nil)}},
		{"inner": map[string]any{"x": map[int]any{2: "b", 1: "a"}}, "s": []string{"<", ">"}},
		{"nan": []any{1.0, math.NaN()}},
		{"inf": map[string]any{"a": math.Inf(-1)}},
		{"floats": []any{math.SmallestNonzeroFloat64, -math.MaxFloat64, 1e-6, 9.999999e-7, 1e21, 999999999999999900000.0, math.Copysign(0, -1), 100.0, 1e-100}},
		{"ints": []any{0, -1, math.MaxInt, math.MinInt}},
		{"long": strings.Repeat("\u2028a<\xff", 1<<20)},
	}
	for i, v := range cases {
		want, werr := json.Marshal(v)
		got, gerr := marshalData(v)
		require.Equal(t, werr == nil, gerr == nil, "case %d: %v / %v", i, werr, gerr)
		require.True(t, string(want) == string(got), "case %d differs", i)
		if werr == nil {
			assert.True(t, utf8.Valid(got), "case %d", i)
		}
	}
}
