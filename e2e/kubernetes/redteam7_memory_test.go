package kubernetes_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestRedteam7MemoryOrdinaryCallsAfterHostileOnes: under the shipped
// 256 MiB, eight callers at once read a 10 MB list of ConfigMaps (kubectl reads it whole for -o name)
// (each answered whole, or refused as busy or too large: never cut,
// never the API server's fault); afterwards eight ordinary calls of each
// kind at once on the fixtures are all answered as one alone was: what
// the large reads held was given back, and ordinary answers are never
// refused at the shipped limit.
func TestRedteam7MemoryOrdinaryCallsAfterHostileOnes(t *testing.T) {
	const ns = "redteam7mem"
	bigConfigMaps(t, ns, 10, nil)

	t.Setenv("GOMEMLIMIT", "256MiB")
	var s *mcp.ClientSession
	// No rate limit: this test makes some sixty calls in a few seconds.
	harness.NewProcessOf(t, binary, func() { s, _ = stdioSession(t, "--rate-limit", "0") })
	ordinary := []struct {
		tool string
		args map[string]any
	}{
		{"k8s_get", map[string]any{"resource": "deploy", "namespace": "team-a"}},
		{"k8s_get", map[string]any{"resource": "deployments.apps", "all_namespaces": true}},
		{"k8s_get", map[string]any{"resource": "deploy", "namespace": "team-a", "name": "web", "output": "yaml"}},
		{"k8s_describe", map[string]any{"resource": "secret", "namespace": "team-a", "name": "db-creds"}},
		{"k8s_kubectl", map[string]any{"command": "get pods -n team-a -o wide"}},
	}
	before := make([]string, len(ordinary))
	for i, o := range ordinary {
		before[i] = mustCall(t, s, o.tool, o.args).Text
	}

	large := map[string]any{"command": "get configmaps -n " + ns + " -o name"}
	whole := mustCall(t, s, "k8s_kubectl", large).Text
	require.Equal(t, 10, strings.Count(whole, "configmap/cm-"), "%.300s", whole)
	texts, errs := harness.CallsAtOnce(t, &seen, s, 8, "k8s_kubectl", large)
	refused := 0
	for i := range texts {
		if errs[i] {
			refused++
			assert.Regexp(t, `retry in a moment|invalid arguments`, texts[i])
			assert.NotContains(t, texts[i], "upstream error")
			continue
		}
		assert.Equal(t, redteam7Cursor.ReplaceAllString(whole, "cursor"), redteam7Cursor.ReplaceAllString(texts[i], "cursor"), "an answered list is whole")
	}
	t.Logf("eight large lists at once: %d answered, %d refused", len(texts)-refused, refused)

	for i, o := range ordinary {
		texts, errs := harness.CallsAtOnce(t, &seen, s, 8, o.tool, o.args)
		for j := range texts {
			require.False(t, errs[j], "%s: %s", o.tool, texts[j])
			assert.Equal(t, redteam7Stable(before[i]), redteam7Stable(texts[j]), "%s %v answered whole, as before", o.tool, o.args)
		}
	}
}

// redteam7Cursor is a page's cursor, sealed afresh for each answer.
var redteam7Cursor = regexp.MustCompile(`cursor "[^"]*"`)

// redteam7Age is an AGE column's value, which moves between calls.
var redteam7Age = regexp.MustCompile(`\b\d+(s|m|h|d)\d*(s|m)?\b`)

// redteam7Stable is an answer without what changes between two calls.
func redteam7Stable(s string) string {
	return redteam7Age.ReplaceAllString(redteam7Cursor.ReplaceAllString(s, "cursor"), "AGE")
}
