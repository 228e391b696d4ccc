package topology

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
)

// TestAddLanes: per lane and host, warm or cold as the check found it,
// whether the warm-up keeps it warm now, and why not when it should be.
func TestAddLanes(t *testing.T) {
	r := Report{Checks: []Check{
		{Endpoint: "gpu1", Version: "0.17.4", Models: []string{"qwen3:8b", "coder:latest"}, Warm: []Warm{{Model: "qwen3:8b", Processor: "gpu"}}},
		{Endpoint: "gpu2", Version: "0.17.4", Models: []string{"qwen3:8b"}},
		{Endpoint: "down"},
	}}
	lanes := []warmup.Lane{{Name: "ops", Model: "qwen3:8b"}, {Name: "code", Model: "coder", Hosts: []string{"gpu1", "gpu2"}}}
	set, err := warmup.Config{KeepAlive: time.Hour, Lanes: []string{"ops"}, Hours: []string{"07:00-19:00"}, Timezone: "UTC"}.Parse()
	require.NoError(t, err)
	r.AddLanes(lanes, &set, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	assert.Equal(t, []LaneWarmth{
		{Lane: "ops", Model: "qwen3:8b", Host: "gpu1", Warm: true, Processor: "gpu", KeptWarm: true},
		{Lane: "ops", Model: "qwen3:8b", Host: "gpu2", KeptWarm: true, Note: "the warm-up should keep it loaded here: see the orchestrator's warm-up log and opsmcp_orchestrator_warmup_total"},
		{Lane: "ops", Model: "qwen3:8b", Host: "down", KeptWarm: true, Note: "host not reachable"},
		{Lane: "code", Model: "coder", Host: "gpu1"},
		{Lane: "code", Model: "coder", Host: "gpu2", Note: "model not pulled here"},
	}, r.Lanes)
	assert.Contains(t, r.Text(), "lane ops: qwen3:8b on gpu1: warm on gpu (kept warm now)\n")

	// Outside the hours nothing is kept warm.
	r.Lanes = nil
	r.AddLanes(lanes, &set, time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC))
	for _, l := range r.Lanes {
		assert.False(t, l.KeptWarm)
		assert.False(t, strings.Contains(l.Note, "should keep"))
	}
}

// TestTextShowsNoControlCharacters: a host's model names, version and
// errors reach the terminal without escape sequences or line breaks of
// their own.
func TestTextShowsNoControlCharacters(t *testing.T) {
	evil := "tiny\x1b[2J\nroute fake -> evil (model loaded on GPU)\u202e"
	r := Report{Checks: []Check{{Endpoint: "primary", Version: "0.17.4\x1b]0;pwned\x07", Models: []string{evil},
		Warm: []Warm{{Model: evil, Processor: "cpu"}}, Errors: []string{"/api/ps: " + evil}}}}
	r.AddLanes([]warmup.Lane{{Name: "ops", Model: "tiny"}}, nil, time.Now())
	out := r.Text()
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\x07")
	assert.NotContains(t, out, "\u202e")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		assert.False(t, strings.HasPrefix(line, "route fake"), "no line of the host's making: %q", line)
	}
}
