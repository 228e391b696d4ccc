package topology

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
)

// loadedHost is a FAKE Ollama host (v0.17.4's wire format for
// /api/version, /api/tags, /api/ps, /api/show and /api/generate) with
// tiny:latest loaded at context 2048 of its 4096 trained; it records the
// options of each generation.
type loadedHost struct {
	mu   sync.Mutex
	opts []map[string]any
}

func (h *loadedHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	enc := json.NewEncoder(w)
	switch r.URL.Path {
	case "/api/version":
		enc.Encode(map[string]string{"version": "0.17.4"})
	case "/api/tags":
		enc.Encode(map[string]any{"models": []map[string]any{{"name": "tiny:latest", "model": "tiny:latest", "size": 100}}})
	case "/api/ps":
		enc.Encode(map[string]any{"models": []map[string]any{{"name": "tiny:latest", "model": "tiny:latest", "size": 200, "size_vram": 0,
			"expires_at": time.Now().Add(time.Hour).Format(time.RFC3339Nano), "context_length": 2048}}})
	case "/api/show":
		enc.Encode(map[string]any{"capabilities": []string{"completion"}, "model_info": map[string]any{"general.architecture": "llama", "llama.context_length": 4096}})
	case "/api/generate":
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		h.mu.Lock()
		o, _ := req["options"].(map[string]any)
		h.opts = append(h.opts, o)
		h.mu.Unlock()
		enc.Encode(map[string]any{"model": "tiny", "response": "o", "done": true, "done_reason": "length"})
	}
}

// TestCheckDoesNotReloadAWarmModel: the check's one-token generation
// carries the runner options a question would (the context the model is
// loaded with, or the lane's), so Ollama does not reload a warm model
// for it.
func TestCheckDoesNotReloadAWarmModel(t *testing.T) {
	h := &loadedHost{}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	ep, err := gateway.NewEndpointCA("primary", hs.URL, 5*time.Second, "")
	require.NoError(t, err)

	r := Run(context.Background(), gateway.New([]gateway.Endpoint{ep}), []string{"tiny"})
	require.True(t, r.OK, r.Checks)
	r = Run(context.Background(), gateway.New([]gateway.Endpoint{ep}), []string{"tiny"},
		warmup.Lane{Name: "ops", Model: "tiny", Options: map[string]any{"num_ctx": 8192, "temperature": 0.1}})
	require.True(t, r.OK, r.Checks)
	h.mu.Lock()
	defer h.mu.Unlock()
	assert.Equal(t, []map[string]any{
		{"num_predict": float64(1), "num_ctx": float64(2048)},
		{"num_predict": float64(1), "num_ctx": float64(8192)},
	}, h.opts)
}
