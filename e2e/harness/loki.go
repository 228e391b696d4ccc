package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Loki is a real Loki (single binary, filesystem storage) on loopback.
type Loki struct {
	URL    string
	Logcli string // path of the logcli binary of the same version
	Proc   *Proc
	dir    string
}

// lokiConfig keeps labels exactly as pushed (no service_name or level
// discovery), accepts old samples, makes the rings ready at once and runs
// the pattern ingester so logs_patterns has a real answer. Loki does not
// log successful requests (it sets DisableRequestSuccessLog), so the
// read-only proof reads its request metrics instead.
const lokiConfig = `auth_enabled: false
analytics:
  reporting_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %d
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: %[3]s
  storage:
    filesystem:
      chunks_directory: %[3]s/chunks
      rules_directory: %[3]s/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2020-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  reject_old_samples: false
  discover_service_name: []
  discover_log_levels: false
  allow_structured_metadata: true
  volume_enabled: true
ingester:
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
frontend:
  scheduler_dns_lookup_period: 1s
frontend_worker:
  dns_lookup_duration: 1s
pattern_ingester:
  enabled: true
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
`

// StartLoki builds (once) and starts Loki in dir.
func StartLoki(ctx context.Context, dir string) (*Loki, error) {
	bin, err := Upstreams("loki")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	grpc, err := FreePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "loki-data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "loki.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(lokiConfig, port, grpc, data)), 0o644); err != nil {
		return nil, err
	}
	p, err := Start(dir, "loki", filepath.Join(bin, "loki-v3.7.8"), "-config.file", cfg)
	if err != nil {
		return nil, err
	}
	l := &Loki{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Logcli: filepath.Join(bin, "logcli-v3.7.8"), Proc: p, dir: dir}
	if err := WaitHTTP(ctx, p, l.URL+"/ready", "", http.DefaultClient, 60*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return l, nil
}

// Stop stops Loki.
func (l *Loki) Stop() { l.Proc.Stop() }

// Stream is a set of lines with one label set, for Push.
type Stream struct {
	Labels map[string]string
	Lines  []Line
}

// Line is one log line with its time and optional structured metadata.
type Line struct {
	Time     time.Time
	Text     string
	Metadata map[string]string
}

// Push sends streams through Loki's push API (the test's fixtures; the
// servers under test never write).
func (l *Loki) Push(ctx context.Context, streams []Stream) error {
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	var body struct {
		Streams []stream `json:"streams"`
	}
	for _, s := range streams {
		st := stream{Stream: s.Labels}
		for _, ln := range s.Lines {
			v := []any{strconv.FormatInt(ln.Time.UnixNano(), 10), ln.Text}
			if len(ln.Metadata) > 0 {
				v = append(v, ln.Metadata)
			}
			st.Values = append(st.Values, v)
		}
		body.Streams = append(body.Streams, st)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.URL+"/loki/api/v1/push", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return fmt.Errorf("push: %s: %s", resp.Status, b.String())
	}
	return nil
}

// Requests returns Loki's own count of the HTTP requests it served, by
// "METHOD route status", from its loki_request_duration_seconds metric.
func (l *Loki) Requests(ctx context.Context) (map[string]int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, line := range strings.Split(body.String(), "\n") {
		if !strings.HasPrefix(line, "loki_request_duration_seconds_count{") {
			continue
		}
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, "loki_request_duration_seconds_count{"), "} ")
		if !ok {
			continue
		}
		get := func(k string) string {
			_, v, _ := strings.Cut(labels, k+`="`)
			v, _, _ = strings.Cut(v, `"`)
			return v
		}
		n, _ := strconv.ParseFloat(value, 64)
		out[get("method")+" "+get("route")+" "+get("status_code")] += int(n)
	}
	return out, nil
}
