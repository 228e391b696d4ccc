package ops_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

func monitoring(name string) string {
	return filepath.Join(harness.Root(), "deploy", "monitoring", name)
}

func promtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := harness.Promtool()
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Dir = monitoring("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAlertRulesPassPromtool: deploy/monitoring/alerts.yml parses
// (promtool check rules) and its unit tests pass (promtool test rules),
// every alert the issue asks for exists, and every alert has a test in
// which it fires.
func TestAlertRulesPassPromtool(t *testing.T) {
	out, err := promtool(t, "check", "rules", "alerts.yml")
	require.NoError(t, err, out)
	assert.Contains(t, out, "SUCCESS: 6 rules found")
	out, err = promtool(t, "test", "rules", "alerts_test.yml")
	require.NoError(t, err, out)
	assert.Contains(t, out, "SUCCESS")

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	raw, err := os.ReadFile(monitoring("alerts.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &rules))
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	raw, err = os.ReadFile(monitoring("alerts_test.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &tests))
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			}
		}
	}
	exprs := map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs[r.Alert] = r.Expr
			assert.True(t, fires[r.Alert], "alert %s has no promtool test in which it fires", r.Alert)
		}
	}
	// The list: a host down, a model on CPU, a queue wait over N
	// s, an upstream unreachable, audit write failures.
	for alert, metric := range map[string]string{
		"OpsmcpOllamaHostDown":      "opsmcp_orchestrator_host_up",
		"OpsmcpModelOnCPU":          "opsmcp_orchestrator_model_loaded",
		"OpsmcpQueueWaitHigh":       "opsmcp_orchestrator_queue_wait_seconds_bucket",
		"OpsmcpUpstreamUnreachable": `opsmcp_tool_calls_total{outcome="upstream_error"}`,
		"OpsmcpAuditWriteFailures":  "opsmcp_audit_write_failures_total",
		"OpsmcpServerDown":          `up{job=~"opsmcp-.*"}`,
	} {
		assert.Contains(t, exprs[alert], metric, "alert %s watches %s", alert, metric)
	}
}
