package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const doc = `
roles:
  viewer:
    tools: ["k8s_get", "k8s_describe"]
    scopes:
      namespaces: ["web", "api-*"]
  gitea-reader:
    tools: ["gitea_*"]
    scopes:
      repos: ["ops/*"]
  sre:
    tools: ["*"]
`

func TestGrants(t *testing.T) {
	p, err := Parse([]byte(doc))
	require.NoError(t, err)
	cases := []struct {
		roles           []string
		tool, key, val  string
		tool_ok, val_ok bool
	}{
		{[]string{"viewer"}, "k8s_get", "namespaces", "web", true, true},
		{[]string{"viewer"}, "k8s_get", "namespaces", "api-v2", true, true},
		{[]string{"viewer"}, "k8s_get", "namespaces", "kube-system", true, false},
		{[]string{"viewer"}, "k8s_logs", "namespaces", "web", false, false},
		// A Gitea role does not widen the viewer's namespaces.
		{[]string{"viewer", "gitea-reader"}, "k8s_get", "namespaces", "kube-system", true, false},
		{[]string{"viewer", "gitea-reader"}, "gitea_file", "repos", "ops/infra", true, true},
		{[]string{"viewer", "sre"}, "k8s_get", "namespaces", "kube-system", true, true},
		{[]string{"unknown"}, "k8s_get", "namespaces", "web", false, false},
		{nil, "k8s_get", "namespaces", "web", false, false},
	}
	for _, c := range cases {
		g := p.For(c.roles)
		assert.Equal(t, c.tool_ok, g.AllowsTool(c.tool), "%v %s", c.roles, c.tool)
		assert.Equal(t, c.val_ok, g.Allows(c.tool, c.key, c.val), "%v %s %s", c.roles, c.tool, c.val)
	}
	open := OpenPolicy().For(nil)
	assert.True(t, open.AllowsTool("anything"))
	assert.Nil(t, open.Patterns("k8s_get", "namespaces"))
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"roles: {}", "roles:\n  a:\n    tools: ['[']", "roles:\n  a:\n    tool: ['*']"} {
		_, err := Parse([]byte(bad))
		assert.Error(t, err, bad)
	}
}
