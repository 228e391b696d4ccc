// Package metrics holds the Prometheus collectors every server exports at
// /metrics: calls, errors, latency, bytes and masked values, by tool.
package metrics

import (
	"net/http"

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

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
