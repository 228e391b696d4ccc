package logs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

func TestLokiFilterReturnsTheRightLines(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "logs_query", window(map[string]any{"query": `{namespace="web", app="api"} |= "status=500"`, "limit": 100}))
	its := items(r)
	assert.Equal(t, fx.api500, field(its, "line"), "exactly the status=500 lines, newest first")
	assert.Equal(t, "streams", r.Data["result_type"])
	for _, it := range its {
		labels, _ := it["labels"].(map[string]any)
		assert.Equal(t, "api", labels["app"])
		assert.Equal(t, "prod", labels["env"])
	}
	// Times are the pushed ones, in order.
	var prev time.Time
	for i, it := range its {
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(it["ts"]))
		require.NoError(t, err)
		if i > 0 {
			assert.True(t, ts.Before(prev), "newest first")
		}
		prev = ts
	}
	assert.Contains(t, r.Text, "status=500")

	fwd := mustCall(t, s, "logs_query", window(map[string]any{"query": `{namespace="web", app="api"} |= "status=500"`, "direction": "forward"}))
	rev := field(items(fwd), "line")
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	assert.Equal(t, fx.api500, rev, "forward is the same lines oldest first")
}

// TestLokiMatchesLogcli runs the same query through Loki's own CLI.
func TestLokiMatchesLogcli(t *testing.T) {
	s, _ := session(t)
	for _, q := range []string{
		`{namespace="web", app="api"} |= "status=500"`,
		`{namespace="web", app="worker"} | json | level="error"`,
		`{namespace="web"} |~ "job done|orders/1[0-9] "`,
	} {
		t.Run(q, func(t *testing.T) {
			args := window(map[string]any{"query": q, "limit": 500})
			r := mustCall(t, s, "logs_query", args)
			var ours []string
			for _, it := range items(r) {
				ours = append(ours, fmt.Sprint(it["ts"])+" "+fmt.Sprint(it["line"]))
			}
			cmd := exec.Command(loki.Logcli, "query", "--addr", loki.URL, "--quiet", "--output", "jsonl", "--limit", "500",
				"--from", fmt.Sprint(args["start"]), "--to", fmt.Sprint(args["end"]), q)
			out, err := cmd.Output()
			require.NoError(t, err, "logcli")
			var theirs []string
			sc := bufio.NewScanner(bytes.NewReader(out))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var e struct {
					Line      string    `json:"line"`
					Timestamp time.Time `json:"timestamp"`
				}
				require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
				theirs = append(theirs, e.Timestamp.UTC().Format(time.RFC3339Nano)+" "+maskedLike(e.Line, ours))
			}
			require.NotEmpty(t, theirs)
			sort.Strings(ours)
			sort.Strings(theirs)
			assert.Equal(t, theirs, ours)
		})
	}
}

// maskedLike maps a raw logcli line to the masked form our result has for
// it (the only difference allowed), by matching the unmasked prefix.
func maskedLike(raw string, ours []string) string {
	for _, o := range ours {
		_, line, _ := strings.Cut(o, " ")
		if i := strings.Index(line, "[MASKED:"); i > 0 && strings.HasPrefix(raw, line[:i]) {
			return line
		}
	}
	return raw
}

// TestLokiPagingHasNoGapsOrRepeats walks every app=api line a few at a
// time, with a small byte budget too, while new lines keep arriving: the
// pages join up to exactly the fixture, including lines that share one
// timestamp across a page boundary.
func TestLokiPagingHasNoGapsOrRepeats(t *testing.T) {
	s, _ := session(t)
	var pushed []harness.Line // by an earlier walk: there before this one starts
	for _, dir := range []string{"backward", "forward"} {
		t.Run(dir, func(t *testing.T) {
			args := window(map[string]any{"query": `{namespace="web", app="api"}`, "limit": 5, "max_bytes": 800, "direction": dir})
			var want []string
			for _, l := range append(append([]harness.Line(nil), fx.apiAll...), pushed...) {
				want = append(want, l.Time.UTC().Format(time.RFC3339Nano)+" "+l.Text)
			}
			var got []string
			cut, more := 0, 0
			for i := 0; ; i++ {
				require.Less(t, i, 200)
				r := mustCall(t, s, "logs_query", args)
				for _, it := range items(r) {
					got = append(got, fmt.Sprint(it["ts"])+" "+fmt.Sprint(it["line"]))
				}
				c, _ := r.Data["cursor"].(string)
				if c == "" {
					break
				}
				if r.Data["truncated"] == true {
					cut++
				} else {
					more++
					assert.Contains(t, r.Text, "[more: ")
				}
				args["cursor"] = c
				// A new line arrives in the part of the window this walk
				// has already passed (newer than the fixtures when walking
				// back, older when walking forward). An item-index cursor
				// would shift and repeat a line; a position cursor must not
				// show it and must not repeat any.
				late := base.Add(24*time.Minute + time.Duration(i)*time.Millisecond)
				if dir == "forward" {
					late = base.Add(-30*time.Second + time.Duration(i)*time.Millisecond)
				}
				line := harness.Line{Time: late, Text: fmt.Sprintf("late arrival %s %d", dir, i)}
				require.NoError(t, loki.Push(context.Background(), []harness.Stream{{
					Labels: map[string]string{"namespace": "web", "app": "api", "env": "prod"},
					Lines:  []harness.Line{line},
				}}))
				pushed = append(pushed, line)
			}
			assert.Positive(t, cut, "the byte budget cut some page")
			assert.Positive(t, more, "the line limit stopped some page")
			// Masked lines differ from the raw fixture; compare with the
			// planted secrets masked out of both.
			assert.Equal(t, len(want), len(got), "no line repeated or lost")
			sort.Strings(want)
			gotSorted := append([]string(nil), got...)
			sort.Strings(gotSorted)
			for i := range want {
				if i < len(gotSorted) && strings.Contains(want[i], jwt) {
					assert.True(t, strings.HasPrefix(gotSorted[i], strings.SplitN(want[i], "Bearer", 2)[0]))
					assert.NotContains(t, gotSorted[i], jwt)
					continue
				}
				if i < len(gotSorted) {
					assert.Equal(t, want[i], gotSorted[i])
				}
			}
			at := func(s string) time.Time {
				v, _, _ := strings.Cut(s, " ")
				ts, err := time.Parse(time.RFC3339Nano, v)
				require.NoError(t, err)
				return ts
			}
			for i := 1; i < len(got); i++ {
				a, b := at(got[i-1]), at(got[i])
				if dir == "backward" {
					assert.False(t, a.Before(b), "newest first across pages: %s then %s", got[i-1], got[i])
				} else {
					assert.False(t, a.After(b), "oldest first across pages: %s then %s", got[i-1], got[i])
				}
			}
		})
	}
}

func TestLokiGuardrail(t *testing.T) {
	s, _ := session(t, "--max-scan-bytes", "500000", "--max-range", "6h")
	cases := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"no positive matcher", map[string]any{"query": `{app=~".+"}`}, []string{`{app=~".+"} needs at least one label matched with =`}},
		{"negative only", map[string]any{"query": `{namespace!="web"} |= "x"`}, []string{"needs at least one label matched with ="}},
		{"range over the cap", map[string]any{"query": `{app="api"}`, "since": "12h"}, []string{"the time range 12h", "cap of 6h"}},
		{"range vector over the cap", map[string]any{"query": `count_over_time({app="api"}[1d])`}, []string{"range [1d] is over this server's cap of 6h"}},
		{"malformed, caught here", map[string]any{"query": `{app="api"`}, []string{"LogQL error at column 1", "never closed"}},
		{"malformed, caught here", map[string]any{"query": `{app="api"} |= `}, []string{"|= must be followed by a quoted string"}},
		{"malformed, caught by Loki's parser", map[string]any{"query": `{app="api"} |= "x" frob`}, []string{"Loki cannot parse the query", "col 20"}},
		{"bad regex", map[string]any{"query": `{app="api"} |~ "(oops"`}, []string{"not a valid RE2 expression", "missing closing )"}},
		{"word boundary beside a masked value", map[string]any{"query": `{app="api"} |~ "key=\\bA"`}, []string{`uses \b or \B`}},
		{"too much to scan", window(map[string]any{"query": `{namespace="web", app="noisy"}`}), []string{"refused: this query would scan 1.", "MiB", "over this server's cap of 488.3 KiB", "Narrow it", "logs_stats"}},
		{"instant log query", map[string]any{"query": `{app="api"}`, "instant": true}, []string{"instant applies to metric queries only"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, s, "logs_query", c.args)
			require.True(t, r.IsError, "refused: %s", r.Text)
			for _, w := range c.want {
				assert.Contains(t, r.Text, w)
			}
		})
	}
	// The same server still answers a narrow query.
	r := mustCall(t, s, "logs_query", window(map[string]any{"query": `{namespace="web", app="worker"} |= "db connect"`}))
	assert.Len(t, items(r), 1)
	// And the stats tool says why the noisy one was refused.
	st := mustCall(t, s, "logs_stats", window(map[string]any{"query": `{namespace="web", app="noisy"}`}))
	assert.Equal(t, false, st.Data["allowed"])
	assert.Greater(t, st.Data["bytes"].(float64), 500000.0)
}

func TestLokiMetricQuery(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "logs_query", map[string]any{
		"query":   `sum by (app) (count_over_time({namespace="web", env="prod"}[1h]))`,
		"instant": true, "end": rfc(base.Add(25 * time.Minute)),
	})
	assert.Equal(t, "vector", r.Data["result_type"])
	got := map[string]string{}
	for _, it := range items(r) {
		m, _ := it["metric"].(map[string]any)
		vals, _ := it["values"].([]any)
		require.Len(t, vals, 1)
		got[fmt.Sprint(m["app"])] = fmt.Sprint(vals[0].([]any)[1])
	}
	// Late arrivals from the paging test may add app=api lines; the others
	// are exact.
	assert.Equal(t, fmt.Sprint(fx.counts["worker"]), got["worker"])
	assert.Equal(t, fmt.Sprint(fx.counts["noisy"]), got["noisy"])
	assert.Contains(t, got, "api")

	rng := mustCall(t, s, "logs_query", window(map[string]any{"query": `sum(count_over_time({namespace="web", app="worker"}[5m]))`, "step": "5m"}))
	assert.Equal(t, "matrix", rng.Data["result_type"])
	require.Len(t, items(rng), 1)
}

func TestLokiLabelsSeriesStatsPatterns(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "logs_labels", window(map[string]any{}))
	for _, l := range []string{"app", "env", "namespace"} {
		assert.Contains(t, r.Data["items"], l)
	}
	r = mustCall(t, s, "logs_label_values", window(map[string]any{"name": "app", "query": `{namespace="web"}`}))
	assert.Equal(t, []any{"api", "noisy", "worker"}, r.Data["items"])
	r = mustCall(t, s, "logs_series", window(map[string]any{"query": `{env="prod"}`}))
	assert.Len(t, items(r), 4)
	assert.Contains(t, r.Text, `app="gateway"`)

	r = mustCall(t, s, "logs_stats", window(map[string]any{"query": `{env="prod"}`, "by": []string{"app"}}))
	assert.Equal(t, true, r.Data["allowed"])
	vols := items(r)
	require.NotEmpty(t, vols)
	top, _ := vols[0]["labels"].(map[string]any)
	assert.Equal(t, "noisy", top["app"], "the noisy stream is the largest")

	// The pattern ingester needs a few seconds to see the lines.
	var pats []map[string]any
	for i := 0; i < 30 && len(pats) == 0; i++ {
		r = mustCall(t, s, "logs_patterns", window(map[string]any{"query": `{namespace="web", app="noisy"}`}))
		pats = items(r)
		if len(pats) == 0 {
			time.Sleep(time.Second)
		}
	}
	require.NotEmpty(t, pats)
	assert.Contains(t, pats[0]["pattern"], "tick <_>")
	assert.Greater(t, pats[0]["count"].(float64), 100.0)

	bad := call(t, s, "logs_label_values", map[string]any{})
	assert.True(t, bad.IsError)
	assert.Contains(t, bad.Text, "name")
}

func TestLokiSecretsAreMasked(t *testing.T) {
	s, audit := session(t)
	r := mustCall(t, s, "logs_query", window(map[string]any{"query": `{env="prod"} |~ "Bearer|postgres://|aws_access_key_id|x-access-token"`}))
	lines := field(items(r), "line")
	// Not the worker's dsn line: postgres:// is inside its masked dsn
	// value, and a filter match on masked bytes does not count (issue 13).
	require.Len(t, lines, 3)
	for _, l := range lines {
		assert.NotContains(t, l, `"dsn"`)
	}
	dsn := mustCall(t, s, "logs_query", window(map[string]any{"query": `{env="prod"} |= "db connect failed"`}))
	dl := field(items(dsn), "line")
	require.Len(t, dl, 1, "the line itself is there, masked")
	assert.Contains(t, dl[0], `"dsn":"[MASKED:`)
	joined := strings.Join(lines, "\n") + r.Text
	for _, p := range planted() {
		assert.NotContains(t, joined, p)
	}
	assert.Contains(t, joined, "[MASKED:")
	assert.Contains(t, joined, "Authorization: Bearer [MASKED:", "the rest of the line is kept")
	// The audit log has the call, with its arguments.
	recs := harness.AuditLines(t, &seen, audit)
	require.NotEmpty(t, recs)
	last := recs[len(recs)-1]
	assert.Equal(t, "logs_query", last["tool"])
	assert.Equal(t, "ok", last["outcome"])
}
