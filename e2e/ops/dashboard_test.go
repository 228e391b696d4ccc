package ops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

const (
	aliceTok = "ops-alice-7c41d0"
	carolTok = "ops-carol-2b9e55"
	floodTok = "ops-flood-93aa1f"
	orchTok  = "ops-orch-5e08c2"
	// plantedPw is in a log line mcp-logs serves: masked, so counted.
	plantedPw = "Ops-planted-Pw-8841"
)

// TestDashboardQueriesReturnSeries: a real Prometheus scrapes mcp-logs
// and mcp-orchestrator (the orchestrator in front of the real Ollama,
// whose primary host fails mid-question, so the question fails over, and
// whose fallback host is down) while the test drives
// every outcome a panel shows: ok calls, a masked value, a bad argument,
// a call the policy denies, an upstream (Loki) that is down, a caller
// past its rate limit, and a question answered by the real model. Then
// every query of deploy/monitoring/grafana-dashboard.json returns at least
// one series, each error kind's series is above zero, every alert rule
// evaluates against the real series without error, and the host-down and
// model-on-CPU alerts go pending on this setup's real conditions.
func TestDashboardQueriesReturnSeries(t *testing.T) {
	ctx := context.Background()
	o := ollama(t)
	logsBin := binary(t, "mcp-logs", "mcp-logs")
	orchBin := binary(t, "orchestrator", "mcp-orchestrator")
	dir := t.TempDir()
	closedPort, err := harness.FreePort()
	require.NoError(t, err)
	closed := fmt.Sprintf("http://127.0.0.1:%d", closedPort)

	files := filepath.Join(dir, "logs")
	require.NoError(t, os.MkdirAll(filepath.Join(files, "app"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(files, "app", "app.log"), []byte(
		"2026-11-28T10:00:00Z INFO ledger started\n"+
			"2026-11-28T10:00:01Z ERROR db connect failed password="+plantedPw+" host=db\n"+
			"2026-11-28T10:00:02Z WARN retrying\n"), 0o644))
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	tokens := write("tokens", aliceTok+",alice,sre\n"+carolTok+",carol,app\n"+floodTok+",flood,sre\n")
	policy := write("policy.yaml", "roles:\n  sre:\n    tools: [\"*\"]\n  app:\n    tools: [logs_files]\n")

	// mcp-logs over HTTP: its Loki is a closed port (upstream errors),
	// 10 calls a second per user with a burst of 5 (the flood is cut).
	logsPort, err := harness.FreePort()
	require.NoError(t, err)
	logsURL := fmt.Sprintf("http://127.0.0.1:%d", logsPort)
	harness.StartServer(t, &seen, dir, "mcp-logs", logsURL, logsBin, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", logsPort),
		"--loki-url", closed, "--files-root", files, "--auth-tokens", tokens, "--policy", policy,
		"--audit-log", filepath.Join(dir, "logs-audit.log"), "--rate-limit", "600", "--rate-burst", "5")

	// mcp-orchestrator: its primary Ollama is the real one behind a proxy
	// that cuts the question's answer (a host failing mid-request: the
	// question fails over), the secondary is the real one, the fallback a
	// closed port (a host down); one lane for the tiny model, kept warm.
	primary, err := harness.StartFaultProxy(strings.TrimPrefix(o.URL, "http://"), false)
	require.NoError(t, err)
	t.Cleanup(primary.Close)
	orchPort, err := harness.FreePort()
	require.NoError(t, err)
	orchURL := fmt.Sprintf("http://127.0.0.1:%d", orchPort)
	orchTokens := write("orch-tokens", orchTok+",dana,sre\n")
	cfg := write("servers.yaml", fmt.Sprintf(`servers:
  - name: logs
    command: %s
    args: [--files-root, %s, --audit-log, "off"]
lanes:
  - name: chat
    model: %s
warmup:
  keep_alive: 10m
  every: 1s
`, logsBin, files, chatModel))
	t.Setenv("OLLAMA_URL", "http://"+primary.Addr)
	t.Setenv("OLLAMA_SECONDARY_URL", o.URL)
	t.Setenv("OLLAMA_FALLBACK_URL", closed)
	harness.StartServer(t, &seen, dir, "mcp-orchestrator", orchURL, orchBin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", orchPort),
		"--config", cfg, "--model", chatModel, "--auth-tokens", orchTokens, "--audit-log", filepath.Join(dir, "orch-audit.log"))

	prom, err := harness.StartPrometheus(ctx, dir, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: opsmcp-logs
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: opsmcp-orchestrator
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, monitoring("alerts.yml"), logsPort, orchPort))
	require.NoError(t, err)
	t.Cleanup(prom.Stop)

	alice := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: logsURL + "/mcp", HTTPClient: harness.HTTPClient(aliceTok)})
	carol := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: logsURL + "/mcp", HTTPClient: harness.HTTPClient(carolTok)})
	flood := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: logsURL + "/mcp", HTTPClient: harness.HTTPClient(floodTok)})
	// Each outcome twice, with a scrape of each round in between, so
	// every rate() and increase() has an increase inside its window.
	waitScraped(t, prom, `count(up{job=~"opsmcp-.*"} == 1)`, 2)
	var limited int
	for round := 0; round < 2; round++ {
		harness.MustCall(t, &seen, alice, "logs_files", map[string]any{})
		r := harness.MustCall(t, &seen, alice, "logs_search", map[string]any{"pattern": "connect failed"})
		assert.Contains(t, r.Text, "[MASKED:", "the planted password comes back masked")
		bad := harness.Call(t, &seen, alice, "logs_search", map[string]any{"pattern": "(unclosed"})
		assert.True(t, bad.IsError, "a bad pattern is the caller's error")
		denied := harness.Call(t, &seen, carol, "logs_search", map[string]any{"pattern": "x"})
		assert.True(t, denied.IsError, "role app may not call logs_search")
		up := harness.Call(t, &seen, alice, "logs_labels", map[string]any{})
		assert.True(t, up.IsError, "Loki is down")
		for i := 0; i < 20; i++ {
			if harness.Call(t, &seen, flood, "logs_files", map[string]any{}).IsError {
				limited++
			}
		}
		primary.CutAfter(0)
		ask(t, orchURL, "hello there")
		require.NoError(t, primary.Pass())
		for _, outcome := range []string{"ok", "error", "denied", "upstream_error", "rate_limited"} {
			waitScraped(t, prom, `sum(opsmcp_tool_calls_total{server="mcp-logs",outcome="`+outcome+`"})`, float64(round+1))
		}
		waitScraped(t, prom, `sum(opsmcp_orchestrator_model_turn_seconds_count)`, float64(round+1))
	}
	require.Greater(t, limited, 0, "the flood ran past its rate limit")

	// Every dashboard query returns series once Prometheus has scraped
	// what the calls left (allow it a little time).
	queries := dashboardQueries(t)
	require.GreaterOrEqual(t, len(queries), 25)
	empty := map[string]string{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		clear(empty)
		for name, q := range queries {
			got, err := prom.Query(ctx, q)
			require.NoError(t, err, "panel %s", name)
			if len(got) == 0 {
				empty[name] = q
			}
		}
		if len(empty) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	for name, q := range empty {
		t.Errorf("panel %s: no series for %s", name, q)
	}

	// Each kind of error the dashboard splits is there and above zero,
	// from mcp-logs, and the orchestrator's question failed over.
	for kind, q := range map[string]string{
		"argument":     `sum(increase(opsmcp_tool_calls_total{server="mcp-logs",outcome="error"}[5m]))`,
		"policy":       `sum(increase(opsmcp_tool_calls_total{server="mcp-logs",outcome="denied"}[5m]))`,
		"upstream":     `sum(increase(opsmcp_tool_calls_total{server="mcp-logs",outcome="upstream_error"}[5m]))`,
		"rate limited": `sum(increase(opsmcp_tool_calls_total{server="mcp-logs",outcome="rate_limited"}[5m]))`,
		"masked":       `sum(increase(opsmcp_masked_values_total{server="mcp-logs"}[5m]))`,
		"failover":     `sum(opsmcp_orchestrator_failovers_total)`,
		"host down":    `count(opsmcp_orchestrator_host_up == 0)`,
		"host up":      `count(opsmcp_orchestrator_host_up == 1)`,
		"model loaded": `count(opsmcp_orchestrator_model_loaded > 0)`,
	} {
		got, err := prom.Query(ctx, q)
		require.NoError(t, err)
		if assert.Len(t, got, 1, "%s: %s", kind, q) {
			v, err := strconv.ParseFloat(fmt.Sprint(got[0].Value[1]), 64)
			require.NoError(t, err)
			assert.Greater(t, v, 0.0, "%s: %s", kind, q)
		}
	}

	// The alert rules load and evaluate against the real series.
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, prom.URL+"/api/v1/rules", &rules)
	n := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			n++
			assert.Equal(t, "ok", r.Health, "rule %s: %s", r.Name, r.LastError)
		}
	}
	assert.Equal(t, 6, n, "every alert rule loaded")

	// And the real conditions of this setup start their alerts (pending:
	// their "for" is minutes): the fallback host is down, and the tiny
	// model runs on this machine's CPU.
	want := map[string]string{"OpsmcpOllamaHostDown": "fallback", "OpsmcpModelOnCPU": chatModel}
	require.Eventually(t, func() bool {
		var alerts struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		getJSON(t, prom.URL+"/api/v1/alerts", &alerts)
		found := 0
		for name, label := range want {
			for _, a := range alerts.Data.Alerts {
				if a.Labels["alertname"] == name && (a.Labels["host"] == label || a.Labels["model"] == label) {
					found++
					break
				}
			}
		}
		return found == len(want)
	}, 30*time.Second, 500*time.Millisecond, "alerts %v not pending", want)
	harness.AssertNoSecrets(t, &seen, []string{plantedPw}, 1000)
}

// waitScraped waits until q's single value in Prometheus is at least
// min: what the test just did has been scraped.
func waitScraped(t *testing.T, prom *harness.Prometheus, q string, min float64) {
	t.Helper()
	var last []harness.Sample
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		got, err := prom.Query(context.Background(), q)
		require.NoError(t, err)
		if len(got) == 1 {
			if v, err := strconv.ParseFloat(fmt.Sprint(got[0].Value[1]), 64); err == nil && v >= min {
				return
			}
		}
		last = got
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("Prometheus never scraped %s >= %v (last: %v)", q, min, last)
}

// ask sends one question to the orchestrator's Ollama-compatible chat API
// and fails the test unless the real model answered it.
func ask(t *testing.T, base, question string) {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"stream":false,"options":{"num_predict":8},"messages":[{"role":"user","content":%q}]}`, chatModel, question)
	req, err := http.NewRequest(http.MethodPost, base+"/api/chat", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+orchTok)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 3 * time.Minute}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	seen.Add(string(raw))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	var out struct {
		Done      bool `json:"done"`
		EvalCount int  `json:"eval_count"`
	}
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	assert.True(t, out.Done, string(raw))
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

// dashboardQueries returns every query of the Grafana dashboard, by panel
// title, with Grafana's variables set as a person opening it would have
// them: all servers, and a rate window of 1m.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(monitoring("grafana-dashboard.json"))
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	vars := strings.NewReplacer(`$__rate_interval`, "1m", `$server`, ".*")
	out := map[string]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q target %s", p.Title, tg.RefID)
			q := vars.Replace(tg.Expr)
			require.NotRegexp(t, regexp.MustCompile(`\$\w`), q, "panel %q uses a variable the test does not set", p.Title)
			out[p.Title+" / "+tg.RefID] = q
		}
	}
	return out
}
