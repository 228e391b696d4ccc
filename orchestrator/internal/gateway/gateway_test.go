package gateway

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPick(t *testing.T) {
	gpuLoaded := State{Endpoint: "primary", Healthy: true, Pulled: []string{"qwen3:latest", "gemma3:4b"}, Loaded: []Loaded{{Model: "qwen3:latest", SizeVRAM: 5 << 30}}}
	cpuLoaded := State{Endpoint: "fallback", Healthy: true, Pulled: []string{"gemma3:4b", "deepseek-r1:32b"}, Loaded: []Loaded{{Model: "gemma3:4b", SizeVRAM: 0}}}
	secondary := State{Endpoint: "secondary", Healthy: true, Pulled: []string{"gemma3:4b", "qwen2.5-coder:32b"}}
	down := State{Endpoint: "secondary", Healthy: false, Error: "version: connection refused"}
	cases := []struct {
		name   string
		states []State
		model  string
		want   string
		reason string
		err    string
	}{
		{"loaded on GPU wins", []State{gpuLoaded, secondary, cpuLoaded}, "qwen3", "primary", "model loaded on GPU", ""},
		{"pulled on a GPU host beats loaded on CPU", []State{gpuLoaded, secondary, cpuLoaded}, "gemma3:4b", "primary", "model pulled on a GPU host", ""},
		{"loaded on CPU beats merely pulled", []State{secondary, cpuLoaded}, "gemma3:4b", "fallback", "model loaded on CPU", ""},
		{"only pulled: failover order", []State{secondary, {Endpoint: "fallback", Healthy: true, Pulled: []string{"qwen2.5-coder:32b"}}}, "qwen2.5-coder:32b", "secondary", "model pulled", ""},
		{"unhealthy hosts are skipped", []State{down, cpuLoaded}, "deepseek-r1:32b", "fallback", "model pulled", ""},
		{"nobody has it", []State{gpuLoaded, down}, "llama3", "", "", "no endpoint can serve llama3: primary has no llama3; secondary unhealthy (version: connection refused)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := &Gateway{states: map[string]State{}}
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
