package telemetry

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

type source struct {
	states []gateway.State
	depth  map[string]int
}

func (s source) States() []gateway.State    { return s.states }
func (s source) QueueDepth() map[string]int { return s.depth }

// series renders the gathered metrics whose name starts with prefix as
// `name{k="v",...} value` lines, sorted.
func series(t testing.TB, m *Metrics, prefix string) []string {
	t.Helper()
	mfs, err := m.Registry.Gather()
	require.NoError(t, err)
	var out []string
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, s := range mf.Metric {
			var ls []string
			for _, l := range s.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := 0.0
			switch {
			case s.Gauge != nil:
				v = s.Gauge.GetValue()
			case s.Counter != nil:
				v = s.Counter.GetValue()
			case s.Histogram != nil:
				v = float64(s.Histogram.GetSampleCount())
			}
			out = append(out, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(ls, ","), v))
		}
	}
	sort.Strings(out)
	return out
}

// TestHostGauges: per host, up or down, each loaded model's VRAM and
// where it runs (gpu, cpu, mixed, from size against size_vram); a model
// listed twice is one series; a down host's models are not reported;
// queue depth per lane.
func TestHostGauges(t *testing.T) {
	m := New()
	m.Watch(source{states: []gateway.State{
		{Endpoint: "gpu1", Healthy: true, Loaded: []gateway.Loaded{
			{Model: "qwen3:8b", Size: 6 << 30, SizeVRAM: 6 << 30},
			{Model: "coder:latest", Size: 10 << 30, SizeVRAM: 4 << 30},
			{Model: "coder:latest", Size: 10 << 30, SizeVRAM: 4 << 30},
		}},
		{Endpoint: "cpu1", Healthy: true, Loaded: []gateway.Loaded{{Model: "tiny:latest", Size: 1 << 20}}},
		{Endpoint: "gone", Loaded: []gateway.Loaded{{Model: "stale", Size: 1, SizeVRAM: 1}}},
	}, depth: map[string]int{"code": 3, "none": 0}})
	assert.Equal(t, []string{
		`opsmcp_orchestrator_host_up{host="cpu1"} 1`,
		`opsmcp_orchestrator_host_up{host="gone"} 0`,
		`opsmcp_orchestrator_host_up{host="gpu1"} 1`,
	}, series(t, m, "opsmcp_orchestrator_host_up"))
	assert.Equal(t, []string{
		`opsmcp_orchestrator_model_loaded{host="cpu1",model="tiny",processor="cpu"} 1`,
		`opsmcp_orchestrator_model_loaded{host="gpu1",model="coder",processor="mixed"} 2`,
		`opsmcp_orchestrator_model_loaded{host="gpu1",model="qwen3:8b",processor="gpu"} 1`,
	}, series(t, m, "opsmcp_orchestrator_model_loaded"))
	assert.Equal(t, []string{
		`opsmcp_orchestrator_model_vram_bytes{host="cpu1",model="tiny"} 0`,
		`opsmcp_orchestrator_model_vram_bytes{host="gpu1",model="coder"} 8.589934592e+09`,
		`opsmcp_orchestrator_model_vram_bytes{host="gpu1",model="qwen3:8b"} 6.442450944e+09`,
	}, series(t, m, "opsmcp_orchestrator_model_vram_bytes"))
	assert.Equal(t, []string{
		`opsmcp_orchestrator_queue_depth{lane="code"} 3`,
		`opsmcp_orchestrator_queue_depth{lane="none"} 0`,
	}, series(t, m, "opsmcp_orchestrator_queue_depth"))
}

// TestEventsWarmupsAndTurns: the counters and histograms carry host and
// lane labels under their names.
func TestEventsWarmupsAndTurns(t *testing.T) {
	m := New()
	m.ModelEvent(gateway.ModelEvent{Endpoint: "gpu1", Model: "tiny:latest", Event: gateway.EventEvicted})
	m.Warmup("gpu1", "tiny:latest", "loaded")
	m.Warmup("gpu1", "tiny:latest", "loaded")
	m.QueueWait("gpu1", "code", time.Second)
	m.Failover("gpu1")
	resp := api.ChatResponse{}
	resp.LoadDuration, resp.EvalCount, resp.EvalDuration = 2*time.Second, 10, time.Second
	m.ModelTurn("tiny", "gpu1", 3*time.Second, resp, false)
	assert.Equal(t, []string{`opsmcp_orchestrator_model_events_total{event="evicted",host="gpu1",model="tiny"} 1`}, series(t, m, "opsmcp_orchestrator_model_events_total"))
	assert.Equal(t, []string{`opsmcp_orchestrator_warmup_total{host="gpu1",model="tiny",result="loaded"} 2`}, series(t, m, "opsmcp_orchestrator_warmup_total"))
	assert.Equal(t, []string{`opsmcp_orchestrator_queue_wait_seconds{host="gpu1",lane="code"} 1`}, series(t, m, "opsmcp_orchestrator_queue_wait_seconds"))
	assert.Equal(t, []string{`opsmcp_orchestrator_failovers_total{host="gpu1"} 1`}, series(t, m, "opsmcp_orchestrator_failovers_total"))
	assert.Equal(t, []string{`opsmcp_orchestrator_tokens_per_second{host="gpu1",model="tiny"} 1`}, series(t, m, "opsmcp_orchestrator_tokens_per_second"))
	mfs, err := m.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "opsmcp_orchestrator_model_load_seconds" {
			assert.InDelta(t, 2.0, mf.Metric[0].Histogram.GetSampleSum(), 1e-9, "Ollama's load_duration")
		}
	}
}

// FuzzHostGauges: whatever two successive /api/ps answers of a host say
// (names of any bytes, sizes of any sign, duplicates), the events and
// gauges gather without error (a registry refuses a series twice or a
// label that is not UTF-8, and /metrics would then fail whole), every
// loaded entry counts once in model_loaded, no VRAM gauge is negative,
// and events name only models one of the two answers listed.
func FuzzHostGauges(f *testing.F) {
	f.Add([]byte(`{"models":[{"name":"tiny:latest","size":10,"size_vram":10,"expires_at":"2099-01-01T00:00:00Z"}]}`), []byte(`{"models":[]}`))
	f.Add([]byte(`{"models":[{"name":"a","size":10,"size_vram":4},{"name":"a:latest","size":10,"size_vram":-4}]}`), []byte(`{"models":[{"name":"\xff\xfe","size":1}]}`))
	f.Add([]byte(`{"models":[{"name":"other"},{"name":"x"}]}`), []byte(`{"models":[{"name":"other"}]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var pa, pb api.ProcessResponse
		if json.Unmarshal(a, &pa) != nil || json.Unmarshal(b, &pb) != nil {
			return
		}
		state := func(p api.ProcessResponse) gateway.State {
			st := gateway.State{Endpoint: "primary", Healthy: true, Checked: time.Now()}
			for _, m := range p.Models {
				st.Loaded = append(st.Loaded, gateway.Loaded{Model: m.Name, Size: m.Size, SizeVRAM: m.SizeVRAM, ExpiresAt: m.ExpiresAt})
			}
			return st
		}
		prev, cur := state(pa), state(pb)
		m := New()
		m.Watch(source{states: []gateway.State{cur}, depth: map[string]int{"none": 0}})
		names := map[string]bool{}
		for _, l := range append(prev.Loaded, cur.Loaded...) {
			names[l.Model] = true
		}
		for _, e := range gateway.Diff("primary", prev, cur) {
			if !names[e.Model] {
				t.Fatalf("event for a model neither answer listed: %q", e.Model)
			}
			m.ModelEvent(e)
		}
		mfs, err := m.Registry.Gather()
		if err != nil {
			t.Fatalf("gather: %v", err)
		}
		loaded := 0.0
		for _, mf := range mfs {
			for _, s := range mf.Metric {
				switch mf.GetName() {
				case "opsmcp_orchestrator_model_loaded":
					loaded += s.Gauge.GetValue()
				case "opsmcp_orchestrator_model_vram_bytes":
					if s.Gauge.GetValue() < 0 {
						t.Fatalf("negative VRAM %v", s.Gauge.GetValue())
					}
				}
			}
		}
		if int(loaded) != len(cur.Loaded) {
			t.Fatalf("model_loaded sums to %v for %d loaded entries", loaded, len(cur.Loaded))
		}
	})
}
