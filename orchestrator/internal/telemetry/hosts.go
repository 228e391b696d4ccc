package telemetry

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

// Source is what the per-host and per-lane gauges are read from at each
// scrape: the gateway's last poll of every host, and its queues.
type Source interface {
	States() []gateway.State
	QueueDepth() map[string]int
}

var (
	hostUpDesc = prometheus.NewDesc("opsmcp_orchestrator_host_up",
		"1 when the Ollama host answered its last poll, else 0.", []string{"host"}, nil)
	vramDesc = prometheus.NewDesc("opsmcp_orchestrator_model_vram_bytes",
		"VRAM a loaded model holds on a host (size_vram from /api/ps).", []string{"host", "model"}, nil)
	loadedDesc = prometheus.NewDesc("opsmcp_orchestrator_model_loaded",
		"1 per model a host holds loaded, by where it runs: gpu (all of it in VRAM), cpu (none), mixed.", []string{"host", "model", "processor"}, nil)
	depthDesc = prometheus.NewDesc("opsmcp_orchestrator_queue_depth",
		"Model requests waiting for a slot now, per lane (none: no configured lane).", []string{"lane"}, nil)
)

// Watch adds the gauges read from src at each scrape: host_up,
// model_vram_bytes, model_loaded and queue_depth.
func (m *Metrics) Watch(src Source) {
	m.Registry.MustRegister(&hostCollector{m: m, src: src})
}

type hostCollector struct {
	m   *Metrics
	src Source
}

func (c *hostCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hostUpDesc
	ch <- vramDesc
	ch <- loadedDesc
	ch <- depthDesc
}

// Collect sends one series per label set: values that meet under one
// label set (a model a host lists twice, names past the bound that all
// read "other") are added up, since a registry refuses a series twice.
func (c *hostCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct{ host, model, proc string }
	up := map[string]float64{}
	vram := map[key]float64{}
	loaded := map[key]float64{}
	var hosts []string
	var vramKeys, loadedKeys []key
	for _, st := range c.src.States() {
		host := c.m.endpoints.of(st.Endpoint)
		if _, ok := up[host]; !ok {
			hosts = append(hosts, host)
		}
		if st.Healthy {
			up[host] = 1
		} else if _, ok := up[host]; !ok {
			up[host] = 0
		}
		if !st.Healthy {
			continue // a host that did not answer holds nothing we know of
		}
		for _, l := range st.Loaded {
			model := c.m.models.of(strings.TrimSuffix(l.Model, ":latest"))
			k := key{host: host, model: model}
			if _, ok := vram[k]; !ok {
				vramKeys = append(vramKeys, k)
			}
			vram[k] += float64(max(l.SizeVRAM, 0))
			k.proc = l.Processor()
			if _, ok := loaded[k]; !ok {
				loadedKeys = append(loadedKeys, k)
			}
			loaded[k]++
		}
	}
	for _, h := range hosts {
		ch <- prometheus.MustNewConstMetric(hostUpDesc, prometheus.GaugeValue, up[h], h)
	}
	for _, k := range vramKeys {
		ch <- prometheus.MustNewConstMetric(vramDesc, prometheus.GaugeValue, vram[k], k.host, k.model)
	}
	for _, k := range loadedKeys {
		ch <- prometheus.MustNewConstMetric(loadedDesc, prometheus.GaugeValue, loaded[k], k.host, k.model, k.proc)
	}
	depth := map[string]float64{}
	var lanes []string
	for lane, n := range c.src.QueueDepth() {
		l := c.m.lanes.of(lane)
		if _, ok := depth[l]; !ok {
			lanes = append(lanes, l)
		}
		depth[l] += float64(n)
	}
	for _, l := range lanes {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, depth[l], l)
	}
}
