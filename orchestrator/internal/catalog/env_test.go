package catalog

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childMode, set in a spawned test binary's environment, makes it an MCP
// server over stdio instead of running the tests (see TestMain).
const childMode = "CATALOG_TEST_CHILD"

// TestMain lets a test spawn this very binary as a stdio MCP server whose
// one tool, child_env, answers the environment the child was started with.
func TestMain(m *testing.M) {
	if os.Getenv(childMode) == "env" {
		srv := mcp.NewServer(&mcp.Implementation{Name: "child"}, nil)
		mcp.AddTool(srv, &mcp.Tool{Name: "child_env", Description: "the child's environment"}, func(ctx context.Context, r *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			env := os.Environ()
			sort.Strings(env)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Join(env, "\n")}}}, nil, nil
		})
		if err := srv.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// spawnedEnv connects a config whose one server is this test binary run
// as a child and returns the environment the child saw, one entry per
// variable.
func spawnedEnv(t *testing.T, env []string) map[string]string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	cfg := &Config{Servers: []Server{{Name: "child", Command: self, Env: append([]string{childMode + "=env"}, env...)}}}
	cat, err := Connect(context.Background(), cfg)
	require.NoError(t, err)
	defer cat.Close()
	res, err := cat.Call(context.Background(), "child_env", nil)
	require.NoError(t, err)
	require.False(t, res.IsError, res.Text)
	seen := map[string]string{}
	for _, kv := range strings.Split(res.Text, "\n") {
		k, v, _ := strings.Cut(kv, "=")
		_, dup := seen[k]
		assert.False(t, dup, "%s is in the child's environment twice", k)
		seen[k] = v
	}
	return seen
}

// TestSpawnedServerEnv: the orchestrator's own OPSMCP_* settings (its audit
// log, policy, delegates, tokens…) never reach a spawned server, which
// reads the same variables and would take them as its own; only what the
// server's config entry sets does. Everything else passes through.
func TestSpawnedServerEnv(t *testing.T) {
	t.Setenv("OPSMCP_AUDIT_LOG", "/var/log/orchestrator-audit.jsonl")
	t.Setenv("OPSMCP_POLICY", "/etc/opsmcp/orchestrator-policy.yaml")
	t.Setenv("OPSMCP_DELEGATES", "mallory")
	t.Setenv("OPSMCP_AUTH_TOKENS", "/etc/opsmcp/orchestrator-tokens")
	t.Setenv("OPSMCP_MASK_KEY_FILE", "/etc/opsmcp/mask.key")
	t.Setenv("opsmcp_listen", "0.0.0.0:1") // any case: a child may look it up that way
	t.Setenv("CATALOG_TEST_KEPT", "yes")

	got := spawnedEnv(t, []string{"OPSMCP_POLICY=/etc/opsmcp/child-policy.yaml", "OPSMCP_MASK_KEY_FILE=/etc/opsmcp/mask.key", "CATALOG_TEST_KEPT=set"})

	for k := range got {
		if strings.HasPrefix(strings.ToUpper(k), "OPSMCP_") {
			assert.Contains(t, []string{"OPSMCP_POLICY", "OPSMCP_MASK_KEY_FILE"}, k, "the orchestrator's %s reached the child", k)
		}
	}
	assert.Equal(t, "/etc/opsmcp/child-policy.yaml", got["OPSMCP_POLICY"], "the config's value, not the orchestrator's")
	assert.Equal(t, "/etc/opsmcp/mask.key", got["OPSMCP_MASK_KEY_FILE"], "set for this server by its config")
	assert.Equal(t, "set", got["CATALOG_TEST_KEPT"], "the config's value wins over the inherited one")
	assert.Equal(t, os.Getenv("PATH"), got["PATH"], "other variables pass through")

	got = spawnedEnv(t, nil)
	for k := range got {
		assert.False(t, strings.HasPrefix(strings.ToUpper(k), "OPSMCP_"), "the orchestrator's %s reached the child", k)
	}
	assert.Equal(t, "yes", got["CATALOG_TEST_KEPT"])
}

// TestLoadEnv: a server's env entries are KEY=value for a spawned server;
// anything else is named at load.
func TestLoadEnv(t *testing.T) {
	load := func(servers string) (*Config, error) {
		p := t.TempDir() + "/servers.yaml"
		require.NoError(t, os.WriteFile(p, []byte("servers:\n"+servers), 0o600))
		return Load(p)
	}
	c, err := load("  - {name: k, command: mcp-kubernetes, env: [OPSMCP_POLICY=/etc/p.yaml, KUBECONFIG=]}\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"OPSMCP_POLICY=/etc/p.yaml", "KUBECONFIG="}, c.Servers[0].Env)
	for servers, want := range map[string]string{
		"  - {name: k, command: mcp-kubernetes, env: [OPSMCP_POLICY]}\n":         `server k: env entry "OPSMCP_POLICY": write KEY=value`,
		"  - {name: k, command: mcp-kubernetes, env: [=x]}\n":                    `env entry "=x": write KEY=value`,
		"  - {name: k, url: http://127.0.0.1:1/mcp, env: [OPSMCP_POLICY=p]}\n":   "server k: env is for a spawned (command) server",
		"  - {name: k, command: mcp-kubernetes, env: {OPSMCP_POLICY: p.yaml}}\n": "servers.yaml",
	} {
		_, err := load(servers)
		assert.ErrorContains(t, err, want, servers)
	}
}
