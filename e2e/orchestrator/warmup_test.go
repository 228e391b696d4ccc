package orchestrator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// metric is the value of the series line that starts with name{labels}
// on the orchestrator's /metrics, or -1 when there is none.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(string(body))
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

// loadedUntil is when Ollama's /api/ps says model expires, or zero when
// it is not loaded.
func loadedUntil(t *testing.T, c *ollama.Client, model string) time.Time {
	t.Helper()
	ps, err := c.ListRunning(context.Background())
	require.NoError(t, err)
	for _, m := range ps.Models {
		if m.Name == model {
			return m.ExpiresAt
		}
	}
	return time.Time{}
}

// laneConfig is servers(t) with the lane warmlane (model warm) kept warm
// by warmup (YAML of the warmup section's fields).
func laneConfig(t *testing.T, warmup string) string {
	t.Helper()
	cfg := servers(t)
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("lanes:\n  - {name: warmlane, model: warm, hosts: [primary]}\nwarmup: " + warmup + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return cfg
}

// TestWarmupReloadsBeforeTheQuestion runs the warm-up against a real
// Ollama of its own. Control: an orchestrator whose warm hours are not
// now preloads nothing, and the lane's first question pays the model's
// load (Ollama's load_duration, and a runner start in Ollama's log).
// Then an orchestrator warm all day preloads the model with the
// configured keep_alive (37m, which no default gives); unloaded with
// keep_alive 0, as `ollama stop` does, it is loaded again before the
// next question, and that question starts no runner and waits less for
// its model than the control did.
func TestWarmupReloadsBeforeTheQuestion(t *testing.T) {
	ctx := context.Background()
	o, err := harness.StartOllama(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(o.Stop)
	require.NoError(t, o.CreateTiny(ctx, "warm", true, "num_predict 1"))
	oc := ollama.NewClient(mustURL(t, o.URL), http.DefaultClient)
	no := false
	unload := func() {
		t.Helper()
		require.NoError(t, oc.Generate(ctx, &ollama.GenerateRequest{Model: "warm", KeepAlive: &ollama.Duration{}, Stream: &no}, func(ollama.GenerateResponse) error { return nil }))
	}
	ask := func(base string) {
		t.Helper()
		c := ollama.NewClient(mustURL(t, base), &http.Client{Transport: harness.Bearer{Token: serveToken}})
		require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "warmlane", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: "are the pods healthy?"}}},
			func(ollama.ChatResponse) error { return nil }))
	}
	loadSeconds := func(base string) float64 {
		t.Helper()
		n := metric(t, base, `opsmcp_orchestrator_model_load_seconds_count{host="primary",model="warm"}`)
		require.Equal(t, 1.0, n, "one model turn")
		return metric(t, base, `opsmcp_orchestrator_model_load_seconds_sum{host="primary",model="warm"}`)
	}
	runnerStarts := func() int { return strings.Count(o.Proc.Tail(1<<22), "msg=\"llama runner started in") }

	// Control: warm hours two hours from now (UTC), so not now.
	later := time.Now().UTC().Add(2 * time.Hour)
	cold, _ := startServeOn(t, o.URL, "", "--poll-every", "1s", "--config", laneConfig(t,
		fmt.Sprintf(`{keep_alive: 37m, every: 1s, timezone: UTC, hours: ["%s-%s"]}`, later.Format("15:04"), later.Add(time.Hour).Format("15:04"))))
	time.Sleep(3 * time.Second) // three checks
	assert.True(t, loadedUntil(t, oc, "warm:latest").IsZero(), "nothing preloaded outside the warm hours")
	assert.Equal(t, -1.0, metric(t, cold, `opsmcp_orchestrator_warmup_total{host="primary",model="warm",result="loaded"}`))
	before := runnerStarts()
	ask(cold)
	coldLoad := loadSeconds(cold)
	assert.Greater(t, runnerStarts(), before, "the control's question started a runner")
	unload()
	waitUntil(t, 30*time.Second, func() bool { return loadedUntil(t, oc, "warm:latest").IsZero() })

	// Warm all day: preloaded at start, with the configured keep_alive.
	base, _ := startServeOn(t, o.URL, "", "--poll-every", "1s", "--config", laneConfig(t, `{keep_alive: 37m, every: 1s}`))
	waitUntil(t, 60*time.Second, func() bool { return !loadedUntil(t, oc, "warm:latest").IsZero() })
	assert.InDelta(t, (37 * time.Minute).Seconds(), time.Until(loadedUntil(t, oc, "warm:latest")).Seconds(), 60, "expires after the configured 37m")
	// /api/ps can list the model before the preload's own answer has come
	// back and been counted: wait for the count, then it must be one.
	waitUntil(t, 30*time.Second, func() bool {
		return metric(t, base, `opsmcp_orchestrator_warmup_total{host="primary",model="warm",result="loaded"}`) >= 1
	})
	assert.Equal(t, 1.0, metric(t, base, `opsmcp_orchestrator_warmup_total{host="primary",model="warm",result="loaded"}`))

	// Unloaded as `ollama stop` does it: loaded again, no question asked.
	unload()
	waitUntil(t, 30*time.Second, func() bool {
		return metric(t, base, `opsmcp_orchestrator_warmup_total{host="primary",model="warm",result="loaded"}`) == 2
	})
	assert.InDelta(t, (37 * time.Minute).Seconds(), time.Until(loadedUntil(t, oc, "warm:latest")).Seconds(), 60, "loaded again by the warm-up, before any question")
	assert.GreaterOrEqual(t, metric(t, base, `opsmcp_orchestrator_model_events_total{event="evicted",host="primary",model="warm"}`), 1.0)
	assert.Equal(t, 1.0, metric(t, base, `opsmcp_orchestrator_model_loaded{host="primary",model="warm",processor="cpu"}`))
	assert.Equal(t, 0.0, metric(t, base, `opsmcp_orchestrator_model_vram_bytes{host="primary",model="warm"}`), "the test host has no GPU")
	assert.Equal(t, 1.0, metric(t, base, `opsmcp_orchestrator_host_up{host="primary"}`))

	before = runnerStarts()
	ask(base)
	warmLoad := loadSeconds(base)
	t.Logf("load_duration: %.4fs cold (control), %.4fs warm", coldLoad, warmLoad)
	// A runner start takes tens of milliseconds for the tiny model (tens
	// of seconds for a real one on a GPU host); a handoff to a running
	// one, a few.
	assert.Less(t, warmLoad, coldLoad, "the warm question did not pay the load")
	assert.Equal(t, before, runnerStarts(), "Ollama's own log: the warm question started no runner")
	assert.Equal(t, 0.0, metric(t, base, `opsmcp_orchestrator_queue_depth{lane="warmlane"}`))
	assert.Equal(t, 1.0, metric(t, base, `opsmcp_orchestrator_queue_wait_seconds_count{host="primary",lane="warmlane"}`))
	if t.Failed() {
		t.Logf("ollama log:\n%s", o.Proc.Tail(8000))
	}

	// topology-check says what is warm where, per lane.
	r, code := topologyCheck(t, map[string]string{"OLLAMA_URL": o.URL}, "--config", laneConfig(t, `{keep_alive: 37m, every: 1s}`), "--model", "warm")
	assert.Equal(t, 0, code, r.Errors)
	assert.Equal(t, []lane{{Lane: "warmlane", Model: "warm", Host: "primary", Warm: true, Processor: "cpu", KeptWarm: true}}, r.Lanes)
	require.Len(t, r.Checks, 1)
	require.Len(t, r.Checks[0].Warm, 1)
	assert.Equal(t, "warm:latest", r.Checks[0].Warm[0].Model)
}

func waitUntil(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not reached within %s", limit)
}
