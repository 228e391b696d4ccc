package orchestrator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var seen harness.Recorder

const serveToken = "orch-tok-5c1e9b"

// startServe runs `mcp-orchestrator serve` with a token file, the real
// mcp-kubernetes behind it and the real Ollama with the tiny models.
func startServe(t testing.TB, extra ...string) (string, string) {
	t.Helper()
	return startServeOn(t, primary.URL, "", extra...)
}

// startServeOn is startServe with the given primary and secondary Ollama.
func startServeOn(t testing.TB, primaryURL, secondaryURL string, extra ...string) (string, string) {
	t.Helper()
	require.NoError(t, kube.GrantReader(context.Background()))
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte(serveToken+",dana,sre\n"), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	auditPath := filepath.Join(dir, "audit.log")
	t.Setenv("OLLAMA_URL", primaryURL)
	t.Setenv("OLLAMA_SECONDARY_URL", secondaryURL)
	t.Setenv("OLLAMA_FALLBACK_URL", "")
	args := append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--config", servers(t), "--model", "tiny",
		"--auth-tokens", tokens, "--audit-log", auditPath}, extra...)
	harness.StartServer(t, &seen, dir, "mcp-orchestrator", base, binary, args...)
	return base, auditPath
}

// TestOllamaClient drives /api/chat with Ollama's own Go client, streaming
// and not: a kubectl line answers from the real API server, a question
// goes to the real model.
func TestOllamaClient(t *testing.T) {
	base, auditPath := startServe(t)
	u, _ := url.Parse(base)
	c := ollama.NewClient(u, &http.Client{Transport: harness.Bearer{Token: serveToken}})
	ctx := context.Background()

	no := false
	var got ollama.ChatResponse
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "tiny", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: "kubectl get namespaces"}}},
		func(r ollama.ChatResponse) error { got = r; return nil }))
	assert.Contains(t, got.Message.Content, "kube-system")
	assert.True(t, got.Done)

	var chunks []ollama.ChatResponse
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "tiny", Messages: []ollama.Message{{Role: "user", Content: "kubectl get namespaces"}}},
		func(r ollama.ChatResponse) error { chunks = append(chunks, r); return nil }))
	require.GreaterOrEqual(t, len(chunks), 3)
	assert.Contains(t, chunks[0].Message.Thinking, `tool k8s_kubectl {"command":"get namespaces"}`, "the tool step streams first, as progress")
	var streamed strings.Builder
	for _, ch := range chunks[1 : len(chunks)-1] {
		assert.False(t, ch.Done)
		streamed.WriteString(ch.Message.Content)
	}
	assert.Contains(t, streamed.String(), "kube-system", "the answer streams before the done chunk")
	assert.True(t, chunks[len(chunks)-1].Done)

	// The real model's answer streams too: content chunks, then done.
	var modelChunks []ollama.ChatResponse
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "tiny", Messages: []ollama.Message{{Role: "user", Content: "hello there"}}},
		func(r ollama.ChatResponse) error { modelChunks = append(modelChunks, r); return nil }))
	require.NotEmpty(t, modelChunks)
	assert.True(t, modelChunks[len(modelChunks)-1].Done)

	var answer ollama.ChatResponse
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "tiny", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: "which pods run in kube-system?"}}},
		func(r ollama.ChatResponse) error { answer = r; return nil }))
	assert.True(t, answer.Done, "the real model answered through the gateway")

	// A client's options: num_predict passes (3 tokens, the audit's last
	// model_turn); num_ctx does not (it would reload the model at 64).
	require.NoError(t, c.Chat(ctx, &ollama.ChatRequest{Model: "tiny", Stream: &no, Options: map[string]any{"num_predict": 3, "num_ctx": 64},
		Messages: []ollama.Message{{Role: "user", Content: "hello there"}}}, func(r ollama.ChatResponse) error { got = r; return nil }))
	assert.Equal(t, 3, got.EvalCount, "the done response carries Ollama's counts")
	assert.Equal(t, "length", got.DoneReason)
	assert.Greater(t, got.PromptEvalCount, 20)
	var last any
	for _, l := range harness.AuditLines(t, &seen, auditPath) {
		if l["tool"] == "model_turn" {
			last = l["args"].(map[string]any)["output_tokens"]
		}
	}
	assert.Equal(t, float64(3), last)
	ps, err := ollama.NewClient(mustURL(t, primary.URL), http.DefaultClient).ListRunning(ctx)
	require.NoError(t, err)
	ctxLen := -1
	for _, m := range ps.Models {
		if m.Name == "tiny:latest" {
			ctxLen = m.ContextLength
		}
	}
	assert.Equal(t, 512, ctxLen, "tiny is loaded at its Modelfile's num_ctx, not the client's 64")

	tags, err := c.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, m := range tags.Models {
		names = append(names, m.Name)
	}
	assert.Equal(t, []string{"plain:latest", "tiny:latest"}, names)

	lines := harness.AuditLines(t, &seen, auditPath)
	var tools []string
	for _, l := range lines {
		assert.Equal(t, "dana", l["user"])
		tools = append(tools, fmt.Sprint(l["tool"]))
	}
	assert.Contains(t, tools, "api/chat")
	assert.Contains(t, tools, "k8s_kubectl")
	assert.Contains(t, tools, "model_turn", "every model step is audited")
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

// TestOpenAIClient drives /v1 with the official OpenAI Go client.
func TestOpenAIClient(t *testing.T) {
	base, auditPath := startServe(t)
	c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(serveToken))
	ctx := context.Background()
	res, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("kubectl get namespaces")}})
	require.NoError(t, err)
	require.Len(t, res.Choices, 1)
	assert.Contains(t, res.Choices[0].Message.Content, "kube-system")

	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("kubectl get namespaces")}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err())
	require.Len(t, acc.Choices, 1)
	assert.Contains(t, acc.Choices[0].Message.Content, "kube-system")
	assert.Equal(t, "stop", acc.Choices[0].FinishReason)

	// Sampling options reach Ollama: max_tokens becomes num_predict, so
	// the real model stops after 2 tokens (its eval_count, in the audit's
	// model_turn). Runner options never pass (TestNoReloadWithRealOllama).
	res, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tiny", MaxTokens: openai.Int(2), Seed: openai.Int(7), Temperature: openai.Float(0.5),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello there")}})
	require.NoError(t, err)
	assert.EqualValues(t, 2, res.Usage.CompletionTokens, "usage is Ollama's count")
	assert.Equal(t, "length", res.Choices[0].FinishReason, "max_tokens ended it")
	assert.Greater(t, res.Usage.PromptTokens, int64(20), "the system prompt and the question")
	assert.Equal(t, res.Usage.PromptTokens+2, res.Usage.TotalTokens)
	var outs []any
	for _, l := range harness.AuditLines(t, &seen, auditPath) {
		if l["tool"] == "model_turn" {
			outs = append(outs, l["args"].(map[string]any)["output_tokens"])
		}
	}
	assert.Equal(t, []any{float64(2)}, outs)

	// Streaming, with usage asked for: OpenAI's last chunk carries it.
	stream = c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "tiny", MaxTokens: openai.Int(2),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello there")}})
	acc = openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err())
	require.Len(t, acc.Choices, 1)
	assert.Equal(t, "length", acc.Choices[0].FinishReason)
	assert.EqualValues(t, 2, acc.Usage.CompletionTokens)
	assert.Greater(t, acc.Usage.PromptTokens, int64(20))

	models, err := c.Models.List(ctx)
	require.NoError(t, err)
	var ids []string
	for _, m := range models.Data {
		ids = append(ids, m.ID)
	}
	assert.Equal(t, []string{"plain:latest", "tiny:latest"}, ids)

	bad := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
	_, err = bad.Models.List(ctx)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "401"), err.Error())
}

// TestServePolicyRateLimitMetrics: a viewer whose roles leave out
// k8s_kubectl is refused a kubectl line; a user over the rate limit gets
// 429; /metrics counts model turns, tool calls and reloads avoided.
func TestServePolicyRateLimitMetrics(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte(serveToken+",dana,sre\nviewer-tok-8e2a,vic,viewer\n"), 0o600))
	pol := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(pol, []byte("roles:\n  sre:\n    tools: [\"*\"]\n  viewer:\n    tools: [\"k8s_get\", \"k8s_describe\"]\n"), 0o600))
	base, _ := startServe(t, "--auth-tokens", tokens, "--policy", pol, "--rate-limit", "12")
	u, _ := url.Parse(base)
	no := false
	ask := func(token, q string) (ollama.ChatResponse, error) {
		c := ollama.NewClient(u, &http.Client{Transport: harness.Bearer{Token: token, Next: http.DefaultTransport}})
		var got ollama.ChatResponse
		err := c.Chat(context.Background(), &ollama.ChatRequest{Model: "tiny", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: q}}},
			func(r ollama.ChatResponse) error { got = r; return nil })
		return got, err
	}
	_, err := ask("viewer-tok-8e2a", "kubectl get namespaces")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "may not run kubectl commands")

	r, err := ask(serveToken, "kubectl get namespaces")
	require.NoError(t, err)
	assert.Contains(t, r.Message.Content, "kube-system")
	_, err = ask(serveToken, "which pods run in kube-system?")
	require.NoError(t, err)
	// --rate-limit 12 per minute allows a burst of 2 per user: dana has
	// used it; vic has not.
	limited := false
	for i := 0; i < 3 && !limited; i++ {
		_, err = ask(serveToken, "kubectl get namespaces")
		limited = err != nil && strings.Contains(err.Error(), "rate limited: user dana")
	}
	assert.True(t, limited, "dana hits the per-user limit")

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := string(body)
	assert.Contains(t, m, `opsmcp_orchestrator_model_turn_seconds_count{host="primary",model="tiny"}`)
	assert.Contains(t, m, `opsmcp_tool_calls_total{outcome="ok",server="mcp-orchestrator",tool="k8s_kubectl"}`)
	assert.Contains(t, m, `opsmcp_orchestrator_queue_wait_seconds_count{host="primary",lane="none"}`)
	assert.Contains(t, m, `opsmcp_orchestrator_reloads_avoided_total{model="tiny"}`)
}

// TestReadyz: the orchestrator is ready while one Ollama host answers, and
// says which hosts are down without naming their errors (the probe is
// unauthenticated); with no host up it is not ready.
func TestReadyz(t *testing.T) {
	deadPort, err := harness.FreePort()
	require.NoError(t, err)
	dead := fmt.Sprintf("http://127.0.0.1:%d", deadPort)
	get := func(base string) (int, string) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base, _ := startServeOn(t, primary.URL, dead)
	var code int
	var body string
	require.Eventually(t, func() bool { code, body = get(base); return strings.Contains(body, "secondary") }, 20*time.Second, 100*time.Millisecond)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "primary: ok\nsecondary: down\n", body)
	assert.NotContains(t, body, "127.0.0.1")

	base, _ = startServeOn(t, dead, "")
	require.Eventually(t, func() bool { code, body = get(base); return strings.Contains(body, "primary") }, 20*time.Second, 100*time.Millisecond)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "primary: down\n", body)
}
