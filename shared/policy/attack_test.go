package policy

import (
	"fmt"
	"path"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAndPatternsNeverWiden: every value the patterns of a delegated
// grant let through is one both sides allow. A glob kept because it
// matched the other side's glob as a string ("w*" matches "w?", "w[a-z]"
// and "w\\*") widened the other side: a handler listing by Scope showed
// the delegate namespaces it may not read.
func TestAndPatternsNeverWiden(t *testing.T) {
	values := []string{"w", "we", "web", "w*", "w?", "wx", "api", "api-1", "a/b", "ops/infra", "ops/x", "w[a-z]", "wa", "w/x", ""}
	pats := [][]string{{"w*"}, {"w?"}, {"w[a-z]"}, {"w\\*"}, {"*"}, {"web"}, {"w*", "api-*"}, {"ops/*"}, {"*/*"}, {"o*"}, {"[!a]*"}, {"?"}}
	for _, a := range pats {
		for _, b := range pats {
			p := &Policy{Roles: map[string]Role{
				"user":     {Tools: []string{"k8s_*"}, Scopes: map[string][]string{"namespaces": a}},
				"delegate": {Tools: []string{"k8s_*"}, Scopes: map[string][]string{"namespaces": b}},
			}}
			g := p.For([]string{"user"}).And(p.For([]string{"delegate"}))
			got := g.Patterns("k8s_get", "namespaces")
			require.NotNil(t, got, "both sides restrict")
			for _, v := range values {
				if matches(got, v) {
					assert.True(t, g.Allows("k8s_get", "namespaces", v), "user %q and delegate %q gave %q, which lets %q through", a, b, got, v)
				}
			}
		}
	}
}

// TestRoleWithNoTools: a role that lists no tools allows none, and its
// scopes widen no other role's.
func TestRoleWithNoTools(t *testing.T) {
	p, err := Parse([]byte(`roles:
  empty:
    tools: []
  ns:
    scopes:
      namespaces: ["*"]
  web:
    tools: ["k8s_get"]
    scopes:
      namespaces: ["web"]
`))
	require.NoError(t, err)
	for _, roles := range [][]string{{"empty"}, {"ns"}, {"empty", "ns"}} {
		g := p.For(roles)
		assert.False(t, g.AllowsTool("k8s_get"), fmt.Sprint(roles))
		assert.False(t, g.Allows("k8s_get", "namespaces", "web"), fmt.Sprint(roles))
		assert.Equal(t, []string{}, g.Patterns("k8s_get", "namespaces"), fmt.Sprint(roles))
	}
	g := p.For([]string{"web", "ns", "empty"})
	assert.True(t, g.Allows("k8s_get", "namespaces", "web"))
	assert.False(t, g.Allows("k8s_get", "namespaces", "kube-system"), "a role without tools widens nothing")
}

func matches(pats []string, v string) bool {
	for _, p := range pats {
		if ok, _ := path.Match(p, v); ok {
			return true
		}
	}
	return false
}
