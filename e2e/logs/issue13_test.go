package logs_test

// Issue 13, reproduced against the real Loki and real files: every attack
// as the attacker ran it against main, which now fails safe.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// lokiRuns is how many query_range and instant query requests Loki has
// served so far, by its own request metrics.
func lokiRuns(t *testing.T) int {
	t.Helper()
	m, err := loki.Requests(context.Background())
	require.NoError(t, err)
	n := 0
	for k, v := range m {
		if strings.Contains(k, "loki_api_v1_query_range") || strings.Contains(k, " loki_api_v1_query ") {
			n += v
		}
	}
	return n
}

func noPlanted(t *testing.T, r result) {
	t.Helper()
	raw, _ := json.Marshal(r.Data)
	for _, p := range planted() {
		require.NotContains(t, r.Text, p)
		require.NotContains(t, string(raw), p)
	}
}

// TestIssue13LokiRewritingStagesRefused: `| json | line_format
// "{{.password}}"` (or b64enc) returned the bare password. Such stages are
// refused with the reason, and Loki's own request metrics show none of
// these queries reached query_range or query.
func TestIssue13LokiRewritingStagesRefused(t *testing.T) {
	s, _ := session(t)
	before := lokiRuns(t)
	for _, q := range []string{
		`{namespace="sec", app="login"} | json | line_format "{{.password}}"`,
		`{namespace="sec", app="login"} | json | line_format "{{.password | b64enc}}"`,
		`{namespace="sec", app="login"} | json | label_format pw="{{.password}}"`,
		`{namespace="sec", app="login"} | json pw="password"`,
		`{namespace="sec", app="login"} | regexp "AWS_SECRET_ACCESS_KEY=(?P<k>\\S+)"`,
		`{namespace="sec", app="login"} | pattern "<_> AWS_SECRET_ACCESS_KEY=<k> <_>"`,
		`sum by (k) (count_over_time({namespace="sec", app="login"} | pattern "<_>=<k> <_>" [1h]))`,
		`sum_over_time({namespace="sec", app="login"} | json | unwrap password [1h])`,
		`count_over_time({namespace="sec", app="login"} |= "AWS_SECRET_ACCESS_KEY=wJal" [1h])`,
		`label_replace(count_over_time({namespace="sec", app="login"} | json [1h]), "x", "$1", "password", "(.*)")`,
		`{namespace="sec", app="login"} | json | password != "x"`,
	} {
		r := call(t, s, "logs_query", window(map[string]any{"query": q}))
		require.True(t, r.IsError, "%s: %s", q, r.Text)
		assert.Contains(t, r.Text, "refused", q)
		noPlanted(t, r)
	}
	// A comment could hide a stage from one parser that the other reads.
	r := call(t, s, "logs_query", window(map[string]any{"query": "{namespace=\"sec\", app=\"login\"} # x\n | json | line_format \"{{.password}}\""}))
	require.True(t, r.IsError)
	assert.Contains(t, r.Text, "comments (#) are not accepted")
	assert.Equal(t, before, lokiRuns(t), "Loki ran none of the refused queries")

	// What is allowed shows the field, masked, in the line and the labels.
	r = mustCall(t, s, "logs_query", window(map[string]any{"query": `{namespace="sec", app="login"} | json | user="svc"`}))
	its := items(r)
	require.Len(t, its, 1)
	assert.Contains(t, its[0]["line"], `"password":"[MASKED:`)
	labels, _ := its[0]["labels"].(map[string]any)
	assert.Contains(t, labels["password"], "[MASKED:")
	noPlanted(t, r)
}

// TestIssue13LokiFiltersSeeMaskedText: line and label filters probed a
// masked value one character at a time (a right guess returned the line,
// a wrong one did not). A guess of the value now returns nothing whether
// right or wrong, a negative filter is applied to the masked lines (Loki
// would have dropped the lines holding the guess), and counts are refused.
func TestIssue13LokiFiltersSeeMaskedText(t *testing.T) {
	s, _ := session(t)
	count := func(q string) int {
		r := mustCall(t, s, "logs_query", window(map[string]any{"query": q, "limit": 100}))
		noPlanted(t, r)
		return len(items(r))
	}
	sel := `{namespace="sec", app="login"}`
	for _, guess := range []string{"w", "wJal", "x", "wJalrXUtnFEMI/K7MDENG"} {
		assert.Zero(t, count(sel+` |= "AWS_SECRET_ACCESS_KEY=`+guess+`"`), guess)
		assert.Zero(t, count(sel+` |~ "ACCESS_KEY=`+guess+`"`), guess)
		assert.Equal(t, 3, count(sel+` != "ACCESS_KEY=`+guess+`"`), "the masked lines hold no guess: %s", guess)
	}
	assert.Zero(t, count(sel+` |~ "ACCESS_KEY=(wJ|.MASKED)"`), "a placeholder does not vouch for Loki's unmasked match")
	assert.Zero(t, count(sel+` |= "L0ki-Pl4nted"`))
	for _, guess := range []string{lokiPass, "L0ki.*", "X.*"} {
		assert.Zero(t, count(sel+` | json | password=~"`+guess+`"`), guess)
	}
	assert.Zero(t, count(sel+` |= "ACCESS_KEY=[MASKED"`), "a match touching a masked value does not count")
	assert.Equal(t, 1, count(sel+` |= "ACCESS_KEY="`), "a match beside it does")
	assert.Equal(t, 1, count(sel+` !~ "ACCESS_KEY|password"`), "negative filters drop masked lines that match")
	assert.Equal(t, 1, count(sel+` | json | user="ann"`))
}

// TestIssue13LokiNamespaceScope: a role limited to namespace web read
// every namespace through logs_query. Over HTTP with that role, every
// selector is narrowed to web, a selector naming another namespace is
// refused, and namespace values outside web are left out.
func TestIssue13LokiNamespaceScope(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("web-tok-77aa1c,dave,web\n"), 0o600))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte("roles:\n  web:\n    tools: [\"logs_*\"]\n    scopes:\n      namespaces: [\"web\"]\n"), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	harness.StartServer(t, &seen, dir, "mcp-logs-scope", url, binary, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--loki-url", loki.URL, "--auth-tokens", tokens, "--policy", policy, "--audit-log", filepath.Join(dir, "audit.log"), "--rate-limit", "0")
	dave := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient("web-tok-77aa1c")})

	namespaces := func(r result) map[string]int {
		out := map[string]int{}
		for _, it := range items(r) {
			l, _ := it["labels"].(map[string]any)
			if l == nil {
				l, _ = it["metric"].(map[string]any)
			}
			if l == nil {
				l = it
			}
			out[fmt.Sprint(l["namespace"])]++
		}
		return out
	}
	r := mustCall(t, dave, "logs_query", window(map[string]any{"query": `{app="gateway"}`}))
	assert.Empty(t, items(r), "ops' gateway stream is outside the role")
	r = mustCall(t, dave, "logs_query", window(map[string]any{"query": `{env="prod"} |= "status=500"`, "limit": 1000}))
	assert.Equal(t, map[string]int{"web": len(fx.api500)}, namespaces(r))
	r = mustCall(t, dave, "logs_query", window(map[string]any{"query": `{namespace=~"ops|sec|web", env="stage"}`}))
	assert.Empty(t, items(r), "a regular expression is narrowed to web")
	r = mustCall(t, dave, "logs_query", map[string]any{"query": `sum by (namespace) (count_over_time({env="prod"}[1h]))`, "instant": true, "end": rfc(base.Add(25 * time.Minute))})
	assert.Equal(t, map[string]int{"web": 1}, namespaces(r))

	before := lokiRuns(t)
	for _, q := range []string{`{namespace="ops", app="gateway"}`, `{namespace="sec"} | json`, `count_over_time({namespace="ops"}[1h])`} {
		d := call(t, dave, "logs_query", window(map[string]any{"query": q}))
		require.True(t, d.IsError, q)
		assert.Contains(t, d.Text, "may not read Loki namespace", q)
	}
	assert.Equal(t, before, lokiRuns(t), "the refused queries never ran")

	r = mustCall(t, dave, "logs_label_values", window(map[string]any{"name": "namespace"}))
	assert.Equal(t, []any{"web"}, r.Data["items"])
	r = mustCall(t, dave, "logs_label_values", window(map[string]any{"name": "app"}))
	assert.Equal(t, []any{"api", "noisy", "worker"}, r.Data["items"])
	r = mustCall(t, dave, "logs_series", window(map[string]any{"query": `{env="prod"}`}))
	assert.Equal(t, map[string]int{"web": 3}, namespaces(r))
	r = mustCall(t, dave, "logs_stats", window(map[string]any{"query": `{env="prod"}`, "by": []string{"namespace"}}))
	for _, v := range items(r) {
		l, _ := v["labels"].(map[string]any)
		assert.Equal(t, "web", l["namespace"])
	}
	d := call(t, dave, "logs_series", window(map[string]any{"query": `{namespace="sec"}`}))
	assert.True(t, d.IsError)
}

// forge builds a cursor the way they were before they were sealed:
// base64 JSON holding a position.
func forge(pos any, args map[string]any) string {
	p, _ := json.Marshal(pos)
	b, _ := json.Marshal(map[string]any{"p": string(p), "a": "000000000000"})
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestIssue13LokiForgedCursor: a forged cursor skipped --max-range on
// Loki. Forged, tampered and borrowed cursors are refused, and Loki ran
// none of them.
func TestIssue13LokiForgedCursor(t *testing.T) {
	s, _ := session(t, "--max-range", "6h")
	args := window(map[string]any{"query": `{namespace="web", app="api"}`, "limit": 3})
	first := mustCall(t, s, "logs_query", args)
	c, _ := first.Data["cursor"].(string)
	require.NotEmpty(t, c)
	before := lokiRuns(t)
	wide := map[string]any{"s": time.Now().Add(-90 * 24 * time.Hour).UnixNano(), "e": time.Now().UnixNano()}
	tampered := []byte(c)
	tampered[len(tampered)/2] ^= 1
	for name, cur := range map[string]string{
		"forged 90-day range": forge(wide, args),
		"tampered":            string(tampered),
		"truncated":           c[:len(c)-4],
		"another call's":      c,
	} {
		a := window(map[string]any{"query": `{namespace="web", app="api"}`, "limit": 3, "cursor": cur})
		if name == "another call's" {
			a["query"] = `{namespace="sec", app="login"}`
		}
		r := call(t, s, "logs_query", a)
		require.True(t, r.IsError, name)
		assert.Contains(t, r.Text, "cursor", name)
		noPlanted(t, r)
	}
	assert.Equal(t, before, lokiRuns(t), "no forged range reached Loki")
	args["cursor"] = c
	next := mustCall(t, s, "logs_query", args)
	assert.Len(t, items(next), 3, "the genuine cursor still works")
}

func secSession(t *testing.T) *mcp.ClientSession {
	t.Helper()
	return bareSession(t, "--loki-url", loki.URL, "--files-root", secDir, "--audit-log", filepath.Join(t.TempDir(), "audit.log"), "--rate-limit", "0")
}

// TestIssue13FilesFiltersSeeMaskedText: pattern and fields filters ran on
// unmasked file text, so match counts recovered a value. They run on
// masked text now: every guess matches nothing, in plain and gzip files.
func TestIssue13FilesFiltersSeeMaskedText(t *testing.T) {
	s := secSession(t)
	count := func(args map[string]any) int {
		r := mustCall(t, s, "logs_search", args)
		noPlanted(t, r)
		return len(items(r))
	}
	for _, guess := range []string{"w", "wJal", "[a-v]", "[w-z]", "wJalrXUtnFEMI/K7MDENG"} {
		assert.Zero(t, count(map[string]any{"pattern": "AWS_SECRET_ACCESS_KEY=" + guess}), guess)
	}
	for _, probe := range []string{`"password":"L`, "L0ki-Pl4nted", "plantedPEMkey", "MIIEpAIBAAK", "BEGIN RSA PRIVATE KEY", "(?i)PLANTEDpem"} {
		assert.Zero(t, count(map[string]any{"pattern": probe}), probe)
	}
	assert.Zero(t, count(map[string]any{"pattern": "login", "fields": map[string]any{"password": lokiPass}}))
	assert.Equal(t, 2, count(map[string]any{"pattern": "login", "fields": map[string]any{"user": "bob"}}), "plain and gzip")
	// Masked values match nothing (a match never depends on one); a match
	// beside one counts, case-insensitive too.
	assert.Zero(t, count(map[string]any{"pattern": `ACCESS_KEY=\[MASKED:`}))
	assert.Zero(t, count(map[string]any{"pattern": `private-key`}))
	assert.Equal(t, 2, count(map[string]any{"pattern": `(?i)aws_secret_access_key=`}))
	assert.Equal(t, 2, count(map[string]any{"pattern": `loaded signing key:$`}), "the line before the masked PEM block")
}

// TestIssue13FilesPagesAndForgedCursors: a cursor offset just after
// AWS_SECRET_ACCESS_KEY=, or inside a JSON password, or inside a PEM
// block, returned the bare value. Forged cursors are refused; genuine
// pages, one line each, never split a masked value.
func TestIssue13FilesPagesAndForgedCursors(t *testing.T) {
	s := secSession(t)
	body, err := os.ReadFile(filepath.Join(secDir, "secret.log"))
	require.NoError(t, err)
	real, _ := filepath.EvalSymlinks(filepath.Join(secDir, "secret.log"))
	for _, needle := range []string{"AWS_SECRET_ACCESS_KEY=", `"password":"L0ki`, "-----BEGIN RSA PRIVATE KEY-----\n", pemLine1[:30]} {
		off := strings.Index(string(body), needle) + len(needle)
		for _, tool := range []string{"logs_search", "logs_tail"} {
			args := map[string]any{"pattern": ".", "path": "secret.log", "order": "oldest"}
			if tool == "logs_tail" {
				args = map[string]any{"path": "secret.log"}
			}
			args["cursor"] = forge(map[string]any{"f": real, "o": off, "l": 1}, args)
			r := call(t, s, tool, args)
			assert.True(t, r.IsError, "%s cursor after %q", tool, needle)
			noPlanted(t, r)
		}
	}

	for _, order := range []string{"newest", "oldest"} {
		for _, path := range []string{"secret.log", "secret.log.1.gz"} {
			all := mustCall(t, s, "logs_search", map[string]any{"pattern": ".", "path": path, "order": order, "limit": 1000})
			noPlanted(t, all)
			whole := strings.Join(field(items(all), "text"), "\n")
			assert.Contains(t, whole, "AWS_SECRET_ACCESS_KEY=[MASKED:")
			assert.Contains(t, whole, "[MASKED:private-key:")
			args := map[string]any{"pattern": ".", "path": path, "order": order, "limit": 1}
			var got []string
			for i := 0; ; i++ {
				require.Less(t, i, 200)
				r := mustCall(t, s, "logs_search", args)
				noPlanted(t, r)
				got = append(got, field(items(r), "text")...)
				c, _ := r.Data["cursor"].(string)
				if c == "" {
					break
				}
				args["cursor"] = c
			}
			assert.Equal(t, field(items(all), "text"), got, "%s %s: pages join up to the whole", path, order)
		}
	}
	args := map[string]any{"path": "secret.log", "lines": 1}
	n := 0
	for i := 0; ; i++ {
		require.Less(t, i, 200)
		r := mustCall(t, s, "logs_tail", args)
		noPlanted(t, r)
		n += len(items(r))
		c, _ := r.Data["cursor"].(string)
		if c == "" {
			break
		}
		args["cursor"] = c
	}
	assert.Equal(t, 30+1+1+2, n, "every masked line of the file, one page each (the PEM block is one)")
}

// TestIssue13FilesSymlinkSwap: the server checked a path, then opened it
// again, following a symlink swapped in between. While a goroutine swaps
// swap.log between a file and a symlink out of the root, many reads never
// show the outside file.
func TestIssue13FilesSymlinkSwap(t *testing.T) {
	s := secSession(t)
	swap := filepath.Join(secDir, "swap.log")
	shadow := filepath.Join(filepath.Dir(filesDir), "outside", "shadow.log")
	keep, err := os.ReadFile(swap)
	require.NoError(t, err)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tmpLink, tmpFile := swap+".lnk", swap+".new"
		for !stop.Load() {
			os.Remove(tmpLink)
			os.Symlink(shadow, tmpLink)
			os.Rename(tmpLink, swap) // atomically a symlink out
			os.WriteFile(tmpFile, keep, 0o644)
			os.Rename(tmpFile, swap) // atomically the file again
		}
	}()
	defer func() {
		stop.Store(true)
		wg.Wait()
		require.NoError(t, os.WriteFile(swap, keep, 0o644))
	}()
	ok, refused := 0, 0
	for i := 0; i < 150; i++ {
		for _, c := range []struct {
			tool string
			args map[string]any
		}{
			{"logs_tail", map[string]any{"path": "swap.log"}},
			{"logs_search", map[string]any{"pattern": ".", "path": "swap.log"}},
			{"logs_files", map[string]any{"path": "swap.log"}},
		} {
			r := call(t, s, c.tool, c.args)
			require.NotContains(t, r.Text, filePass, "%s read the file outside the root", c.tool)
			raw, _ := json.Marshal(r.Data)
			require.NotContains(t, string(raw), "root:")
			if r.IsError {
				refused++
			} else {
				ok++
			}
		}
	}
	t.Logf("%d calls answered, %d refused, while swapping", ok, refused)
	assert.Positive(t, ok)
}

// TestIssue13LokiPagingWithLocalFilters walks a log query whose negative
// filter runs here, on masked lines, a few lines a page: pages whose
// lines the filter dropped still advance, and the pages join up to exactly
// the fixture lines the filter keeps, in order.
func TestIssue13LokiPagingWithLocalFilters(t *testing.T) {
	s, _ := session(t)
	for _, dir := range []string{"backward", "forward"} {
		args := window(map[string]any{"query": `{namespace="web", app="api"} != "status=200" !~ "late arrival"`, "limit": 4, "direction": dir})
		var got []string
		for i := 0; ; i++ {
			require.Less(t, i, 300)
			r := mustCall(t, s, "logs_query", args)
			noPlanted(t, r)
			got = append(got, field(items(r), "line")...)
			c, _ := r.Data["cursor"].(string)
			if c == "" {
				break
			}
			args["cursor"] = c
		}
		var want []string
		for _, l := range fx.apiAll {
			if !strings.Contains(l.Text, "status=200") {
				want = append(want, l.Text)
			}
		}
		if dir == "backward" {
			for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
				want[i], want[j] = want[j], want[i]
			}
		}
		require.Equal(t, len(want), len(got), dir)
		for i := range want {
			if strings.Contains(want[i], jwt) {
				assert.Contains(t, got[i], "Bearer [MASKED:", dir)
				continue
			}
			assert.Equal(t, want[i], got[i], "%s line %d", dir, i)
		}
	}
}

// TestIssue13LokiProbeLeavesNoTrace: a stream logs one secret token on
// every line. A probe guessing the token's prefix makes Loki match (and
// the re-check drop) many lines when right and none when wrong; the
// caller sees the same either way: no line, and no cursor.
func TestIssue13LokiProbeLeavesNoTrace(t *testing.T) {
	s, _ := session(t)
	probe := harness.Stream{Labels: map[string]string{"namespace": "sec", "app": "probe", "env": "stage"}}
	for i := 0; i < 40; i++ {
		probe.Lines = append(probe.Lines, harness.Line{Time: base.Add(8*time.Minute + time.Duration(i)*time.Second), Text: fmt.Sprintf("call %d upstream api_token=%s ok", i, awsSecret)})
	}
	require.NoError(t, loki.Push(context.Background(), []harness.Stream{probe}))
	shape := func(guess string, limit int) string {
		r := mustCall(t, s, "logs_query", window(map[string]any{"query": `{namespace="sec", app="probe"} |= "api_token=` + guess + `"`, "limit": limit}))
		noPlanted(t, r)
		_, cursor := r.Data["cursor"]
		return fmt.Sprintf("items=%d cursor=%v", len(items(r)), cursor)
	}
	var all result
	for i := 0; i < 50; i++ { // the ingester needs a moment
		all = mustCall(t, s, "logs_query", window(map[string]any{"query": `{namespace="sec", app="probe"}`, "limit": 100}))
		if len(items(all)) == 40 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Len(t, items(all), 40, "the probe stream is there")
	noPlanted(t, all)
	for _, limit := range []int{1, 5, 100} {
		right := shape(awsSecret[:4], limit)
		assert.Equal(t, "items=0 cursor=false", right, "limit %d", limit)
		assert.Equal(t, right, shape("zzzz", limit), "limit %d: a right guess looks like a wrong one", limit)
		assert.Equal(t, right, shape(awsSecret, limit), "limit %d", limit)
	}
}
