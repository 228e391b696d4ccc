package tools

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// asClient is res's text as a client gets it from the binder: Render over
// the structured data masked after its JSON round trip (where every number
// is a float64), or Text.
func asClient(t *testing.T, res *tool.Result) string {
	t.Helper()
	if res.Render == nil {
		return res.Text
	}
	masked, _, err := mask.New(nil).Any(res.Data)
	require.NoError(t, err)
	return res.Render(masked.(map[string]any))
}

// hostileTable is a server-side table whose cells kubectl prints in ways a
// float64 or a private layout got wrong: integers past 2^53, 2e9 (kubectl:
// 2e+09) next to 2000001000, a fraction, a boolean, an object, a cell with
// a line break and a terminal escape, a repeated column name, a wide-only
// column and a missing cell.
const hostileTable = `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{},
"columnDefinitions":[{"name":"Name","type":"string","format":"name"},{"name":"Value","type":"integer"},{"name":"Big","type":"integer"},
{"name":"Sci","type":"number"},{"name":"Ratio","type":"number"},{"name":"Flag","type":"boolean"},{"name":"Obj","type":"string"},
{"name":"Note","type":"string"},{"name":"Name","type":"string"},{"name":"Node","type":"string","priority":1},{"name":"Age","type":"date"}],
"rows":[
{"cells":["a",2000001000,9007199254740993,2e9,0.5,true,{"k":1,"j":[2e9,3]},"line1\nline2","dup-a","n1","5m"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"a","namespace":"web"}}},
{"cells":["bbbbbbbbbbbb",-7,-9223372036854775808,1e-7,123456789.5,false,[],"\u001b[31mred","dup-b","n2"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"bbbbbbbbbbbb","namespace":"web"}}}
]}`

// TestGetTableIsKubectlGet: k8s_get's table is kubectl get's, printed by
// kubectl's own table printer from the same server-side table, numbers
// exact, for the default and the wide output; a page with no rows says
// what kubectl says.
func TestGetTableIsKubectlGet(t *testing.T) {
	api := newFakeAPI(t)
	api.table = hostileTable
	s := api.server(t)
	for _, wide := range []bool{false, true} {
		in, line := GetInput{Resource: "pods", Namespace: "web"}, "get pods -n web"
		if wide {
			in.Output, line = "wide", line+" -o wide"
		}
		res, err := s.get(t.Context(), callAs(t, "", "k8s_get"), in)
		require.NoError(t, err)
		got := asClient(t, res)
		k, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: line})
		require.NoError(t, err)
		assert.Equal(t, k.Text, got, line)
		for _, want := range []string{"2000001000", "9007199254740993", "-9223372036854775808", "2e+09", "1e-07", "1.234567895e+08", "map[j:[2e+09 3] k:1]", "line1...", "dup-a"} {
			assert.Contains(t, got, want, line)
		}
		assert.NotContains(t, got, "\x1b", "a terminal escape is escaped, as kubectl does")
		assert.Equal(t, wide, strings.Contains(got, "NODE"), line)
		assert.Regexp(t, `^NAME\s+VALUE\s+BIG\s+SCI\s+RATIO\s+FLAG\s+OBJ\s+NOTE\s+NAME\s`, got)
	}

	api.table = ""
	res, err := s.get(t.Context(), callAs(t, "", "k8s_get"), GetInput{Resource: "pods", Namespace: "web"})
	require.NoError(t, err)
	k, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: "get pods -n web"})
	require.NoError(t, err)
	assert.Equal(t, "No resources found in web namespace.\n", asClient(t, res))
	assert.Equal(t, k.Text, asClient(t, res))
}

// TestDescribeIsKubectlDescribe: k8s_describe's text is what k8s_kubectl
// describe prints for the same object (both run kubectl's describer
// behind the Guard), and every read stays in the caller's namespace.
func TestDescribeIsKubectlDescribe(t *testing.T) {
	api := newFakeAPI(t)
	api.deployment = `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"api","namespace":"web","uid":"u1","generation":2,"labels":{"app":"api"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"api"}},"template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[{"name":"app","image":"registry.local/api:2","env":[{"name":"DB_PASSWORD","value":"hunter2-hunter2"}]}]}}},"status":{"replicas":3,"readyReplicas":2}}`
	s := api.server(t)
	res, err := s.describe(t.Context(), callAs(t, viewerPolicy, "k8s_describe", "viewer"), DescribeInput{Resource: "deploy", Name: "api", Namespace: "web"})
	require.NoError(t, err)
	k, err := s.kubectl(t.Context(), callAs(t, viewerPolicy, "k8s_kubectl", "viewer"), KubectlInput{Command: "describe deploy api -n web"})
	require.NoError(t, err)
	got := asClient(t, res)
	assert.Equal(t, k.Text, got)
	assert.Regexp(t, `(?m)^Name:\s+api$`, got)
	assert.Regexp(t, `(?m)^Replicas:\s+3 desired \| 0 updated \| 3 total \| 0 available \| 0 unavailable$`, got)
	assert.Regexp(t, `DB_PASSWORD:\s+\[MASKED:`, got)
	assert.NotContains(t, got, "hunter2")
	assert.Equal(t, "Deployment", res.Data.(DescribeOutput).Kind, "the structured result stays")
	for _, req := range api.requests() {
		assert.Contains(t, req, "/namespaces/web/", "a read outside namespace web: %s", req)
	}
}

// FuzzTableCell: any cell the API server sends prints in k8s_get's table,
// after the structured output's JSON round trip, exactly as kubectl prints
// it (kubectl decodes integers as int64 and other numbers as float64).
func FuzzTableCell(f *testing.F) {
	for _, seed := range []string{`2000001000`, `2e9`, `9007199254740993`, `-9223372036854775808`, `0.5`, `1e-7`, `123456789.5`,
		`true`, `null`, `"x"`, `{"k":1,"j":[2e9,3]}`, `[]`, `1e400`, `18446744073709551616`, `-0`, `0.0`, `"\u001b[2J"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var want any
		if err := utiljson.Unmarshal([]byte(raw), &want); err != nil {
			return // kubectl could not decode the table either
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return
		}
		b, err := json.Marshal(tableCell(v))
		require.NoError(t, err)
		var back any
		require.NoError(t, json.Unmarshal(b, &back))
		show := func(c any) string {
			if s, ok := c.(string); ok {
				return s
			}
			return fmt.Sprint(c)
		}
		if want == nil {
			require.Nil(t, tableValue(back), raw)
			return
		}
		require.Equal(t, show(want), show(tableValue(back)), raw)
	})
}

// TestGetObjectsAreKubectlGet: k8s_get -o yaml, json and name print what
// k8s_kubectl get prints, with kubectl's printers: one object asked for by
// name, a list as kubectl's v1 List (empty included), names as
// kind.group/name.
func TestGetObjectsAreKubectlGet(t *testing.T) {
	api := newFakeAPI(t)
	api.deployment = `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"api","namespace":"web","labels":{"app":"api"}},"spec":{"replicas":2000001000,"template":{"spec":{"containers":[{"name":"app","env":[{"name":"DB_PASSWORD","value":"hunter2-hunter2"}]}]}}}}`
	s := api.server(t)
	for _, c := range []struct {
		in   GetInput
		line string
	}{
		{GetInput{Resource: "deploy", Namespace: "web", Name: "api", Output: "yaml"}, "get deploy api -n web -o yaml"},
		{GetInput{Resource: "deploy", Namespace: "web", Name: "api", Output: "json"}, "get deploy api -n web -o json"},
		{GetInput{Resource: "deploy", Namespace: "web", Name: "api", Output: "name"}, "get deploy api -n web -o name"},
		{GetInput{Resource: "deploy", Namespace: "web", Output: "yaml"}, "get deploy -n web -o yaml"},
		{GetInput{Resource: "deploy", Namespace: "web", Output: "json"}, "get deploy -n web -o json"},
	} {
		res, err := s.get(t.Context(), callAs(t, "", "k8s_get"), c.in)
		require.NoError(t, err, c.line)
		k, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: c.line})
		require.NoError(t, err, c.line)
		got := maskedRe.ReplaceAllString(asClient(t, res), "MASKED")
		assert.Equal(t, maskedRe.ReplaceAllString(k.Text, "MASKED"), got, c.line)
		assert.NotContains(t, got, "hunter2", c.line)
		if c.in.Name != "" && c.in.Output != "name" {
			assert.Contains(t, got, "2000001000", c.line)
		}
	}
}

// maskedRe is a placeholder: without a binder, k8s_kubectl's Guard and the
// test's own masking use different keys.
var maskedRe = regexp.MustCompile(`\[MASKED:[a-z0-9-]+:[0-9a-f]+\]`)

// FuzzRenderGet: k8s_get's renderers take any structured page (the
// upstream's objects and cells, masked) without failing the process; a
// JSON page prints as JSON kubectl would read back, holding every item;
// a table prints a header and one line per row.
func FuzzRenderGet(f *testing.F) {
	f.Add(`{"columns":["NAME","VALUE"],"items":[{"NAME":"a","VALUE":2000001000},{"NAME":"b\nc"}],"namespace":"web"}`, false)
	f.Add(`{"items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":"v"}}],"continue":"t"}`, true)
	f.Add(`{"items":[{"kind":"X"},"str",7,null]}`, false)
	f.Add(`{"columns":["NAME","NAME"],"items":[{"NAME":"a","NAME_2":{"k":[1]}}]}`, true)
	f.Fuzz(func(t *testing.T, doc string, single bool) {
		var d map[string]any
		if json.Unmarshal([]byte(doc), &d) != nil {
			return
		}
		table := renderTable(d)
		items, _ := d["items"].([]any)
		if _, ok := d["columns"].([]any); ok && len(items) > 0 && len(toStrings(d["columns"])) > 0 {
			lines := strings.Count(table, "\n")
			if cont, _ := d["continue"].(string); cont != "" {
				lines -= strings.Count(fmt.Sprintf("(more on the API server: call again with continue=%q)\n", cont), "\n")
			}
			require.Equal(t, len(items)+1, lines, "a header and one line a row:\n%s", table)
		}
		_ = renderObjects(d, "yaml", single)
		_ = renderObjects(d, "name", single)
		var b strings.Builder
		if err := printObjects(&b, items, "json", single); err == nil {
			var back map[string]any
			require.NoError(t, json.Unmarshal([]byte(b.String()), &back), b.String())
			if !(single && len(items) == 1) {
				got, _ := back["items"].([]any)
				require.Len(t, got, len(items))
			}
		}
	})
}
