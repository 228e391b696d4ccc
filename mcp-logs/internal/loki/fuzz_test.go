package loki

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// bodyTransport answers every request with one body.
type bodyTransport string

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(string(b))), Header: http.Header{}, Request: r}, nil
}

// FuzzResponses: whatever bytes Loki (or something in its place) answers,
// no decoder panics, and a decoded result is consistent: entries only for
// streams, series only for metric types.
func FuzzResponses(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1700000000000000000","line",{"trace_id":"x"}]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1700000000.5,"1"]]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1e308,"NaN"]}]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[-1e308,"x"]}}`,
		`{"status":"success","data":{"resultType":"streams","result":[{"values":[["9999999999999999999","x"],[]]}]}}`,
		`{"data":{"resultType":"vector","result":[{"value":[]}]}}`,
		`{"status":"success","data":["a","b"]}`,
		`{"streams":1,"chunks":-1,"bytes":9223372036854775807}`,
		`{"data":[{"pattern":"<_> x","samples":[[1,2],[3]]}]}`,
		`not json`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := New(Options{URL: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		c.http = &http.Client{Transport: bodyTransport(body)}
		ctx := context.Background()
		now := time.Unix(1700000000, 0)
		if res, err := c.QueryRange(ctx, Range{Query: `{a="b"}`, Start: now.Add(-time.Hour), End: now, Limit: 10}); err == nil {
			if res.Type != "streams" && len(res.Entries) > 0 || res.Type == "streams" && len(res.Series) > 0 {
				t.Fatalf("type %s with %d entries and %d series", res.Type, len(res.Entries), len(res.Series))
			}
		}
		c.Query(ctx, `sum(rate({a="b"}[1m]))`, now, 0)
		c.Labels(ctx, now.Add(-time.Hour), now, "")
		c.LabelValues(ctx, "a", now.Add(-time.Hour), now, "")
		c.SeriesList(ctx, `{a="b"}`, now.Add(-time.Hour), now)
		c.Stats(ctx, `{a="b"}`, now.Add(-time.Hour), now)
		c.Volume(ctx, `{a="b"}`, now.Add(-time.Hour), now, []string{"a"}, 10)
		c.Patterns(ctx, `{a="b"}`, now.Add(-time.Hour), now)
		c.FormatQuery(ctx, `{a="b"}`)
	})
}
