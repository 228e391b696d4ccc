package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// servers writes an orchestrator config that spawns the real
// mcp-kubernetes over stdio as the read-only identity. A stdio server
// cannot be told the user of a serve call, so the config says it applies
// the orchestrator's own identity (else such calls are refused).
func servers(t testing.TB) string {
	t.Helper()
	kc, err := kube.WriteKubeconfig("orch-reader.kubeconfig", kube.ReaderToken, "e2e")
	require.NoError(t, err)
	cfg := filepath.Join(t.TempDir(), "servers.yaml")
	body := fmt.Sprintf("servers:\n  - name: kubernetes\n    command: %s\n    args: [--kubeconfig, %s, --audit-log, off]\n    user_calls: as-orchestrator\n", k8sBin, kc)
	require.NoError(t, os.WriteFile(cfg, []byte(body), 0o600))
	return cfg
}

func runAsk(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"ask"}, args...)...)
	cmd.Env = append(append(os.Environ(), "OLLAMA_URL=", "OLLAMA_SECONDARY_URL=", "OLLAMA_FALLBACK_URL="), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), code
}

// TestKubectlPassthrough: a kubectl command line runs through the real
// mcp-kubernetes against the real API server, with no model at all (no
// Ollama endpoint is even configured), and its output comes back as is.
func TestKubectlPassthrough(t *testing.T) {
	cfg := servers(t)
	// Before the reader is granted anything, the API server's refusal
	// comes back in its own words.
	out, stderr, code := runAsk(t, nil, "--config", cfg, "kubectl get namespaces")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `namespaces is forbidden: User "mcp-reader" cannot list resource "namespaces"`)

	require.NoError(t, kube.GrantReader(context.Background()))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(out, "kube-system") {
		time.Sleep(300 * time.Millisecond)
		out, stderr, code = runAsk(t, nil, "--config", cfg, "kubectl get namespaces")
	}
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "NAME")
	assert.Contains(t, out, "kube-system")
	assert.Contains(t, stderr, `-> k8s_kubectl {"command":"get namespaces"}`)

	out, _, code = runAsk(t, nil, "--config", servers(t), "--json", "kubectl delete namespace default")
	require.Equal(t, 0, code)
	var ans struct {
		Text  string `json:"text"`
		Calls []struct {
			Error string `json:"error"`
		} `json:"calls"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ans))
	assert.Contains(t, ans.Text, "delete", "mcp-kubernetes refuses the verb by name")
	assert.NotEmpty(t, ans.Calls[0].Error)
}

// TestAskWithRealOllama sends a question with tools offered to the real
// Ollama (tiny random model: the words are gibberish, the protocol is
// real) through the gateway, and gets an answer back.
func TestAskWithRealOllama(t *testing.T) {
	out, stderr, code := runAsk(t, []string{"OLLAMA_URL=" + second.URL, "OLLAMA_SECONDARY_URL=" + primary.URL},
		"--config", servers(t), "--model", "tiny", "--json", "--max-steps", "2", "which pods run in kube-system?")
	require.Equal(t, 0, code, stderr)
	var ans struct {
		Model    string `json:"model"`
		Endpoint string `json:"endpoint"`
		Steps    int    `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ans), out)
	assert.Equal(t, "tiny", ans.Model)
	assert.Equal(t, "secondary", ans.Endpoint, "routed to the host that has the model, not the primary")
	assert.GreaterOrEqual(t, ans.Steps, 1)

	_, stderr, code = runAsk(t, []string{"OLLAMA_URL=" + second.URL}, "--config", servers(t), "--model", "tiny", "which pods?")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no endpoint can serve tiny: primary has no tiny")
}

// TestConstrainedModeWithRealOllama: a model whose template has no tools
// (Ollama reports no "tools" capability) is asked with a format schema;
// the real Ollama's constrained sampling then makes even random weights
// reply with a well-formed tool call (an offered tool, typed arguments)
// or an answer, and what Ollama's grammar cannot enforce (numeric bounds)
// is caught by the orchestrator's validation before any call.
func TestConstrainedModeWithRealOllama(t *testing.T) {
	out, stderr, code := runAsk(t, []string{"OLLAMA_URL=" + primary.URL},
		"--config", servers(t), "--model", "plain", "--json", "--max-steps", "3", "which pods run in kube-system?")
	require.Equal(t, 0, code, stderr)
	var ans struct {
		Mode  string `json:"mode"`
		Steps int    `json:"steps"`
		Calls []struct {
			Tool  string `json:"tool"`
			Error string `json:"error"`
		} `json:"calls"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ans), out)
	assert.Equal(t, "constrained", ans.Mode)
	for _, c := range ans.Calls {
		assert.True(t, strings.HasPrefix(c.Tool, "k8s_"), c.Tool)
		// Ollama's grammar enforces the JSON shape, types and required
		// fields, but not numeric bounds (seen: max_bytes 916046 against a
		// maximum of 32768); the orchestrator's own validation catches
		// those before the call, and nothing else may fail validation.
		if strings.Contains(c.Error, "do not fit its schema") {
			assert.Regexp(t, `maximum|minimum`, c.Error)
		}
	}
	t.Logf("steps %d, calls %+v", ans.Steps, ans.Calls)
}

// TestChatKeepsTheConversation types into `mcp-orchestrator chat`: a
// kubectl line, a question to the real model (whose request carries the
// earlier turns), /reset and /quit.
func TestChatKeepsTheConversation(t *testing.T) {
	require.NoError(t, kube.GrantReader(context.Background()))
	cmd := exec.Command(binary, "chat", "--config", servers(t), "--model", "tiny", "--max-steps", "1")
	cmd.Env = append(os.Environ(), "OLLAMA_URL="+primary.URL, "OLLAMA_SECONDARY_URL=", "OLLAMA_FALLBACK_URL=")
	cmd.Stdin = strings.NewReader("kubectl get namespaces\nwhat did that show?\n/reset\n/quit\n")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), errb.String())
	assert.Contains(t, out.String(), "kube-system")
	assert.Contains(t, errb.String(), `-> k8s_kubectl {"command":"get namespaces"}`)
	assert.Contains(t, errb.String(), "(new conversation)")
	assert.NotContains(t, errb.String(), "error:")
}

// TestNoReloadWithRealOllama: someone else's request loaded the model
// with num_ctx 1024 (its Modelfile says 512). A request through the
// orchestrator carries the loaded context, so the real Ollama keeps the
// runner it has: /api/ps still says 1024 and the runner was not started
// again. Without the pin, Ollama would reload the model at 512.
func TestNoReloadWithRealOllama(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, primary.CreateTiny(ctx, "pinned", true, "num_predict 1"))
	pu, err := url.Parse(primary.URL)
	require.NoError(t, err)
	c := ollama.NewClient(pu, http.DefaultClient)
	// The harness's own Ollama: other tests list its models exactly.
	t.Cleanup(func() { c.Delete(ctx, &ollama.DeleteRequest{Model: "pinned"}) })
	no := false
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "pinned", Stream: &no, Options: map[string]any{"num_ctx": 1024},
		Messages: []ollama.Message{{Role: "user", Content: "hello"}}}, func(ollama.ChatResponse) error { return nil }))
	loaded := func() int {
		ps, err := c.ListRunning(ctx)
		require.NoError(t, err)
		for _, m := range ps.Models {
			if m.Name == "pinned:latest" {
				return m.ContextLength
			}
		}
		t.Fatalf("pinned is not loaded: %+v", ps.Models)
		return 0
	}
	runners := func() int {
		b, err := os.ReadFile(primary.Proc.Log)
		require.NoError(t, err)
		return strings.Count(string(b), "starting runner")
	}
	require.Equal(t, 1024, loaded())
	starts := runners()

	out, stderr, code := runAsk(t, []string{"OLLAMA_URL=" + primary.URL}, "--config", servers(t), "--model", "pinned", "--json", "hello there")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"endpoint": "primary"`)
	assert.Equal(t, 1024, loaded(), "the orchestrator's request made Ollama reload the model")
	assert.Equal(t, starts, runners(), "no new runner")

	// "clamped" asks for num_ctx 8192 in its Modelfile, above its training
	// context (2048), as a big-VRAM host's 262144 default is above most
	// models': Ollama loads it at 2048 and /api/ps says 2048, but the
	// runner keeps 8192 as its option. Sending 2048 would reload it.
	require.NoError(t, primary.CreateTiny(ctx, "clamped", true, "num_predict 1", "num_ctx 8192"))
	t.Cleanup(func() { c.Delete(ctx, &ollama.DeleteRequest{Model: "clamped"}) })
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "clamped", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: "hello"}}},
		func(ollama.ChatResponse) error { return nil }))
	starts = runners()
	out, stderr, code = runAsk(t, []string{"OLLAMA_URL=" + primary.URL}, "--config", servers(t), "--model", "clamped", "--json", "hello there")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"endpoint": "primary"`)
	assert.Equal(t, starts, runners(), "the orchestrator's request made Ollama reload the clamped model")
}

// TestStreamableHTTPServer: the orchestrator reaches an MCP server over
// streamable HTTP with a bearer token from token_file (the real
// mcp-kubernetes, serving HTTP), and the server's audit names the
// token's user. A wrong token is refused at connect, and says so.
func TestStreamableHTTPServer(t *testing.T) {
	require.NoError(t, kube.GrantReader(context.Background()))
	dir := t.TempDir()
	kc, err := kube.WriteKubeconfig("orch-reader-http.kubeconfig", kube.ReaderToken, "e2e")
	require.NoError(t, err)
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("orch-tok-51c9,orchestrator,sre\n"), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	audit := filepath.Join(dir, "audit.log")
	harness.StartServer(t, &seen, dir, "mcp-kubernetes-http", base, k8sBin, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--kubeconfig", kc, "--auth-tokens", tokens, "--audit-log", audit)

	config := func(token string) string {
		tf := filepath.Join(t.TempDir(), "token")
		require.NoError(t, os.WriteFile(tf, []byte(token+"\n"), 0o600))
		cfg := filepath.Join(t.TempDir(), "servers.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf("servers:\n  - name: kubernetes\n    url: %s/mcp\n    token_file: %s\n", base, tf)), 0o600))
		return cfg
	}
	out, stderr, code := runAsk(t, nil, "--config", config("orch-tok-51c9"), "kubectl get namespaces")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "kube-system")
	var users []any
	for _, l := range harness.AuditLines(t, &seen, audit) {
		if l["tool"] == "k8s_kubectl" {
			users = append(users, l["user"])
		}
	}
	assert.Equal(t, []any{"orchestrator"}, users)

	_, stderr, code = runAsk(t, nil, "--config", config("wrong-token"), "kubectl get namespaces")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, fmt.Sprintf("server kubernetes: %s/mcp refused the token in ", base))
	assert.NotContains(t, stderr, "wrong-token", "the token is not echoed")
	t.Logf("wrong token: %s", stderr)
}
