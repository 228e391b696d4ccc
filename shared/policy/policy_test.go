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

func TestUnknownScopeStopsTheServer(t *testing.T) {
	_, err := Parse([]byte("roles:\n  dev:\n    tools: [\"k8s_*\"]\n    scopes:\n      namespace: [web]\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown scope "namespace"`)
	assert.Contains(t, err.Error(), `"dev"`)
}

func TestToolPatternsMustMatch(t *testing.T) {
	k8s := []string{"k8s_get", "k8s_logs", "k8s_kubectl"}
	cases := []struct {
		pattern string
		ok      bool
	}{
		{"*", true}, {"k8s_*", true}, {"k8s_get", true}, {"k8s_?et", true},
		{"gitea_*", true}, {"gitea_serch", true}, // another server judges these
		{"model", true},
		{"k8s_gte", false}, {"k8s_secrets*", false}, {"kube_*", false}, {"logz_*", false},
	}
	for _, c := range cases {
		p, err := Parse([]byte("roles:\n  r:\n    tools: [\"" + c.pattern + "\"]\n"))
		require.NoError(t, err)
		err = p.CheckTools(k8s)
		if c.ok {
			assert.NoError(t, err, c.pattern)
		} else {
			require.Error(t, err, c.pattern)
			assert.Contains(t, err.Error(), c.pattern)
		}
	}
	// mcp-gitea judges the gitea patterns.
	p, err := Parse([]byte("roles:\n  r:\n    tools: [\"gitea_serch\"]\n"))
	require.NoError(t, err)
	assert.Error(t, p.CheckTools([]string{"gitea_search", "gitea_file"}))
}

func TestAndIsNoWiderThanEither(t *testing.T) {
	p, err := Parse([]byte(`roles:
  web:
    tools: ["k8s_*"]
    scopes:
      namespaces: ["web", "api"]
  orch:
    tools: ["k8s_get", "k8s_logs"]
    scopes:
      namespaces: ["web", "staging"]
`))
	require.NoError(t, err)
	g := p.For([]string{"web"}).And(p.For([]string{"orch"}))
	assert.True(t, g.AllowsTool("k8s_get"))
	assert.False(t, g.AllowsTool("k8s_events"), "the delegate may not")
	assert.True(t, g.Allows("k8s_get", "namespaces", "web"))
	assert.False(t, g.Allows("k8s_get", "namespaces", "api"), "the delegate may not")
	assert.False(t, g.Allows("k8s_get", "namespaces", "staging"), "the user may not")
	assert.Equal(t, []string{"web"}, g.Patterns("k8s_get", "namespaces"))
	assert.Contains(t, g.Describe(), "within")
}
