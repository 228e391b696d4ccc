package tool

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonEncSeeds are JSON documents whose values exercise each escape and
// number form encoding/json has.
var jsonEncSeeds = []string{
	`{}`, `{"items":[]}`, `{"a":null,"b":true,"c":false,"d":[null,[],{}]}`,
	`{"html":"<script>&amp;</script>","ctl":"\u0000\u0001\b\f\n\r\t\u001f\u007f","q":"\"\\/"}`,
	`{"sep":"a\u2028b\u2029c","uni":"é 日本 🙂","bad":"\ud800x"}`,
	`{"n":[0,-0,1,-1,1.5,1e21,1e20,123456789012345680000,1e-6,1e-7,-1e-7,5e-324,1.7976931348623157e308,0.000001,12345.678]}`,
	`{"z":1,"a":2,"m":{"y":[1,{"b":"x","a":"y"}],"x":"w"},"":"empty key","<k>":"&"}`,
}

// TestMarshalDataAsEncodingJSON: every seed, and values decoding cannot
// make (invalid UTF-8, an int, a nil slice or map), encode byte for byte
// as json.Marshal encodes them; a type marshalData does not know goes to
// json.Marshal.
func TestMarshalDataAsEncodingJSON(t *testing.T) {
	for _, s := range jsonEncSeeds {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(s), &v), s)
		assertSameJSON(t, v)
	}
	assertSameJSON(t, map[string]any{"bad": "a\xffb\xc3", "cut": "\xe2\x80", "int": 42, "neg": -7, "nils": []any(nil), "nilm": map[string]any(nil),
		"sep": "\u2028", "struct": struct{ A string }{"<x>"}, "float": 3.0})
	_, err := marshalData(map[string]any{"nan": math.NaN()})
	assert.Error(t, err, "NaN fails as in encoding/json")
}

func assertSameJSON(t *testing.T, v map[string]any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := marshalData(v)
	require.Equal(t, werr == nil, gerr == nil, "%v / %v", werr, gerr)
	assert.Equal(t, string(want), string(got))
}

// FuzzMarshalData: for any JSON document, and any string as a value and
// as a key, marshalData's bytes are json.Marshal's.
func FuzzMarshalData(f *testing.F) {
	for _, s := range jsonEncSeeds {
		f.Add(s, "")
	}
	f.Add(`{"a":1}`, "\xff<\u2028>\x00")
	f.Fuzz(func(t *testing.T, doc, s string) {
		var v map[string]any
		if json.Unmarshal([]byte(doc), &v) != nil || v == nil {
			v = map[string]any{}
		}
		v[s] = []any{s, map[string]any{s: s}}
		assertSameJSON(t, v)
	})
}

// BenchmarkMarshalData: a 200-line log page as the masker returns it,
// with marshalData and with json.Marshal.
func BenchmarkMarshalData(b *testing.B) {
	items := make([]any, 200)
	for i := range items {
		items[i] = map[string]any{"ts": "2026-11-28T10:00:00.123456789Z", "task": "shop_web.1", "stream": "stdout",
			"text": fmt.Sprintf(`10.0.0.%d - - "GET /api/v1/orders/%d HTTP/1.1" 200 %d rt=0.0%02d %s`, i, i*7, 100+i, i%99, strings.Repeat("x", i%40))}
	}
	v := map[string]any{"service": "shop_web", "items": items}
	b.Run("marshalData", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			marshalData(v)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(v)
		}
	})
}
