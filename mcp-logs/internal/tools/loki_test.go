package tools

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-logs/internal/loki"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/tool"
)

const (
	akia   = "AKIAPLANTED7EXAMPLE1"
	dbPass = "Pl4nted-Db-Pa55w0rd"
)

// fakeLoki answers query_range with fixed streams and records what each
// endpoint was asked.
type fakeLoki struct {
	mu      sync.Mutex
	asked   map[string][]string // path -> query parameters
	streams []map[string]any
	values  []string // label values
}

func (f *fakeLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.asked == nil {
		f.asked = map[string][]string{}
	}
	q := r.URL.Query().Get("query")
	if q == "" {
		q = r.URL.Query().Get("match[]")
	}
	f.asked[r.URL.Path] = append(f.asked[r.URL.Path], q)
	f.mu.Unlock()
	switch {
	case r.URL.Path == "/loki/api/v1/format_query":
		http.NotFound(w, r) // an older Loki: the local check alone
	case r.URL.Path == "/loki/api/v1/index/volume":
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	case r.URL.Path == "/loki/api/v1/query_range":
		b, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": f.inRange(r.URL.Query())}})
		w.Write(b)
	case strings.HasSuffix(r.URL.Path, "/values"):
		b, _ := json.Marshal(map[string]any{"status": "success", "data": f.values})
		w.Write(b)
	default:
		fmt.Fprint(w, `{"status":"success","data":[]}`)
	}
}

// inRange is what Loki returns for a range request: the values in
// [start, end), the limit nearest the direction's end. (It does not run
// the query's filters: tests give it what Loki would select.)
func (f *fakeLoki) inRange(v url.Values) []map[string]any {
	start, _ := strconv.ParseInt(v.Get("start"), 10, 64)
	end, _ := strconv.ParseInt(v.Get("end"), 10, 64)
	limit, _ := strconv.Atoi(v.Get("limit"))
	type val struct {
		labels any
		v      []string
		ts     int64
	}
	var all []val
	for _, st := range f.streams {
		for _, x := range st["values"].([][]string) {
			ts, _ := strconv.ParseInt(x[0], 10, 64)
			if ts >= start && ts < end {
				all = append(all, val{st["stream"], x, ts})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if v.Get("direction") == "forward" {
			return all[i].ts < all[j].ts
		}
		return all[i].ts > all[j].ts
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	var out []map[string]any
	for _, a := range all {
		out = append(out, map[string]any{"stream": a.labels, "values": [][]string{a.v}})
	}
	return out
}

func (f *fakeLoki) queries(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked["/loki/api/v1/"+path]...)
}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func stream(labels map[string]string, lines ...string) map[string]any {
	var vals [][]string
	for i, l := range lines {
		vals = append(vals, []string{fmt.Sprint(now.Add(-time.Duration(i+1) * time.Minute).UnixNano()), l})
	}
	return map[string]any{"stream": labels, "values": vals}
}

func newServer(t *testing.T, f *fakeLoki) *Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := loki.New(loki.Options{URL: srv.URL})
	require.NoError(t, err)
	return &Server{Loki: c, MaxRange: 6 * time.Hour, MaxLimit: 1000, MaxLine: 2048, Now: func() time.Time { return now }}
}

func call(tool string, g *policy.Grant) *toolCall { return &toolCall{Tool: tool, Grant: g} }

type toolCall = tool.Call

func lines(t *testing.T, r *tool.Result) []string {
	t.Helper()
	var out []string
	for _, it := range r.Data.(QueryOutput).Items {
		out = append(out, it.Line)
	}
	return out
}

// TestRewritingStagesNeverReachLoki: issue 13's line_format of a password
// field (and b64enc) is refused before any request runs it.
func TestRewritingStagesNeverReachLoki(t *testing.T) {
	f := &fakeLoki{}
	s := newServer(t, f)
	for _, q := range []string{
		`{app="api"} | json | line_format "{{.password}}"`,
		`{app="api"} | json | line_format "{{.password | b64enc}}"`,
		`{app="api"} | json | label_format x="{{.password}}"`,
		`count_over_time({app="api"} |= "AKIAPLANTED" [5m])`,
	} {
		_, err := s.query(t.Context(), call("logs_query", nil), QueryInput{Query: q})
		require.Error(t, err, q)
		assert.ErrorIs(t, err, tool.ErrArgs)
		assert.Contains(t, err.Error(), "refused")
	}
	assert.Empty(t, f.queries("query_range"))
	assert.Empty(t, f.queries("query"))
}

// TestFiltersSeeOnlyMaskedText: issue 13's probes of a masked value by a
// line filter's matches. A positive filter that matched the unmasked key
// no longer matches its masked line; a negative one is not run by Loki (it
// would drop the lines holding the key) but on the masked lines here.
func TestFiltersSeeOnlyMaskedText(t *testing.T) {
	f := &fakeLoki{streams: []map[string]any{stream(map[string]string{"app": "gw"},
		"upstream auth with aws_access_key_id="+akia,
		"plain line",
	)}}
	s := newServer(t, f)
	run := func(q string) []string {
		r, err := s.query(t.Context(), call("logs_query", nil), QueryInput{Query: q})
		require.NoError(t, err, q)
		return lines(t, r)
	}
	for _, probe := range []string{
		`{app="gw"} |= "AKIAPLANTED7"`,
		`{app="gw"} |~ "key_id=AKIA[A-Z0-9]{3}"`,
		`{app="gw"} |~ "key_id=(AKIAP|.MASKED)"`, // the placeholder must not vouch for Loki's raw match
		`{app="gw"} |= "aws_access_key_id=[MASKED"`,
	} {
		assert.Empty(t, run(probe), "%s: the match was on masked bytes", probe)
	}
	got := run(`{app="gw"} |= "upstream auth"`)
	require.Len(t, got, 1, "a match away from the masked value stays")
	assert.Contains(t, got[0], "aws_access_key_id=[MASKED:")
	assert.NotContains(t, got[0], akia)

	got = run(`{app="gw"} != "AKIAPLANTED7"`)
	assert.Len(t, got, 2, "the masked line does not hold the probe: kept, as on masked text")
	for _, q := range f.queries("query_range") {
		assert.NotContains(t, q, "!=", "negative filters never reach Loki")
		assert.NotContains(t, q, "AKIAPLANTED7\" ", q)
	}
	got = run(`{app="gw"} !~ "plain|MASKED"`)
	assert.Empty(t, got, "a negative filter drops masked lines that match it")
}

// TestLabelFilterOnMaskedLabel: a label filter Loki ran on a value the
// result masks drops the line (| json | password="x" probed it).
func TestLabelFilterOnMaskedLabel(t *testing.T) {
	pw := stream(map[string]string{"app": "w", "password": dbPass, "level": "error"}, `{"level":"error","password":"`+dbPass+`"}`)
	note := stream(map[string]string{"app": "w", "note": "token=" + dbPass, "level": "info"}, `{"level":"info","note":"token=`+dbPass+`"}`)
	for _, c := range []struct {
		q      string
		stream map[string]any // what Loki returns for it
		want   int
	}{
		{`{app="w"} | json | password="` + dbPass + `"`, pw, 0},
		{`{app="w"} | json | note=~"token=Pl4n.*"`, note, 0},
		{`{app="w"} | json | level="error"`, pw, 1},
		{`{app="w"} | json | level="info" or note="x"`, note, 0},
	} {
		s := newServer(t, &fakeLoki{streams: []map[string]any{c.stream}})
		r, err := s.query(t.Context(), call("logs_query", nil), QueryInput{Query: c.q})
		require.NoError(t, err)
		got := lines(t, r)
		assert.Len(t, got, c.want, c.q)
		for _, l := range got {
			assert.NotContains(t, l, dbPass)
		}
	}
}

func grant(t *testing.T, scopes string) *policy.Grant {
	p, err := policy.Parse([]byte("roles:\n  r:\n    tools: [\"logs_*\"]\n" + scopes))
	require.NoError(t, err)
	return p.For([]string{"r"})
}

// TestNamespaceScopeOnLoki: issue 13's role limited to some namespaces
// read all of them through logs_query. Every selector is now narrowed to
// the scope, an explicit other namespace is refused before Loki is asked,
// and namespace values outside the scope are left out.
func TestNamespaceScopeOnLoki(t *testing.T) {
	f := &fakeLoki{streams: []map[string]any{stream(map[string]string{"app": "a", "namespace": "web"}, "x")}, values: []string{"api-1", "ops", "web"}}
	s := newServer(t, f)
	g := grant(t, "    scopes:\n      namespaces: [web, api-*]\n")
	_, err := s.query(t.Context(), call("logs_query", g), QueryInput{Query: `{app="a"} |= "x" != "y"`})
	require.NoError(t, err)
	qs := f.queries("query_range")
	require.Len(t, qs, 1)
	assert.Equal(t, `{app="a", namespace=~"api-[^/]*|web"} |= "x"  `, qs[0])
	for _, v := range f.queries("index/volume") {
		assert.Contains(t, v, `namespace=~"api-[^/]*|web"`, "the guard sizes the narrowed selector")
	}

	_, err = s.query(t.Context(), call("logs_query", g), QueryInput{Query: `sum(count_over_time({namespace="ops", app="a"}[5m]))`})
	require.ErrorIs(t, err, tool.ErrDenied)
	assert.Contains(t, err.Error(), `may not read Loki namespace "ops"`)
	_, err = s.query(t.Context(), call("logs_query", g), QueryInput{Query: `{namespace=~"ops|web", app="a"}`})
	require.NoError(t, err, "a regular expression is narrowed, not trusted")
	qs = f.queries("query_range")
	assert.Equal(t, `{namespace=~"ops|web", app="a", namespace=~"api-[^/]*|web"}`, qs[len(qs)-1])
	assert.Len(t, f.queries("query"), 0, "the denied metric query never ran")

	r, err := s.labelValues(t.Context(), call("logs_label_values", g), LabelValuesInput{Name: "namespace"})
	require.NoError(t, err)
	assert.Equal(t, []string{"api-1", "web"}, r.Data.(ListOutput).Items)
	vq := f.queries("label/namespace/values")
	assert.Equal(t, `{namespace=~"api-[^/]*|web"}`, vq[len(vq)-1])
	_, err = s.series(t.Context(), call("logs_series", g), SeriesInput{Query: `{app="a"}`})
	require.NoError(t, err)
	assert.Equal(t, []string{`{app="a", namespace=~"api-[^/]*|web"}`}, f.queries("series"))
	_, err = s.series(t.Context(), call("logs_series", g), SeriesInput{Query: `{namespace="ops"}`})
	assert.ErrorIs(t, err, tool.ErrDenied)

	none := grant(t, "    scopes:\n      namespaces: []\n")
	_, err = s.labels(t.Context(), call("logs_labels", none), LabelsInput{})
	assert.ErrorIs(t, err, tool.ErrDenied)
}

// TestResumeCannotWidenRange: a position, even forged past the binder's
// signature, is held to --max-range and to the call's start/end; one not
// sealed by this server is refused.
func TestResumeCannotWidenRange(t *testing.T) {
	f := &fakeLoki{}
	s := newServer(t, f)
	// Forged as if the binder's seal and this server's encryption had
	// both been defeated: the range checks still hold.
	forge := func(start, end time.Time) string {
		b, _ := json.Marshal(lokiPos{Start: start.UnixNano(), End: end.UnixNano()})
		return sealPos(b)
	}
	c := call("logs_query", nil)
	plain, _ := json.Marshal(lokiPos{Start: now.Add(-time.Hour).UnixNano(), End: now.UnixNano()})
	c.Resume = string(plain)
	_, err := s.query(t.Context(), c, QueryInput{Query: `{app="a"}`})
	require.ErrorIs(t, err, tool.ErrArgs)
	assert.Contains(t, err.Error(), "invalid cursor")
	c.Resume = forge(now.Add(-30*24*time.Hour), now)
	_, err = s.query(t.Context(), c, QueryInput{Query: `{app="a"}`})
	require.ErrorIs(t, err, tool.ErrArgs)
	assert.Contains(t, err.Error(), "over this server's cap of 6h")

	in := QueryInput{Query: `{app="a"}`, Window: Window{Start: rfc(now.Add(-2 * time.Hour)), End: rfc(now.Add(-time.Hour))}}
	c.Resume = forge(now.Add(-3*time.Hour), now.Add(-2*time.Hour))
	_, err = s.query(t.Context(), c, in)
	require.ErrorIs(t, err, tool.ErrArgs)
	assert.Contains(t, err.Error(), "outside the call's start/end")
	assert.Empty(t, f.queries("query_range"), "no forged range reached Loki")

	c.Resume = forge(now.Add(-90*time.Minute), now.Add(-time.Hour))
	_, err = s.query(t.Context(), c, in)
	require.NoError(t, err, "a position inside the window is fine")
}

// TestLabelValuesMaskedByName: values of a label named like a secret come
// back masked, though a bare list has no key beside each value.
func TestLabelValuesMaskedByName(t *testing.T) {
	f := &fakeLoki{values: []string{dbPass, "plain"}}
	s := newServer(t, f)
	r, err := s.labelValues(t.Context(), call("logs_label_values", nil), LabelValuesInput{Name: "db_password"})
	require.NoError(t, err)
	items := r.Data.(ListOutput).Items
	require.Len(t, items, 2)
	assert.Contains(t, items[0], "[MASKED:")
	assert.NotContains(t, strings.Join(items, " "), dbPass)
}

// TestDroppedLinesLeaveNoTrace: lines Loki matched unmasked and the
// re-check dropped (a probe of a masked value) change nothing the caller
// sees: with 0 or 28 such lines, every page, and whether a cursor is
// offered, are the same.
func TestDroppedLinesLeaveNoTrace(t *testing.T) {
	build := func(keys int) *fakeLoki {
		var ls []string
		for i := 0; i < 30; i++ {
			switch {
			case i == 2 || i == 20:
				ls = append(ls, fmt.Sprintf("clean line n=%d AKIAPLANTED7 (not a key)", i))
			case keys > 0:
				keys--
				ls = append(ls, fmt.Sprintf("aws_access_key_id=%s n=%d", akia, i))
			}
		}
		return &fakeLoki{streams: []map[string]any{stream(map[string]string{"app": "gw"}, ls...)}}
	}
	walk := func(f *fakeLoki, limit int) []string {
		s := newServer(t, f)
		in := QueryInput{Query: `{app="gw"} |= "AKIAPLANTED7"`, Limit: limit}
		c := call("logs_query", nil)
		var pages []string
		for i := 0; i < 10; i++ {
			r, err := s.query(t.Context(), c, in)
			require.NoError(t, err)
			pages = append(pages, fmt.Sprintf("%q more=%v", lines(t, r), r.More))
			if !r.More {
				break
			}
			c = call("logs_query", nil)
			c.Resume = r.Resume(len(lines(t, r)))
		}
		return pages
	}
	for _, limit := range []int{1, 2, 3} {
		clean, probed := walk(build(0), limit), walk(build(28), limit)
		assert.Equal(t, clean, probed, "limit %d", limit)
		assert.NotEmpty(t, clean)
	}
	assert.Equal(t, []string{
		`["clean line n=2 AKIAPLANTED7 (not a key)"] more=true`,
		`["clean line n=20 AKIAPLANTED7 (not a key)"] more=true`,
		`[] more=false`,
	}, walk(build(28), 1), "a full page offers a cursor, whatever follows")
}

// TestLabelNamesCheckedBeforeRequests: a label name that reaches Loki's
// URL path, or its by list, is held to Loki's naming rules first.
func TestLabelNamesCheckedBeforeRequests(t *testing.T) {
	f := &fakeLoki{}
	s := newServer(t, f)
	for _, name := range []string{"../../push", "a/b", "a%2Fb", "1abc", "a b", ""} {
		_, err := s.labelValues(t.Context(), call("logs_label_values", nil), LabelValuesInput{Name: name})
		require.ErrorIs(t, err, tool.ErrArgs, name)
	}
	_, err := s.stats(t.Context(), call("logs_stats", nil), StatsInput{Query: `{app="a"}`, By: []string{"app", "x,y"}})
	require.ErrorIs(t, err, tool.ErrArgs)
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Empty(t, f.asked, "no request was made")
}
