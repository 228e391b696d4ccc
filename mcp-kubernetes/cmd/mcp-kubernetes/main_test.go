package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyNamespaces(t *testing.T) {
	write := func(doc string) string {
		p := filepath.Join(t.TempDir(), "policy.yaml")
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o600))
		return p
	}
	_, all, err := policyNamespaces("")
	require.NoError(t, err)
	assert.True(t, all, "no policy: every namespace is served")

	pats, all, err := policyNamespaces(write(`roles:
  viewer:
    tools: ["k8s_get", "k8s_kubectl"]
    scopes: {namespaces: ["web", "api-*"]}
  logs:
    tools: ["k8s_logs"]
    scopes: {namespaces: ["payments"]}
  gitea:
    tools: ["gitea_*"]
`))
	require.NoError(t, err)
	assert.False(t, all, "the unrestricted role has no Kubernetes tool")
	assert.ElementsMatch(t, []string{"web", "api-*", "payments"}, pats)

	_, all, err = policyNamespaces(write(`roles:
  viewer:
    tools: ["k8s_get"]
    scopes: {namespaces: ["web"]}
  sre:
    tools: ["*"]
`))
	require.NoError(t, err)
	assert.True(t, all, "a role with every tool and no namespace scope")
}
