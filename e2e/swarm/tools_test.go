package swarm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInfoAndNodes(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_info", map[string]any{})
	assert.EqualValues(t, 1, r.Data["nodes"])
	assert.EqualValues(t, 1, r.Data["managers"])
	assert.Equal(t, "manager", r.Data["node_role"])
	assert.Equal(t, []any{"20.10.24+dfsg1"}, r.Data["engine_versions"])
	n := mustCall(t, s, "swarm_nodes", map[string]any{})
	require.Len(t, items(n), 1)
	assert.Equal(t, "leader", items(n)[0]["manager"])
	assert.Equal(t, "active", items(n)[0]["availability"])
}

// TestServicesMatchDockerServiceLs compares replica counts with the CLI.
func TestServicesMatchDockerServiceLs(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_services", map[string]any{})
	got := map[string]string{}
	for _, it := range items(r) {
		got[fmt.Sprint(it["name"])] = fmt.Sprintf("%v/%v", it["running"], it["desired"])
	}
	out, err := sw.CLI(context.Background(), "service", "ls", "--format", "{{.Name}} {{.Replicas}}")
	require.NoError(t, err)
	want := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		want[f[0]] = f[1]
	}
	assert.Equal(t, want, got)
	assert.Equal(t, "2/2", got["shop_web"])
	shop := mustCall(t, s, "swarm_services", map[string]any{"stack": "shop"})
	assert.Equal(t, []string{"shop_web", "shop_worker"}, field(items(shop), "name"))
	assert.Equal(t, "local/busybox:latest", items(shop)[0]["image"])
}

func TestRollbackShowsPreviousSpec(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_service", map[string]any{"service": "api"})
	assert.Equal(t, "rollback_completed", r.Data["rollout"])
	changes, _ := r.Data["changes"].([]any)
	require.Len(t, changes, 1)
	ch := changes[0].(map[string]any)
	assert.Equal(t, "env VERSION", ch["field"])
	assert.Equal(t, "2", ch["previous"], "the spec before the rollback had VERSION=2")
	assert.Equal(t, "1", ch["current"])
	assert.Contains(t, r.Text, "env VERSION: 2 -> 1")
	// Tasks per slot: the current one running, replaced ones shut down.
	states := field(items(r), "state")
	assert.Equal(t, "running", states[0])
	assert.Contains(t, states[1:], "shutdown")

	web := mustCall(t, s, "swarm_service", map[string]any{"service": "shop_web"})
	env, _ := web.Data["env"].(map[string]any)
	assert.Equal(t, "info", env["LOG_LEVEL"])
	assert.Contains(t, fmt.Sprint(env["API_TOKEN"]), "[MASKED:")
	assert.Equal(t, []any{"shop_db_pass"}, web.Data["secrets"])
}

func TestFailedTasksMatchDockerServicePs(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_tasks", map[string]any{"state": "failed"})
	require.Len(t, items(r), 1)
	task := items(r)[0]
	assert.Equal(t, "broken", task["service"])
	assert.EqualValues(t, 3, task["exit_code"])
	out, err := sw.CLI(context.Background(), "service", "ps", "broken", "--no-trunc", "--format", "{{.Error}}")
	require.NoError(t, err)
	assert.Equal(t, strings.Trim(out, `"`), task["error"], "the error docker service ps shows")
	assert.Contains(t, r.Text, "exit 3")
	bad := call(t, s, "swarm_service", map[string]any{"service": "nope"})
	assert.True(t, bad.IsError)
	assert.Contains(t, bad.Text, "nope")
}

func TestLogsInOrderAndMasked(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_logs", map[string]any{"service": "shop_web", "tail": 5})
	its := items(r)
	require.GreaterOrEqual(t, len(its), 10, "2 tasks x 5 lines x 2 streams")
	var prev time.Time
	tasks := map[string]bool{}
	streams := map[string]int{}
	for _, it := range its {
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(it["ts"]))
		require.NoError(t, err)
		assert.False(t, ts.Before(prev), "merged in time order")
		prev = ts
		tasks[fmt.Sprint(it["task"])] = true
		streams[fmt.Sprint(it["stream"])]++
		text := fmt.Sprint(it["text"])
		if it["stream"] == "stderr" {
			assert.True(t, strings.HasPrefix(text, "warn: slow db"), text)
		} else {
			assert.Contains(t, text, "token=[MASKED:")
		}
	}
	assert.Equal(t, map[string]bool{"shop_web.1": true, "shop_web.2": true}, tasks)
	assert.Positive(t, streams["stdout"])
	assert.Positive(t, streams["stderr"])

	only := mustCall(t, s, "swarm_logs", map[string]any{"service": "shop_web", "tail": 5, "stream": "stderr", "grep": `slow db \d+`})
	for _, st := range field(items(only), "stream") {
		assert.Equal(t, "stderr", st)
	}
	assert.NotEmpty(t, items(only))
	broken := mustCall(t, s, "swarm_logs", map[string]any{"service": "broken"})
	assert.Equal(t, []string{"boom"}, field(items(broken), "text"))
}

func TestStacksConfigsSecrets(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_stacks", map[string]any{})
	assert.Equal(t, []string{"billing", "shop"}, field(items(r), "name"))
	st := items(r)[1]
	assert.Equal(t, "shop", st["name"])
	assert.Equal(t, []any{"shop_web", "shop_worker"}, st["services"])
	assert.Equal(t, []any{"shop_app_conf"}, st["configs"])
	assert.Equal(t, []any{"shop_db_pass"}, st["secrets"])

	cf := mustCall(t, s, "swarm_configs", map[string]any{})
	require.Len(t, items(cf), 1)
	assert.Equal(t, []any{"shop_web"}, items(cf)[0]["used_by"])
	assert.Contains(t, items(cf)[0]["data"], "listen: 8080")
	assert.Contains(t, items(cf)[0]["data"], "db_password: [MASKED:")
	sec := mustCall(t, s, "swarm_secrets", map[string]any{})
	require.Len(t, items(sec), 1)
	assert.Equal(t, "shop_db_pass", items(sec)[0]["name"])
	assert.Nil(t, items(sec)[0]["data"], "no secret value")
}

func TestComposeDrift(t *testing.T) {
	s, _ := session(t)
	same := mustCall(t, s, "swarm_compose", map[string]any{"stack": "shop", "path": stackDir + "/stack.yml"})
	assert.Equal(t, true, same.Data["in_sync"], same.Text)
	changed := strings.NewReplacer("replicas: 2", "replicas: 3", "LOG_LEVEL: info", "LOG_LEVEL: info\n      FEATURE_X: \"on\"").Replace(stackFile)
	changed = strings.Replace(changed, "  worker:\n", "  cron:\n    image: local/busybox:1.36\n    networks: [hostnet]\n  worker:\n", 1)
	r := mustCall(t, s, "swarm_compose", map[string]any{"stack": "shop", "content": changed})
	var got []string
	for _, it := range items(r) {
		got = append(got, fmt.Sprintf("%v %v %v|%v", it["service"], it["field"], it["file"], orEmpty(it["deployed"])))
	}
	assert.Equal(t, []string{
		"cron missing local/busybox:1.36|",
		"web replicas 3|2",
		"web env API_TOKEN,FEATURE_X,LOG_LEVEL|API_TOKEN,LOG_LEVEL",
	}, got)
	out := call(t, s, "swarm_compose", map[string]any{"stack": "shop", "path": "/etc/hostname"})
	assert.True(t, out.IsError)
	assert.Contains(t, out.Text, "outside the compose roots")
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}
