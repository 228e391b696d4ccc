package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hugePs is a host (a fake: the attack is the point) whose /api/ps
// lists models without end, and whose /api/generate streams lines
// without end.
type hugePs struct{}

func (hugePs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/version":
		json.NewEncoder(w).Encode(map[string]string{"version": "0.17.4"})
	case "/api/tags":
		w.Write([]byte(`{"models":[{"name":"tiny:latest","model":"tiny:latest","size":1}]}`))
	case "/api/ps":
		w.Write([]byte(`{"models":[`))
		entry := []byte(`{"name":"m` + strings.Repeat("x", 1000) + `","size":1,"size_vram":1},`)
		for i := 0; i < 40_000 && r.Context().Err() == nil; i++ { // 40 MB
			w.Write(entry)
		}
		w.Write([]byte(`{"name":"last"}]}`))
	case "/api/generate":
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i := 0; i < 1_000_000 && r.Context().Err() == nil; i++ {
			fmt.Fprintf(w, `{"model":"tiny","done":false}`+"\n")
		}
	}
}

// TestPollBodyIsBounded: a host's poll answer over the limit makes the
// host unhealthy with a named error, instead of the orchestrator reading
// (and holding) all of it.
func TestPollBodyIsBounded(t *testing.T) {
	hs := httptest.NewServer(hugePs{})
	t.Cleanup(hs.Close)
	ep, err := NewEndpointCA("primary", hs.URL, 20*time.Second, "")
	require.NoError(t, err)
	g := New([]Endpoint{ep})
	st, _ := g.PollEndpoint(context.Background(), "primary")
	assert.False(t, st.Healthy)
	assert.Contains(t, st.Error, "ps: ")
	assert.Contains(t, st.Error, "over 8 MiB")
	assert.Zero(t, len(st.Loaded), "nothing of the answer kept")
}

// TestPreloadAnswerIsBounded: a preload whose answer streams on without
// end is cut off and fails, instead of running until the timeout.
func TestPreloadAnswerIsBounded(t *testing.T) {
	hs := httptest.NewServer(hugePs{})
	t.Cleanup(hs.Close)
	ep, err := NewEndpointCA("primary", hs.URL, 20*time.Second, "")
	require.NoError(t, err)
	start := time.Now()
	err = New([]Endpoint{ep}).Preload(context.Background(), ep, "tiny", nil, time.Hour)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "preload tiny on primary: more than")
	assert.Less(t, time.Since(start), 10*time.Second)
}
