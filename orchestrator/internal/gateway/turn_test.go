package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeOllama is a scripted Ollama (a fake: no real one can be made to
// fail on cue) with model "coder:latest" loaded at num_ctx ctxLen; its
// chat answers 503 when busy, or streams "hel", "lo" and then, when
// midError, Ollama's mid-stream error line.
type fakeOllama struct {
	busy, midError bool
	ctxLen         int
	mu             sync.Mutex
	chats          []api.ChatRequest
}

func (f *fakeOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	enc := json.NewEncoder(w)
	switch r.URL.Path {
	case "/api/version":
		enc.Encode(map[string]string{"version": "0.17.4"})
	case "/api/tags":
		enc.Encode(api.ListResponse{Models: []api.ListModelResponse{{Name: "coder:latest", Model: "coder:latest"}}})
	case "/api/ps":
		enc.Encode(api.ProcessResponse{Models: []api.ProcessModelResponse{{Name: "coder:latest", Model: "coder:latest", SizeVRAM: 1 << 30, ContextLength: f.ctxLen}}})
	case "/api/show":
		enc.Encode(map[string]any{"capabilities": []string{"completion", "tools"}})
	case "/api/chat":
		var req api.ChatRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.chats = append(f.chats, req)
		f.mu.Unlock()
		if f.busy {
			w.WriteHeader(http.StatusServiceUnavailable)
			enc.Encode(map[string]string{"error": "server busy"})
			return
		}
		enc.Encode(api.ChatResponse{Message: api.Message{Role: "assistant", Content: "hel"}})
		if f.midError {
			enc.Encode(map[string]string{"error": "llama runner process has terminated"})
			return
		}
		enc.Encode(api.ChatResponse{Message: api.Message{Role: "assistant", Content: "lo"}})
		done := api.ChatResponse{Done: true, DoneReason: "stop", Message: api.Message{Role: "assistant"}}
		done.EvalCount = 2
		enc.Encode(done)
	}
}

type obs struct {
	mu                 sync.Mutex
	turns, failovers   []string
	waits, firstTokens int
}

func (o *obs) ModelTurn(model, endpoint string, d time.Duration, resp api.ChatResponse, loaded bool) {
	o.mu.Lock()
	o.turns = append(o.turns, model+"@"+endpoint)
	o.mu.Unlock()
}
func (o *obs) QueueWait(string, string, time.Duration) { o.mu.Lock(); o.waits++; o.mu.Unlock() }
func (o *obs) Failover(from string) {
	o.mu.Lock()
	o.failovers = append(o.failovers, from)
	o.mu.Unlock()
}
func (o *obs) FirstToken(string, time.Duration) { o.mu.Lock(); o.firstTokens++; o.mu.Unlock() }

type sink struct {
	text string
	sent bool
}

func (s *sink) Chunk(r api.ChatResponse) error {
	s.text += r.Message.Content
	s.sent = s.sent || r.Message.Content != ""
	return nil
}
func (s *sink) Sent() bool { return s.sent }

func gatewayOf(t *testing.T, fakes ...*fakeOllama) *Gateway {
	t.Helper()
	var eps []Endpoint
	for i, f := range fakes {
		hs := httptest.NewServer(f)
		t.Cleanup(hs.Close)
		ep, err := NewEndpoint([]string{"primary", "secondary"}[i], hs.URL, 5*time.Second)
		require.NoError(t, err)
		eps = append(eps, ep)
	}
	g := New(eps)
	g.Poll(context.Background())
	return g
}

// TestChatIsOneCall: one Chat runs the turn on the best host with a slot
// of its queue, the host's loaded context pinned, and on a 503 moves the
// same turn to the next host; the caller's request is not changed, the
// slots are free afterwards, and the observer hears the closed set of
// names (the model as the host lists it, endpoint names).
func TestChatIsOneCall(t *testing.T) {
	busy, ok := &fakeOllama{busy: true, ctxLen: 8192}, &fakeOllama{ctxLen: 4096}
	g := gatewayOf(t, busy, ok)
	o := &obs{}
	opts := map[string]any{"temperature": 0.2}
	req := &api.ChatRequest{Model: "coder", Messages: []api.Message{{Role: "user", Content: "hi"}}, Options: opts}
	var sinks []*sink
	reply, err := g.Chat(context.Background(), req, ChatOptions{User: "ann", Observer: o,
		NewSink: func() Sink { s := &sink{}; sinks = append(sinks, s); return s }})
	require.NoError(t, err)
	assert.Equal(t, "secondary", reply.Endpoint)
	assert.Equal(t, "coder", reply.Model, "the host's own name for the model, default tag left out")
	assert.Equal(t, "hello", reply.Response.Message.Content)
	assert.True(t, reply.Sent)
	assert.Equal(t, 2, reply.Response.EvalCount)
	require.Len(t, busy.chats, 1)
	require.Len(t, ok.chats, 1)
	assert.EqualValues(t, 8192, busy.chats[0].Options["num_ctx"])
	assert.EqualValues(t, 4096, ok.chats[0].Options["num_ctx"], "each host its own loaded context")
	assert.Equal(t, map[string]any{"temperature": 0.2}, req.Options, "the caller's request is not changed")
	assert.Nil(t, req.Stream)
	assert.Equal(t, []string{"primary"}, o.failovers)
	assert.Equal(t, []string{"coder@secondary"}, o.turns)
	assert.Equal(t, 2, o.waits, "a slot on each host tried")
	require.Len(t, sinks, 2, "a fresh sink per attempt")
	assert.Equal(t, "hello", sinks[1].text)
	assert.True(t, g.Free("primary") && g.Free("secondary"), "slots released")

	// The primary's circuit is open: the next turn goes straight to the
	// secondary.
	_, err = g.Chat(context.Background(), req, ChatOptions{User: "ann"})
	require.NoError(t, err)
	assert.Len(t, busy.chats, 1)
}

// TestChatNoRetryOnceSent: a host that fails mid-stream after text
// reached the user is not retried elsewhere (the user would see the text
// twice); one that fails before is.
func TestChatNoRetryOnceSent(t *testing.T) {
	bad, ok := &fakeOllama{midError: true}, &fakeOllama{}
	g := gatewayOf(t, bad, ok)
	req := &api.ChatRequest{Model: "coder", Messages: []api.Message{{Role: "user", Content: "hi"}}}
	reply, err := g.Chat(context.Background(), req, ChatOptions{NewSink: func() Sink { return &sink{} }})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "llama runner process has terminated")
	assert.True(t, reply.Sent)
	assert.Empty(t, ok.chats)

	// Not streamed: nothing reached anyone, so the next host answers.
	reply, err = g.Chat(context.Background(), req, ChatOptions{})
	require.NoError(t, err)
	assert.Equal(t, "secondary", reply.Endpoint)
	assert.Equal(t, "hello", reply.Response.Message.Content)
}
