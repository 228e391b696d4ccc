package orchestrator_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	ollama "github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// Secrets planted for TestServeAuditHasNoPlantedSecret: one in the
// question, one in a ConfigMap a tool reads.
const (
	questionSecret = "Qz7-host-question-pw-4b1e"
	resultSecret   = "Rk9-host-configmap-pw-8c2d"
)

// echoing is a scripted model that puts into tool call arguments what it
// was given, as a model can: first the question's password (beside a
// read of the ConfigMap), then every tool result it got, verbatim.
func echoing(n int, req ollama.ChatRequest) ollama.Message {
	var results []string
	for _, m := range req.Messages {
		if m.Role == "tool" {
			results = append(results, m.Content)
		}
	}
	switch len(results) {
	case 0:
		read := toolCalls([]string{"k8s_kubectl"}, map[string]any{"command": "get configmap host-planted -n default -o yaml"})
		echo := toolCalls([]string{"k8s_kubectl"}, map[string]any{"command": "get pods -n default --password=" + questionSecret})
		echo.ToolCalls[0].ID, echo.ToolCalls[0].Function.Index = "call_q", 1
		read.ToolCalls = append(read.ToolCalls, echo.ToolCalls...)
		return read
	case 2:
		return toolCalls([]string{"k8s_kubectl"}, map[string]any{"command": "get configmap " + strings.Join(results, " ")})
	}
	return ollama.Message{Content: "done"}
}

// TestServeAuditHasNoPlantedSecret (issue 14): serve's audit log holds no
// planted password, neither one from the question that the model copied
// into a tool call, nor one a tool read (a ConfigMap on the real API
// server) and the model copied on; the lines that carried them say they
// were masked.
func TestServeAuditHasNoPlantedSecret(t *testing.T) {
	ctx := context.Background()
	cs, err := kube.Admin()
	require.NoError(t, err)
	_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "host-planted"},
		Data: map[string]string{"DB_PASSWORD": resultSecret, "app.ini": "[db]\npassword = " + resultSecret + "\n"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	fake := newScriptedOllama(t, echoing)
	base, auditPath := hostServe(t, fake.URL)
	c := ollama.NewClient(mustURL(t, base), http.DefaultClient)
	no := false
	var ans ollama.ChatResponse
	question := "run kubectl to read configmap host-planted; the database password=" + questionSecret
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "tiny", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: question}}},
		func(r ollama.ChatResponse) error { ans = r; return nil }))
	assert.Equal(t, "done", ans.Message.Content)
	require.Len(t, fake.chats(), 3, "read and echo the question, echo the results, answer")

	lines := harness.AuditLines(t, &seen, auditPath)
	var kubectl []map[string]any
	for _, l := range lines {
		if l["tool"] == "k8s_kubectl" {
			kubectl = append(kubectl, l)
		}
	}
	require.Len(t, kubectl, 3, "every tool call is audited")
	masked := 0
	for _, l := range kubectl {
		if n, _ := l["masked"].(float64); n > 0 {
			masked++
		}
	}
	assert.GreaterOrEqual(t, masked, 1, "the line with the question's password says it masked it")
	harness.AssertNoSecrets(t, &seen, []string{questionSecret, resultSecret}, 1)
}

// TestAuditRequired (issue 13): over HTTP a call whose audit line cannot
// be written (the audit log is /dev/full) fails and says so, on a real
// server and on serve; --audit-required=false lets it through.
func TestAuditRequired(t *testing.T) {
	require.NoError(t, kube.GrantReader(context.Background()))
	dir := t.TempDir()
	kc, err := kube.WriteKubeconfig("host-audit.kubeconfig", kube.ReaderToken, "e2e")
	require.NoError(t, err)
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("audit-tok-61f0,dana,sre\n"), 0o600))
	for _, c := range []struct {
		extra    []string
		withheld bool
	}{{nil, true}, {[]string{"--audit-required=false"}, false}} {
		port, err := harness.FreePort()
		require.NoError(t, err)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		harness.StartServer(t, &seen, dir, "mcp-kubernetes-audit", base, k8sBin, append([]string{"--transport", "http",
			"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", kc, "--auth-tokens", tokens, "--audit-log", "/dev/full"}, c.extra...)...)
		s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: harness.HTTPClient("audit-tok-61f0"), MaxRetries: -1})
		r := harness.Call(t, &seen, s, "k8s_kubectl", map[string]any{"command": "get namespaces"})
		assert.Equal(t, c.withheld, r.IsError, "%v: %s", c.extra, r.Text)
		if c.withheld {
			assert.Contains(t, r.Text, "audit record could not be written, so its result is withheld (--audit-required)")
			assert.NotContains(t, r.Text, "kube-system")
		} else {
			assert.Contains(t, r.Text, "kube-system")
		}

		base, _ = hostServe(t, primary.URL, append([]string{"--audit-log", "/dev/full"}, c.extra...)...)
		code, body := send(t, base, rawReq{method: "POST", path: "/api/chat", contentType: "application/json", body: chatBody("kubectl get namespaces")})
		if c.withheld {
			assert.Equal(t, http.StatusInternalServerError, code, body)
			assert.Contains(t, body, "answer withheld: its audit record could not be written (--audit-required)")
			assert.NotContains(t, body, "kube-system")
		} else {
			assert.Equal(t, http.StatusOK, code, body)
			assert.Contains(t, body, "kube-system")
		}
	}
}
