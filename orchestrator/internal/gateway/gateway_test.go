package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPick(t *testing.T) {
	gpuLoaded := State{Endpoint: "primary", Healthy: true, Pulled: []string{"qwen3:latest", "gemma3:4b"}, Loaded: []Loaded{{Model: "qwen3:latest", SizeVRAM: 5 << 30}}}
	cpuLoaded := State{Endpoint: "fallback", Healthy: true, Pulled: []string{"gemma3:4b", "deepseek-r1:32b"}, Loaded: []Loaded{{Model: "gemma3:4b", SizeVRAM: 0}}}
	secondary := State{Endpoint: "secondary", Healthy: true, Pulled: []string{"gemma3:4b", "qwen2.5-coder:32b"}}
	down := State{Endpoint: "secondary", Healthy: false, Error: "version: connection refused"}
	idleGPU := State{Endpoint: "secondary", Healthy: true, Pulled: []string{"gemma3:4b"}} // its models expired
	cases := []struct {
		name   string
		states []State
		model  string
		want   string
		reason string
		err    string
		memory map[string]bool // what earlier polls saw each host run on
	}{
		{"loaded on GPU wins", []State{gpuLoaded, secondary, cpuLoaded}, "qwen3", "primary", "model loaded on GPU", "", nil},
		{"pulled on a GPU host beats loaded on CPU", []State{gpuLoaded, secondary, cpuLoaded}, "gemma3:4b", "primary", "model pulled on a GPU host", "", nil},
		{"loaded on CPU beats merely pulled", []State{secondary, cpuLoaded}, "gemma3:4b", "fallback", "model loaded on CPU", "", nil},
		{"only pulled: failover order", []State{secondary, {Endpoint: "fallback", Healthy: true, Pulled: []string{"qwen2.5-coder:32b"}}}, "qwen2.5-coder:32b", "secondary", "model pulled", "", nil},
		{"unhealthy hosts are skipped", []State{down, cpuLoaded}, "deepseek-r1:32b", "fallback", "model pulled on a CPU-only host", "", nil},
		{"nobody has it", []State{gpuLoaded, down}, "llama3", "", "", "no endpoint can serve llama3: primary has no llama3; secondary unhealthy (version: connection refused)", nil},
		{"a GPU host stays one after its models expired", []State{cpuLoaded, idleGPU}, "gemma3:4b", "secondary", "model pulled on a GPU host", "", map[string]bool{"secondary": true}},
		{"what a host runs now beats what it ran", []State{cpuLoaded, idleGPU}, "gemma3:4b", "fallback", "model loaded on CPU", "", map[string]bool{"secondary": false}},
		{"a CPU-only host comes after one not seen yet", []State{{Endpoint: "fallback", Healthy: true, Pulled: []string{"gemma3:4b"}}, idleGPU}, "gemma3:4b", "secondary", "model pulled", "", map[string]bool{"fallback": false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := &Gateway{states: map[string]State{}, gpu: c.memory}
			for _, st := range c.states {
				g.eps = append(g.eps, Endpoint{Name: st.Endpoint})
				g.states[st.Endpoint] = st
			}
			got, err := g.Pick(c.model)
			if c.err != "" {
				require.Error(t, err)
				assert.Equal(t, c.err, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got.Endpoint)
			assert.Equal(t, c.reason, got.Reason)
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("OLLAMA_URL", "http://127.0.0.1:11434")
	t.Setenv("OLLAMA_SECONDARY_URL", "")
	t.Setenv("OLLAMA_FALLBACK_URL", "http://127.0.0.1:11435/")
	eps, err := FromEnv(0)
	require.NoError(t, err)
	require.Len(t, eps, 2)
	assert.Equal(t, "primary", eps[0].Name)
	assert.Equal(t, "fallback", eps[1].Name)
	assert.Equal(t, "http://127.0.0.1:11435", eps[1].URL)
	t.Setenv("OLLAMA_URL", "127.0.0.1:11434")
	_, err = FromEnv(0)
	assert.ErrorContains(t, err, "OLLAMA_URL")
	t.Setenv("OLLAMA_URL", "")
	t.Setenv("OLLAMA_FALLBACK_URL", "")
	_, err = FromEnv(0)
	assert.ErrorContains(t, err, "set OLLAMA_URL")
}

func TestSameModel(t *testing.T) {
	assert.True(t, SameModel("qwen3", "qwen3:latest"))
	assert.False(t, SameModel("qwen3:8b", "qwen3:latest"))
}

// TestPollRemembersGPUHosts: a host seen running a model on GPU still
// ranks as a GPU host after the model expired from its /api/ps.
func TestPollRemembersGPUHosts(t *testing.T) {
	var vram atomic.Int64
	var loaded atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/version":
			json.NewEncoder(w).Encode(map[string]string{"version": "0.17.4"})
		case "/api/tags":
			json.NewEncoder(w).Encode(api.ListResponse{Models: []api.ListModelResponse{{Name: "gemma3:4b", Model: "gemma3:4b"}}})
		case "/api/ps":
			var ps api.ProcessResponse
			if loaded.Load() {
				ps.Models = []api.ProcessModelResponse{{Name: "gemma3:4b", Model: "gemma3:4b", SizeVRAM: vram.Load()}}
			}
			json.NewEncoder(w).Encode(ps)
		}
	}))
	defer hs.Close()
	ep, err := NewEndpoint("secondary", hs.URL, 0)
	require.NoError(t, err)
	g := New([]Endpoint{ep})
	reason := func() string {
		g.Poll(context.Background())
		c, err := g.Pick("gemma3:4b")
		require.NoError(t, err)
		return c.Reason
	}
	assert.Equal(t, "model pulled", reason(), "nothing seen yet")
	loaded.Store(true)
	vram.Store(3 << 30)
	assert.Equal(t, "model loaded on GPU", reason())
	loaded.Store(false)
	assert.Equal(t, "model pulled on a GPU host", reason(), "remembered after the model expired")
	loaded.Store(true)
	vram.Store(0)
	assert.Equal(t, "model loaded on CPU", reason())
	loaded.Store(false)
	assert.Equal(t, "model pulled on a CPU-only host", reason())
}
