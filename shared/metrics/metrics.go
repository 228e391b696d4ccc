// Package metrics holds the Prometheus collectors every server exports at
// /metrics: calls, errors, latency, bytes and masked values, by tool.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's set of collectors, on its own registry so tests
// and several servers in one process do not collide.
type Metrics struct {
	Registry *prometheus.Registry
	Calls    *prometheus.CounterVec
	Errors   *prometheus.CounterVec
	Latency  *prometheus.HistogramVec
	Bytes    *prometheus.CounterVec
	Masked   *prometheus.CounterVec
}

// New registers the collectors for server (the binary's name).
func New(server string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	labels := prometheus.Labels{"server": server}
	m := &Metrics{
		Registry: reg,
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsmcp_tool_calls_total", Help: "Tool calls by tool and outcome (ok, error: bad arguments or an internal error, upstream_error: the upstream failed, denied, rate_limited).", ConstLabels: labels,
		}, []string{"tool", "outcome"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsmcp_tool_errors_total", Help: "Tool calls that did not end ok, by tool.", ConstLabels: labels,
		}, []string{"tool"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "opsmcp_tool_duration_seconds", Help: "Tool call latency.", ConstLabels: labels,
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"tool"}),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsmcp_tool_result_bytes_total", Help: "Bytes of tool results sent.", ConstLabels: labels,
		}, []string{"tool"}),
		Masked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsmcp_masked_values_total", Help: "Secret values replaced by placeholders.", ConstLabels: labels,
		}, []string{"tool"}),
	}
	reg.MustRegister(m.Calls, m.Errors, m.Latency, m.Bytes, m.Masked)
	return m
}

// ToolMetrics are one tool's collectors, each looked up once, when first
// used (as WithLabelValues would create it): a label lookup hashes the
// label values and takes a lock, five times per call.
type ToolMetrics struct {
	m    *Metrics
	tool string
	// counters holds the looked-up collectors by kind and outcome.
	counters sync.Map // toolKey -> prometheus.Counter or prometheus.Observer
}

type toolKey struct{ kind, outcome string }

// Tool returns tool's collectors.
func (m *Metrics) Tool(tool string) *ToolMetrics {
	return &ToolMetrics{m: m, tool: tool}
}

func (t *ToolMetrics) get(kind, outcome string) any {
	k := toolKey{kind, outcome}
	if c, ok := t.counters.Load(k); ok {
		return c
	}
	var c any
	switch kind {
	case "calls":
		c = t.m.Calls.WithLabelValues(t.tool, outcome)
	case "errors":
		c = t.m.Errors.WithLabelValues(t.tool)
	case "bytes":
		c = t.m.Bytes.WithLabelValues(t.tool)
	case "masked":
		c = t.m.Masked.WithLabelValues(t.tool)
	default:
		c = t.m.Latency.WithLabelValues(t.tool)
	}
	c, _ = t.counters.LoadOrStore(k, c)
	return c
}

// Call records one finished call: its outcome (and an error when it is
// not ok), latency, result bytes and masked values.
func (t *ToolMetrics) Call(outcome string, ok bool, seconds, bytes, masked float64) {
	t.get("calls", outcome).(prometheus.Counter).Inc()
	if !ok {
		t.get("errors", "").(prometheus.Counter).Inc()
	}
	t.get("latency", "").(prometheus.Observer).Observe(seconds)
	t.get("bytes", "").(prometheus.Counter).Add(bytes)
	t.get("masked", "").(prometheus.Counter).Add(masked)
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
