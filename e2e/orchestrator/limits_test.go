package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	ollama "github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// scriptedOllama is a FAKE Ollama, and says so (version
// "0.0.0-scripted-fake"): the tiny random model cannot be made to name
// particular tools, so where a test needs a model turn that calls
// particular tools (or hundreds of them), this scripts the turn. It
// speaks Ollama's wire format with Ollama's own types, lists one model,
// "tiny", with tool support, and answers each /api/chat with what turn
// returns for it, recording every request. The MCP servers behind the
// orchestrator stay real.
type scriptedOllama struct {
	URL      string
	mu       sync.Mutex
	requests []ollama.ChatRequest
	turn     func(n int, req ollama.ChatRequest) ollama.Message
}

func newScriptedOllama(t *testing.T, turn func(n int, req ollama.ChatRequest) ollama.Message) *scriptedOllama {
	t.Helper()
	f := &scriptedOllama{turn: turn}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	f.URL = hs.URL
	return f
}

func (f *scriptedOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	enc := json.NewEncoder(w)
	switch r.URL.Path {
	case "/api/version":
		enc.Encode(map[string]string{"version": "0.0.0-scripted-fake"})
	case "/api/tags":
		enc.Encode(ollama.ListResponse{Models: []ollama.ListModelResponse{{Name: "tiny:latest", Model: "tiny:latest"}}})
	case "/api/ps":
		enc.Encode(ollama.ProcessResponse{})
	case "/api/show":
		enc.Encode(map[string]any{"capabilities": []string{"completion", "tools"}, "parameters": "num_ctx 32768"})
	case "/api/chat":
		var req ollama.ChatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		n := len(f.requests)
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		msg := f.turn(n, req)
		msg.Role = "assistant"
		done := ollama.ChatResponse{Model: req.Model, Message: msg, Done: true, DoneReason: "stop"}
		if req.Stream == nil || *req.Stream {
			enc.Encode(ollama.ChatResponse{Model: req.Model, Message: msg})
			done.Message = ollama.Message{Role: "assistant"}
		}
		enc.Encode(done)
	default:
		http.NotFound(w, r)
	}
}

func (f *scriptedOllama) chats() []ollama.ChatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ollama.ChatRequest(nil), f.requests...)
}

// toolCalls is one model turn naming each of names.
func toolCalls(names []string, args map[string]any) ollama.Message {
	var m ollama.Message
	for i, n := range names {
		a := ollama.NewToolCallFunctionArguments()
		for k, v := range args {
			a.Set(k, v)
		}
		m.ToolCalls = append(m.ToolCalls, ollama.ToolCall{ID: fmt.Sprintf("call_%d", i), Function: ollama.ToolCallFunction{Index: i, Name: n, Arguments: a}})
	}
	return m
}

// metricSeries counts the time series /metrics exposes.
func metricSeries(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

// TestModelOutputHasLimits (issue 23 #4): through serve, a model turn
// naming 200 tools that were never offered runs none of them (the first
// 8, the per-turn cap, are refused as "unoffered", the rest cut, and the
// model is told), and /metrics gains no series from a second and third
// such turn with 200 other names each: every label is from a closed set.
// A turn of 200 calls of a real tool runs 8 of them on the real
// mcp-kubernetes.
func TestModelOutputHasLimits(t *testing.T) {
	var mu sync.Mutex
	script := map[string]ollama.Message{} // question -> first turn
	fake := newScriptedOllama(t, func(n int, req ollama.ChatRequest) ollama.Message {
		last := req.Messages[len(req.Messages)-1]
		if last.Role == "user" && !strings.HasPrefix(last.Content, "Tool call limit") {
			mu.Lock()
			defer mu.Unlock()
			if m, ok := script[last.Content]; ok {
				return m
			}
		}
		return ollama.Message{Content: "done"}
	})
	for _, prefix := range []string{"made_up", "other_name", "x"} {
		var names []string
		for i := range 200 {
			names = append(names, fmt.Sprintf("%s_%d", prefix, i))
		}
		script["get the pods objects ("+prefix+")"] = toolCalls(names, map[string]any{"resource": "pods"})
	}
	script["get the pods objects (real)"] = toolCalls(func() []string {
		out := make([]string, 200)
		for i := range out {
			out[i] = "k8s_get"
		}
		return out
	}(), map[string]any{"resource": "pods", "namespace": "kube-system"})

	base, auditPath := startServeOn(t, fake.URL, "", "--rate-limit", "0")
	u := mustURL(t, base)
	c := ollama.NewClient(u, &http.Client{Transport: harness.Bearer{Token: serveToken}})
	ask := func(q string) ollama.ChatResponse {
		no := false
		var got ollama.ChatResponse
		require.NoError(t, c.Chat(context.Background(), &ollama.ChatRequest{Model: "tiny", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: q}}},
			func(r ollama.ChatResponse) error { got = r; return nil }))
		return got
	}
	ans := ask("get the pods objects (made_up)")
	assert.Equal(t, "done", ans.Message.Content)
	reqs := fake.chats()
	require.Len(t, reqs, 2)
	second := reqs[1].Messages
	var refused int
	for _, m := range second {
		if m.Role == "tool" {
			refused++
			assert.Contains(t, m.Content, "was not offered")
			assert.Contains(t, m.Content, "error of unoffered")
		}
	}
	assert.Equal(t, 8, refused, "the per-turn cap: 8 answered, the rest cut")
	assert.Contains(t, second[len(second)-1].Content, "192 of the 200 tool calls of that turn were not run (at most 8 per turn and 32 per answer")

	series := metricSeries(t, base)
	ask("get the pods objects (other_name)")
	ask("get the pods objects (x)")
	assert.Equal(t, series, metricSeries(t, base), "/metrics grew with made-up tool names")
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `tool="unoffered"`)
	assert.NotContains(t, string(body), "made_up_")
	assert.NotContains(t, string(body), "other_name")

	// 200 calls of a real tool: 8 reach the real mcp-kubernetes.
	ask("get the pods objects (real)")
	var gets, unoffered int
	for _, l := range harness.AuditLines(t, &seen, auditPath) {
		switch l["tool"] {
		case "k8s_get":
			gets++
		case "unoffered":
			unoffered++
		}
	}
	assert.Equal(t, 8, gets, "only the per-turn cap of calls ran")
	assert.Equal(t, 24, unoffered, "three turns of made-up names, 8 refused each")
}
