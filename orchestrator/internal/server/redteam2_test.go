package server

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

// TestModelListsDoNotFanOut: GET /api/tags and /v1/models polled every
// Ollama host afresh on each request, and neither is rate-limited, so a
// client looping on them turned each of its requests into a probe of
// every host. A list now answers from states polled within the last few
// seconds.
func TestModelListsDoNotFanOut(t *testing.T) {
	var probes atomic.Int64
	ollama := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/tags":
			w.Write([]byte(`{"models":[{"name":"tiny:latest","model":"tiny:latest"}]}`))
		case "/api/ps":
			w.Write([]byte(`{"models":[]}`))
		default:
			w.Write([]byte(`{"version":"0.17.4"}`))
		}
	}))
	t.Cleanup(ollama.Close)
	ep, err := gateway.NewEndpoint("primary", ollama.URL, 0)
	require.NoError(t, err)
	s := &Server{Gateway: gateway.New([]gateway.Endpoint{ep}), Agent: &agent.Agent{}}
	for i := 0; i < 50; i++ {
		for _, path := range []string{"/api/tags", "/v1/models"} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, path, nil)
			if path == "/api/tags" {
				s.tags(w, r)
			} else {
				s.openaiModels(w, r)
			}
			require.Equal(t, http.StatusOK, w.Code)
			assert.Contains(t, w.Body.String(), "tiny")
		}
	}
	assert.LessOrEqual(t, probes.Load(), int64(10), "100 model lists probed the Ollama host %d times", probes.Load())
}
