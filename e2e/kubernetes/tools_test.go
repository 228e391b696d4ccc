package kubernetes_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestToolsAreDeclaredReadOnly(t *testing.T) {
	s, _ := stdioSession(t)
	res, err := s.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
		require.NotNil(t, tl.Annotations, tl.Name)
		assert.True(t, tl.Annotations.ReadOnlyHint, "%s readOnlyHint", tl.Name)
		require.NotNil(t, tl.Annotations.DestructiveHint, tl.Name)
		assert.False(t, *tl.Annotations.DestructiveHint, "%s destructiveHint", tl.Name)
		assert.True(t, tl.Annotations.IdempotentHint, "%s idempotentHint", tl.Name)
		assert.NotNil(t, tl.OutputSchema, "%s outputSchema", tl.Name)
		in, _ := tl.InputSchema.(map[string]any)
		props, _ := in["properties"].(map[string]any)
		assert.Contains(t, props, "max_bytes", tl.Name)
		assert.Contains(t, props, "cursor", tl.Name)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"k8s_api_resources", "k8s_contexts", "k8s_describe", "k8s_events", "k8s_get", "k8s_kubectl", "k8s_logs"}, names)
}

func TestGetTableHasKubectlColumns(t *testing.T) {
	s, _ := stdioSession(t)
	r := mustCall(t, s, "k8s_get", map[string]any{"resource": "deploy", "namespace": "team-a"})
	assert.Regexp(t, `(?m)^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s*$`, r.Text)
	assert.Regexp(t, `(?m)^web\s+0/2\s+`, r.Text, "no kubelet here: 0 of 2 ready")
	items := r.Data["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, "web", items[0].(map[string]any)["NAME"])
	assert.Equal(t, "Deployment", r.Data["kind"])

	// All namespaces adds a NAMESPACE column and finds both deployments.
	r = mustCall(t, s, "k8s_get", map[string]any{"resource": "deployments.apps", "all_namespaces": true})
	assert.Regexp(t, `(?m)^NAMESPACE\s+NAME\s+READY`, r.Text)
	assert.Regexp(t, `(?m)^team-a\s+web\s`, r.Text)
	assert.Regexp(t, `(?m)^team-b\s+api\s`, r.Text)

	// Short names and a label selector.
	r = mustCall(t, s, "k8s_get", map[string]any{"resource": "po", "namespace": "team-a", "label_selector": "app=web"})
	assert.Regexp(t, `(?m)^web-[a-z0-9]+-[a-z0-9]+\s+0/1\s+Pending`, r.Text)
	assert.NotContains(t, r.Text, "cache-0")
	r = mustCall(t, s, "k8s_get", map[string]any{"resource": "sts", "namespace": "team-a", "output": "name"})
	assert.Equal(t, "statefulset.apps/cache\n", r.Text, "kubectl -o name")
}

func TestGetCustomResource(t *testing.T) {
	s, _ := stdioSession(t)
	for _, name := range []string{"widgets", "widget", "wd", "widgets.example.com"} {
		r := mustCall(t, s, "k8s_get", map[string]any{"resource": name, "namespace": "team-a"})
		assert.Regexp(t, `(?m)^NAME\s+SIZE\s*$`, r.Text, name) // the CRD's printer columns
		assert.Regexp(t, `(?m)^blue\s+large\s`, r.Text, name)
	}
	r := mustCall(t, s, "k8s_get", map[string]any{"resource": "wd", "namespace": "team-a", "name": "blue", "output": "yaml"})
	assert.Contains(t, r.Text, "kind: Widget")
	assert.Contains(t, r.Text, "adminPassword: '[MASKED:admin-password:")
	r = call(t, s, "k8s_get", map[string]any{"resource": "gizmos"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, `unknown resource type "gizmos"`)
}

func TestSecretsAreMasked(t *testing.T) {
	s, _ := stdioSession(t)
	for _, out := range []string{"yaml", "json"} {
		r := mustCall(t, s, "k8s_get", map[string]any{"resource": "secret", "namespace": "team-a", "name": "db-creds", "output": out})
		for _, key := range []string{"password", "username", "pin"} {
			assert.Contains(t, r.Text, key, "key names stay")
		}
		assert.Regexp(t, `\[MASKED:secret-data:[0-9a-f]{8}\] \(`+fmt.Sprint(len(secrets.DBPassword))+` bytes\)`, r.Text, "only the length shows")
		assert.Contains(t, r.Text, "(omitted: ", "last-applied-configuration scrubbed")
		assert.NotContains(t, r.Text, "managedFields")
	}
	// Two different secrets get different placeholders; the same value the same one.
	r := mustCall(t, s, "k8s_get", map[string]any{"resource": "secret", "namespace": "team-a", "name": "db-creds", "output": "json"})
	data := r.Data["items"].([]any)[0].(map[string]any)["data"].(map[string]any)
	assert.NotEqual(t, data["password"], data["pin"])
	r2 := mustCall(t, s, "k8s_get", map[string]any{"resource": "secret", "namespace": "team-a", "name": "db-creds", "output": "json"})
	assert.Equal(t, data["password"], r2.Data["items"].([]any)[0].(map[string]any)["data"].(map[string]any)["password"])

	// Env values with secret-looking names, in the structure and the text.
	r = mustCall(t, s, "k8s_get", map[string]any{"resource": "deploy", "namespace": "team-a", "name": "web", "output": "yaml"})
	assert.Regexp(t, `name: DB_PASSWORD\s+value: '?\[MASKED:env:`, r.Text)
	assert.Regexp(t, `name: API_TOKEN\s+value: '?\[MASKED:env:`, r.Text)
	assert.Regexp(t, `name: LOG_LEVEL\s+value: debug`, r.Text, "non-secret env stays readable")

	// Detectors in ConfigMap files: DSN password, AWS key, GitHub token.
	r = mustCall(t, s, "k8s_get", map[string]any{"resource": "cm", "namespace": "team-a", "name": "app-config", "output": "yaml"})
	assert.Contains(t, r.Text, "postgres://app:[MASKED:url-password:")
	assert.Contains(t, r.Text, "[MASKED:aws-access-key:")
	assert.Contains(t, r.Text, "[MASKED:github-token:")
	assert.Contains(t, r.Text, "log.level=info", "plain config stays readable")

	// Describe prints kubectl's describe of the masked object: a Secret's
	// values by size only, the size of what the describer was given.
	r = mustCall(t, s, "k8s_describe", map[string]any{"resource": "secret", "namespace": "team-a", "name": "db-creds"})
	assert.Regexp(t, `(?m)^password:\s+\d+ bytes$`, r.Text)
	for _, p := range secrets.all() {
		assert.NotContains(t, r.Text, p)
	}
}

func TestDescribeDeploymentShowsRollout(t *testing.T) {
	s, _ := stdioSession(t)
	r := mustCall(t, s, "k8s_describe", map[string]any{"resource": "deploy", "name": "web", "namespace": "team-a"})
	st := r.Data["status"].(map[string]any)
	rs := st["replicaSets"].([]any)
	require.Len(t, rs, 2, "two revisions")
	newest := rs[0].(map[string]any)
	assert.EqualValues(t, 2, newest["revision"])
	assert.Equal(t, []any{"registry.local/web:1.1"}, newest["images"])
	assert.EqualValues(t, 1, rs[1].(map[string]any)["revision"])
	assert.Contains(t, st["rollout"], "in progress")
	// The text is kubectl describe's.
	assert.Regexp(t, `(?m)^Replicas:\s+2 desired \|`, r.Text)
	assert.Regexp(t, `(?m)^  Type\s+Reason\s+Age\s+From\s+Message$`, r.Text)
	assert.Regexp(t, `(?m)^  Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-`, r.Text)
	// The structured events also match by kind and name (kubectl's
	// describer asks by uid too, which these emitters did not set).
	var backOff any
	for _, e := range r.Data["events"].([]any) {
		if m := e.(map[string]any); m["reason"] == "BackOff" {
			backOff = m["count"]
		}
	}
	assert.EqualValues(t, 5, backOff, "2 + 3 folded")

	r = mustCall(t, s, "k8s_describe", map[string]any{"resource": "sts", "name": "cache", "namespace": "team-a"})
	assert.Contains(t, r.Data["status"].(map[string]any)["rollout"], "0 of 1 replicas ready")

	r = call(t, s, "k8s_describe", map[string]any{"resource": "deploy", "name": "nope", "namespace": "team-a"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, `"nope" not found`)
}

func TestEventsFoldedNewestFirst(t *testing.T) {
	s, _ := stdioSession(t)
	r := mustCall(t, s, "k8s_events", map[string]any{"namespace": "team-a", "object": "deploy/web"})
	items := r.Data["items"].([]any)
	var reasons []string
	last := "9999"
	for _, it := range items {
		m := it.(map[string]any)
		assert.LessOrEqual(t, m["last_seen"].(string), last, "newest first")
		last = m["last_seen"].(string)
		if m["reason"] == "ScalingReplicaSet" {
			continue // the controller's own events
		}
		reasons = append(reasons, m["reason"].(string))
		if m["reason"] == "BackOff" {
			assert.EqualValues(t, 5, m["count"], "2 + 3 folded")
		}
	}
	assert.Equal(t, []string{"BackOff", "Unhealthy", "Noted"}, reasons)
	assert.Contains(t, r.Text, "Authorization: Bearer [MASKED:")

	r = mustCall(t, s, "k8s_events", map[string]any{"namespace": "team-a", "type": "warning"})
	for _, it := range r.Data["items"].([]any) {
		assert.Equal(t, "Warning", it.(map[string]any)["type"])
	}
	r = call(t, s, "k8s_events", map[string]any{"namespace": "team-a", "type": "Critical"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "use Normal or Warning")
}

func TestAPIResourcesAndContexts(t *testing.T) {
	s, _ := stdioSession(t)
	r := mustCall(t, s, "k8s_api_resources", map[string]any{"group": "example.com"})
	require.Len(t, r.Data["items"], 1)
	w := r.Data["items"].([]any)[0].(map[string]any)
	assert.Equal(t, "widgets", w["name"])
	assert.Equal(t, []any{"wd"}, w["short_names"])

	r = mustCall(t, s, "k8s_contexts", nil)
	assert.Equal(t, "e2e", r.Data["current"])
	assert.Regexp(t, `(?m)^\*\s+e2e\s+e2e\s+https://127\.0\.0\.1:\d+\s+default\s+true`, r.Text)
	assert.Regexp(t, `(?m)^\s+other\s+e2e\s+https://127\.0\.0\.1:\d+\s+kube-system\s+true`, r.Text)
	assert.NotContains(t, r.Text, kube.ReaderToken, "never credentials")

	// The allowlisted context works; an unknown one is refused.
	mustCall(t, s, "k8s_get", map[string]any{"resource": "ns", "context": "other"})
	r = call(t, s, "k8s_get", map[string]any{"resource": "ns", "context": "prod"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, `context "prod" is not allowed`)
}

// logText strips the kubelet's timestamp from each line of a k8s_logs result.
func logText(t *testing.T, r result) []string {
	t.Helper()
	var out []string
	for _, it := range r.Data["items"].([]any) {
		ts, text, ok := strings.Cut(it.(string), " ")
		require.True(t, ok, it)
		_, err := time.Parse(time.RFC3339Nano, ts)
		require.NoError(t, err, "each line carries the kubelet's timestamp")
		out = append(out, text)
	}
	return out
}

func TestLogs(t *testing.T) {
	// The API server proxies to the stand-in kubelet of fake-node (a fake:
	// no kubelet can run here; it speaks the kubelet's log endpoint).
	s, _ := stdioSession(t)
	// The kubelet's requests from this test only (the parity suite's real
	// kubectl asks without timestamps).
	before := len(kubelet.Requests())
	args := func(extra map[string]any) map[string]any {
		m := map[string]any{"pod": "logger", "namespace": "team-a", "container": "app"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	r := mustCall(t, s, "k8s_logs", args(map[string]any{"tail": 3}))
	got := logText(t, r)
	require.Len(t, got, 3)
	assert.Equal(t, "INFO processed batch n=5 size=105", got[0])
	assert.True(t, strings.HasPrefix(got[1], `{"level":"error","msg":"upstream retry","api_key":"[MASKED:api-key:`), got[1])
	assert.Equal(t, "INFO heartbeat ok", got[2])

	r = mustCall(t, s, "k8s_logs", args(map[string]any{"grep": "(?i)error"}))
	got = logText(t, r)
	assert.Len(t, got, 2)
	assert.Equal(t, "ERROR charge failed: card_declined order=1001", got[0])
	assert.EqualValues(t, 2, r.Data["matched"])
	assert.EqualValues(t, 13, r.Data["scanned"], "12 lines and the private key, masked whole as one")

	r = mustCall(t, s, "k8s_logs", args(map[string]any{"since": "10m"}))
	assert.Len(t, logText(t, r), 2, "the lines of the last 10 minutes")

	r = mustCall(t, s, "k8s_logs", args(nil))
	all := strings.Join(logText(t, r), "\n")
	assert.Contains(t, all, "postgres://app:[MASKED:url-password:")
	assert.Contains(t, all, "Authorization: Bearer [MASKED:auth-header:")

	r = mustCall(t, s, "k8s_logs", args(map[string]any{"previous": true}))
	assert.Contains(t, logText(t, r), "FATAL panic: runtime error: out of memory")

	r = mustCall(t, s, "k8s_logs", args(map[string]any{"limit_bytes": 200}))
	assert.Equal(t, true, r.Data["limited"], "the kubelet stopped at limitBytes")
	// The line the limit cut is left out (876685b): a token cut short is
	// no token to the masker.
	assert.Len(t, r.Data["items"], 2, "the two whole lines within 200 bytes")
	assert.Contains(t, r.Text, "[limit_bytes reached: the line it cut is left out")
	assert.Nil(t, mustCall(t, s, "k8s_logs", args(map[string]any{"tail": 1})).Data["limited"])

	// Paging a long log by the byte budget: every line once, in order.
	var paged []string
	pargs := args(map[string]any{"max_bytes": 400})
	for i := 0; ; i++ {
		require.Less(t, i, 20)
		r := mustCall(t, s, "k8s_logs", pargs)
		paged = append(paged, logText(t, r)...)
		c, _ := r.Data["cursor"].(string)
		if c == "" {
			break
		}
		pargs["cursor"] = c
	}
	assert.Equal(t, strings.Split(all, "\n"), paged)

	// As kubectl: timestamps when asked for.
	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "logs pod/logger -c sidecar -n team-a --tail 5 --timestamps"})
	assert.Regexp(t, `(?m)^\S+ proxy ready$`, r.Text)

	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"pod": "logger", "namespace": "team-a"}, "several containers; choose one with container: app, sidecar"},
		{map[string]any{"pod": "logger", "namespace": "team-a", "container": "sidecar", "previous": true}, `previous terminated container "sidecar" in pod "logger" not found`},
		{map[string]any{"pod": "logger", "namespace": "team-a", "container": "db"}, "container db is not valid"},
		{map[string]any{"pod": "gone", "namespace": "team-a"}, `pods "gone" not found`},
		{map[string]any{"pod": "logger", "namespace": "team-a", "container": "app", "grep": "("}, "grep is not a valid RE2 expression"},
	} {
		r := call(t, s, "k8s_logs", c.args)
		assert.True(t, r.IsError, c.args)
		assert.Contains(t, r.Text, c.want, c.args)
	}

	// A pod no node runs has no logs yet: an empty answer, not an error.
	r = mustCall(t, s, "k8s_logs", map[string]any{"pod": "cache-0", "namespace": "team-a"})
	assert.Equal(t, "app", r.Data["container"])
	assert.Contains(t, r.Text, "(no log lines; 0 read)")

	// What reached the kubelet: only GETs of the log endpoint, with the
	// server's options passed through.
	reqs := kubelet.Requests()[before:]
	require.NotEmpty(t, reqs)
	for _, q := range reqs {
		assert.True(t, strings.HasPrefix(q, "GET /containerLogs/team-a/logger/"), q)
		assert.Contains(t, q, "timestamps=true", q)
	}
	assert.Contains(t, strings.Join(reqs, "\n"), "tailLines=3")
	assert.Contains(t, strings.Join(reqs, "\n"), "sinceSeconds=600")
	assert.Contains(t, strings.Join(reqs, "\n"), "previous=true")
}

func TestKubectl(t *testing.T) {
	s, _ := stdioSession(t)
	r := mustCall(t, s, "k8s_kubectl", map[string]any{"command": "kubectl get pods -n team-a -l app=web -o wide"})
	assert.Regexp(t, `(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE`, r.Text, "wide columns")
	assert.Regexp(t, `(?m)^web-`, r.Text)

	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "describe deploy/web -n team-a"})
	// kubectl's own describe layout (issue 15), not the former private one.
	assert.Regexp(t, `(?m)^Name:\s+web$`, r.Text)
	assert.Regexp(t, `(?m)^Replicas:\s+2 desired`, r.Text)
	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "get events -A --field-selector type=Warning"})
	assert.Regexp(t, `(?m)^team-a\s+`, r.Text)
	assert.NotContains(t, r.Text, "Noted")
	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "api-resources"})
	assert.Regexp(t, `(?m)^deployments\s+deploy\s+apps/v1\s+true\s+Deployment`, r.Text)
	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "get cm -n team-a 'app-config' -o name"})
	assert.Equal(t, "configmap/app-config\n", r.Text)

	verbs := []string{"apply -f x.yaml", "create ns x", "delete pod x", "edit deploy web", "patch deploy web -p {}",
		"replace -f x", "scale deploy web --replicas=0", "rollout restart deploy/web", "rollout undo deploy/web",
		"exec -it web -- sh", "cp web:/etc/passwd .", "port-forward svc/web 8080:80", "attach web", "drain node1",
		"cordon node1", "label pod x a=b", "annotate pod x a=b", "set image deploy/web app=x"}
	for _, v := range verbs {
		r := call(t, s, "k8s_kubectl", map[string]any{"command": v})
		require.True(t, r.IsError, v)
		verb := strings.Fields(v)[0]
		if verb == "rollout" {
			verb = "rollout " + strings.Fields(v)[1]
		}
		assert.Contains(t, r.Text, "kubectl "+verb+" is refused", v)
	}
	r = call(t, s, "k8s_kubectl", map[string]any{"command": "get pods --bogus"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "unknown flag: --bogus")
	r = call(t, s, "k8s_kubectl", map[string]any{"command": "get pods -w"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "--watch is refused")
}

func TestBudgetCutsAndCursorContinues(t *testing.T) {
	s, audit := stdioSession(t)
	full := mustCall(t, s, "k8s_get", map[string]any{"resource": "cm", "namespace": "bulk", "output": "yaml", "label_selector": "set=bulk"})
	require.Len(t, full.Data["items"], bulkConfigMaps, "whole list fits the default budget")

	names := map[string]int{}
	args := map[string]any{"resource": "cm", "namespace": "bulk", "output": "yaml", "label_selector": "set=bulk", "max_bytes": 4096}
	pages := 0
	for {
		r := mustCall(t, s, "k8s_get", args)
		pages++
		assert.LessOrEqual(t, len(r.Text), 4096+400, "text within budget plus the note")
		for _, it := range r.Data["items"].([]any) {
			names[it.(map[string]any)["metadata"].(map[string]any)["name"].(string)]++
		}
		cursor, _ := r.Data["cursor"].(string)
		if cursor == "" {
			assert.NotContains(t, r.Text, "[truncated")
			break
		}
		assert.Equal(t, true, r.Data["truncated"])
		assert.Contains(t, r.Text, "[truncated: cut at the 4096-byte budget")
		assert.Contains(t, r.Text, cursor)
		args["cursor"] = cursor
		require.Less(t, pages, 50, "cursor must make progress")
	}
	assert.Greater(t, pages, 3)
	require.Len(t, names, bulkConfigMaps, "every item once")
	for n, c := range names {
		assert.Equal(t, 1, c, "%s shown once", n)
	}

	// A cursor with other arguments is refused, not silently misapplied.
	r := call(t, s, "k8s_get", map[string]any{"resource": "cm", "namespace": "team-a", "output": "yaml", "cursor": args["cursor"]})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "invalid cursor: it does not belong to this call")

	// API-side paging: limit and continue pass through.
	r = mustCall(t, s, "k8s_get", map[string]any{"resource": "cm", "namespace": "bulk", "limit": 15})
	assert.Len(t, r.Data["items"], 15)
	cont := r.Data["continue"].(string)
	require.NotEmpty(t, cont)
	r = mustCall(t, s, "k8s_get", map[string]any{"resource": "cm", "namespace": "bulk", "limit": 15, "continue": cont})
	assert.Regexp(t, `(?m)^cm-15\s`, r.Text)

	lines := auditLines(t, audit)
	truncated := 0
	for _, l := range lines {
		if l["truncated"] == true {
			truncated++
		}
	}
	assert.Equal(t, pages-1, truncated, "audit says which results were cut")
}

func TestArgumentErrorsKeepServerRunning(t *testing.T) {
	s, _ := stdioSession(t)
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"k8s_get", map[string]any{}, "resource"},
		{"k8s_get", map[string]any{"resource": "pods", "output": "xml"}, `output "xml": use table, wide, yaml, json or name`},
		{"k8s_get", map[string]any{"resource": "pods", "limit": "ten"}, "limit"},
		{"k8s_get", map[string]any{"resource": "pods", "colour": "red"}, "colour"},
		{"k8s_get", map[string]any{"resource": "pods", "cursor": "!!"}, "invalid cursor"},
		{"k8s_logs", map[string]any{"pod": "x", "since": "yesterday"}, "use a positive duration"},
		{"k8s_describe", map[string]any{"resource": "deploy"}, `missing properties: ["name"]`},
		{"k8s_kubectl", map[string]any{"command": "frobnicate pods"}, "kubectl frobnicate is not supported"},
		{"k8s_kubectl", map[string]any{"command": "get 'pods"}, "cannot split the command line"},
	}
	for _, c := range cases {
		r := call(t, s, c.tool, c.args)
		assert.True(t, r.IsError, "%s %v", c.tool, c.args)
		assert.Contains(t, r.Text, c.want, "%s %v", c.tool, c.args)
	}
	mustCall(t, s, "k8s_get", map[string]any{"resource": "ns"})
}

func TestAuditLineEveryCall(t *testing.T) {
	s, audit := stdioSession(t)
	mustCall(t, s, "k8s_get", map[string]any{"resource": "secret", "namespace": "team-a"})
	call(t, s, "k8s_kubectl", map[string]any{"command": "delete ns team-a"})
	mustCall(t, s, "k8s_events", map[string]any{"namespace": "team-a", "object": "web"})
	lines := auditLines(t, audit)
	require.Len(t, lines, 3)
	for _, l := range lines {
		for _, f := range []string{"ts", "server", "tool", "user", "session", "args", "args_sha256", "outcome", "duration_ms", "bytes", "truncated", "masked"} {
			assert.Contains(t, l, f)
		}
		assert.Equal(t, "mcp-kubernetes", l["server"])
		assert.Equal(t, "stdio", l["user"])
		assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{64}$`), l["args_sha256"])
	}
	assert.Equal(t, "ok", lines[0]["outcome"])
	assert.Equal(t, "denied", lines[1]["outcome"])
	assert.Equal(t, "ok", lines[2]["outcome"])
	assert.Greater(t, lines[2]["masked"], 0.0, "the event's bearer token was masked")
}

func TestHTTPWithBearerTokenAndPolicy(t *testing.T) {
	srv := startHTTP(t)
	// No token: 401 before any MCP.
	resp, err := http.Post(srv.URL+"/mcp", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	alice := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(sreToken)})
	r := mustCall(t, alice, "k8s_get", map[string]any{"resource": "deploy", "namespace": "team-a"})
	assert.Regexp(t, `(?m)^web\s`, r.Text)

	bob := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(viewerToken)})
	r = mustCall(t, bob, "k8s_get", map[string]any{"resource": "deploy", "namespace": "team-b"})
	assert.Regexp(t, `(?m)^api\s`, r.Text)
	r = call(t, bob, "k8s_get", map[string]any{"resource": "deploy", "namespace": "team-a"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, `may not read namespace "team-a"`)
	r = call(t, bob, "k8s_logs", map[string]any{"pod": "x", "namespace": "team-b"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "may not call k8s_logs")
	// All namespaces: only the namespaces in scope come back.
	r = mustCall(t, bob, "k8s_get", map[string]any{"resource": "deploy", "all_namespaces": true})
	assert.Regexp(t, `(?m)^team-b\s+api`, r.Text)
	assert.NotContains(t, r.Text, "team-a")
	r = call(t, bob, "k8s_get", map[string]any{"resource": "nodes"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "cluster-scoped")

	// Legacy SSE on the same listener.
	sse := connect(t, &mcp.SSEClientTransport{Endpoint: srv.URL + "/sse", HTTPClient: httpClient(sreToken)})
	r = mustCall(t, sse, "k8s_kubectl", map[string]any{"command": "get sts -n team-a"})
	assert.Regexp(t, `(?m)^cache\s+0/1`, r.Text)

	// Metrics count calls by tool and outcome.
	resp, err = http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body := new(strings.Builder)
	_, _ = fmt.Fprint(body, readAll(resp))
	assert.Regexp(t, `opsmcp_tool_calls_total\{outcome="denied",server="mcp-kubernetes",tool="k8s_get"\} 2`, body.String())
	assert.Regexp(t, `opsmcp_tool_calls_total\{outcome="ok",server="mcp-kubernetes",tool="k8s_kubectl"\} 1`, body.String())

	resp, err = http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	lines := auditLines(t, srv.Audit)
	users := map[string][]string{}
	for _, l := range lines {
		users[l["user"].(string)] = append(users[l["user"].(string)], l["outcome"].(string))
		assert.NotEmpty(t, l["session"])
	}
	assert.Equal(t, []string{"ok", "ok"}, users["alice"])
	assert.Equal(t, []string{"ok", "denied", "denied", "ok", "denied"}, users["bob"])
}
