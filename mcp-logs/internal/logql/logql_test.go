package logql

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckAccepts(t *testing.T) {
	cases := []struct {
		q         string
		selectors []string
		metric    bool
		rng       time.Duration
	}{
		{`{app="api"}`, []string{`{app="api"}`}, false, 0},
		{`{app="api", env=~"prod|stage"} |= "error" != "debug" | json | status >= 500`, []string{`{app="api", env=~"prod|stage"}`}, false, 0},
		{"{namespace=\"web\"} |~ `time(out)?` | line_format \"{{.msg}}\"", []string{`{namespace="web"}`}, false, 0},
		{`sum by (app) (rate({app="api"} |= "error" [5m]))`, []string{`{app="api"}`}, true, 5 * time.Minute},
		{`count_over_time({app="api"}[1h30m]) / count_over_time({app="web", pod!=""}[2h])`, []string{`{app="api"}`, `{app="web", pod!=""}`}, true, 2 * time.Hour},
		{`{app="a\"b"}`, []string{`{app="a\"b"}`}, false, 0},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			q, err := Check(c.q)
			require.NoError(t, err)
			var got []string
			for _, s := range q.Selectors {
				got = append(got, s.String())
			}
			assert.Equal(t, c.selectors, got)
			assert.Equal(t, c.metric, q.Metric)
			assert.Equal(t, c.rng, q.MaxRange)
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	cases := []struct{ q, msg string }{
		{``, "the query is empty"},
		{`{}`, "empty stream selector"},
		{`{app=~".+"}`, "needs at least one label matched with ="},
		{`{app!="api"}`, "needs at least one label matched with ="},
		{`{app=""}`, "needs at least one label matched with ="},
		{`rate({app="a"}[5m]) + rate({job=~".*"}[5m])`, `{job=~".*"} needs at least one`},
		{`{app="api"`, "never closed"},
		{`{app="api"} |= "x`, "string is not closed"},
		{`{app=api}`, "the value must be a quoted string"},
		{`{app=~"(unclosed"}`, "not a valid RE2 expression"},
		{`{app="a"} |~ "a(?<!b)"`, "line filter |~"},
		{`rate({app="a"}[5 minutes])`, "a range must look like [5m]"},
		{`rate({app="a"}[5q])`, `range "5q"`},
		{`{app="a" env="b"}`, "expected , or }"},
		{`{app<"a"}`, "expected =, !=, =~ or !~"},
		{`sum(rate([5m]))`, "no stream selector"},
		{`{app="a\q"}`, "bad escape"},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			_, err := Check(c.q)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}
