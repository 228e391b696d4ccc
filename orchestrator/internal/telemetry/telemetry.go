// Package telemetry is the orchestrator's Prometheus metrics: queue wait
// and depth per lane, model turn time, load time and tokens per second,
// tool latency, failovers and reloads avoided, and, per Ollama host, whether it
// answers, what it holds loaded (VRAM, GPU or CPU), its load, unload and
// eviction events and the warm-up's preloads, on the shared metrics
// registry (which has the process and Go collectors). Every label that
// names a host is "host".
package telemetry

import (
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ollama/ollama/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/shared/metrics"
)

// maxLabelValues bounds the distinct values one label takes: the agent
// and gateway already pass only closed sets (catalog tool names or
// "unoffered", configured endpoint names, models as a host lists them);
// this holds even if a caller did not.
const maxLabelValues = 256

// maxLabelBytes bounds one label value: a model name is whatever a host
// lists.
const maxLabelBytes = 200

// bounded maps a label's values to themselves until maxLabelValues are
// known, then new ones to "other". A value is made valid UTF-8 and cut
// to maxLabelBytes first (Prometheus refuses invalid UTF-8).
type bounded struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (b *bounded) of(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) > maxLabelBytes {
		cut := maxLabelBytes
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	if b.seen[v] {
		return v
	}
	if len(b.seen) >= maxLabelValues {
		return "other"
	}
	b.seen[v] = true
	return v
}

// Metrics observes the agent.
type Metrics struct {
	*metrics.Metrics
	tools, models, endpoints, lanes bounded
	queueWait                       *prometheus.HistogramVec
	modelTurn                       *prometheus.HistogramVec
	modelLoad                       *prometheus.HistogramVec
	tokensPerS                      *prometheus.HistogramVec
	failovers                       *prometheus.CounterVec
	reloadsSkip                     *prometheus.CounterVec
	firstToken                      *prometheus.HistogramVec
	modelEvents                     *prometheus.CounterVec
	warmups                         *prometheus.CounterVec
}

// New registers the collectors.
func New() *Metrics {
	m := &Metrics{Metrics: metrics.New("mcp-orchestrator")}
	secs := []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m.queueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opsmcp_orchestrator_queue_wait_seconds", Help: "Time a model request waited for a slot on its Ollama host, per host and lane (none: no configured lane).", Buckets: secs}, []string{"host", "lane"})
	m.modelTurn = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opsmcp_orchestrator_model_turn_seconds", Help: "Duration of one model turn on an Ollama host.", Buckets: secs}, []string{"model", "host"})
	m.modelLoad = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opsmcp_orchestrator_model_load_seconds", Help: "Time a model turn waited for its model to load (Ollama's load_duration; near 0 when it was warm).", Buckets: secs}, []string{"model", "host"})
	m.tokensPerS = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opsmcp_orchestrator_tokens_per_second", Help: "Generation speed of a model turn (eval_count / eval_duration).", Buckets: []float64{1, 5, 10, 20, 40, 80, 160, 320, 640}}, []string{"model", "host"})
	m.failovers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsmcp_orchestrator_failovers_total", Help: "Model requests moved to the next host because this one (host) failed.", ConstLabels: nil}, []string{"host"})
	m.modelEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsmcp_orchestrator_model_events_total", Help: "Models a host's /api/ps showed loaded (load), gone after their keep_alive (unload), or gone before it (evicted), between two polls."}, []string{"host", "model", "event"})
	m.warmups = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsmcp_orchestrator_warmup_total", Help: "Warm-up decisions per host and lane model: loaded, refreshed (its expiry reset), no_fit (not preloaded: it would not fit in the host's VRAM beside other lanes' models), missing (not pulled there), failed."}, []string{"host", "model", "result"})
	m.reloadsSkip = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsmcp_orchestrator_reloads_avoided_total", Help: "Model turns sent to a host that already had the model loaded.", ConstLabels: nil}, []string{"model"})
	m.firstToken = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opsmcp_orchestrator_time_to_first_token_seconds", Help: "From sending a model turn to its first token.", Buckets: secs}, []string{"model"})
	m.Registry.MustRegister(m.queueWait, m.modelTurn, m.modelLoad, m.tokensPerS, m.failovers, m.reloadsSkip, m.firstToken, m.modelEvents, m.warmups)
	return m
}

// ModelTurn records a model turn.
func (m *Metrics) ModelTurn(model, endpoint string, d time.Duration, resp api.ChatResponse, loaded bool) {
	model, endpoint = m.models.of(model), m.endpoints.of(endpoint)
	m.modelTurn.WithLabelValues(model, endpoint).Observe(d.Seconds())
	m.modelLoad.WithLabelValues(model, endpoint).Observe(resp.LoadDuration.Seconds())
	if resp.EvalCount > 0 && resp.EvalDuration > 0 {
		m.tokensPerS.WithLabelValues(model, endpoint).Observe(float64(resp.EvalCount) / resp.EvalDuration.Seconds())
	}
	if loaded {
		m.reloadsSkip.WithLabelValues(model).Inc()
	}
}

// QueueWait records a wait for a slot.
func (m *Metrics) QueueWait(endpoint, lane string, d time.Duration) {
	endpoint, lane = m.endpoints.of(endpoint), m.lanes.of(lane)
	m.queueWait.WithLabelValues(endpoint, lane).Observe(d.Seconds())
}

// ModelEvent records a model loaded, unloaded or evicted on a host.
func (m *Metrics) ModelEvent(e gateway.ModelEvent) {
	m.modelEvents.WithLabelValues(m.endpoints.of(e.Endpoint), m.models.of(strings.TrimSuffix(e.Model, ":latest")), e.Event).Inc()
}

// Warmup records one warm-up decision for model on host.
func (m *Metrics) Warmup(host, model, result string) {
	m.warmups.WithLabelValues(m.endpoints.of(host), m.models.of(strings.TrimSuffix(model, ":latest")), result).Inc()
}

// Failover records a request moved off endpoint from.
func (m *Metrics) Failover(from string) { m.failovers.WithLabelValues(m.endpoints.of(from)).Inc() }

// Tool records a tool call.
func (m *Metrics) Tool(name string, d time.Duration, failed bool) {
	name = m.tools.of(name)
	outcome := "ok"
	if failed {
		outcome = "error"
		m.Errors.WithLabelValues(name).Inc()
	}
	m.Calls.WithLabelValues(name, outcome).Inc()
	m.Latency.WithLabelValues(name).Observe(d.Seconds())
}

// FirstToken records the time to a model turn's first token.
func (m *Metrics) FirstToken(model string, d time.Duration) {
	model = m.models.of(model)
	m.firstToken.WithLabelValues(model).Observe(d.Seconds())
}
