package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// prometheusRoot is where e2e/upstreams/parts/prometheus.sh unpacks
// Debian's prometheus package (prometheus and promtool in usr/bin).
func prometheusRoot() string { return filepath.Join(CacheDir(), "prometheus", "root") }

// Promtool unpacks Prometheus (once) and returns promtool's path.
func Promtool() (string, error) {
	if _, err := Upstreams("prometheus"); err != nil {
		return "", err
	}
	return filepath.Join(prometheusRoot(), "usr", "bin", "promtool"), nil
}

// Prometheus is a real Prometheus server on loopback with its own TSDB.
type Prometheus struct {
	URL  string
	Proc *Proc
}

// StartPrometheus unpacks Prometheus (once) and starts it in dir with the
// given configuration file body (scrape jobs, rule files).
func StartPrometheus(ctx context.Context, dir, config string) (*Prometheus, error) {
	if _, err := Upstreams("prometheus"); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "prometheus")
	if err := os.MkdirAll(filepath.Join(work, "data"), 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(work, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	p := &Prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.Proc, err = Start(dir, "prometheus", filepath.Join(prometheusRoot(), "usr", "bin", "prometheus"),
		"--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(work, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		// Debian's binary looks for its UI assets here; the tests only use the API.
		"--web.console.templates="+filepath.Join(prometheusRoot(), "etc", "prometheus", "consoles"),
		"--web.console.libraries="+filepath.Join(prometheusRoot(), "etc", "prometheus", "console_libraries"))
	if err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, p.Proc, p.URL+"/-/ready", "", http.DefaultClient, 60*time.Second); err != nil {
		p.Proc.Stop()
		return nil, err
	}
	return p, nil
}

// Sample is one series of an instant query's answer.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value"]
}

// Query runs an instant PromQL query and returns its series; a query
// Prometheus refuses is an error with its reason.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus query: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("prometheus query: %w", err)
	}
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []Sample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("prometheus query %q: %s: %w", expr, resp.Status, err)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("prometheus query %q: %s", expr, out.Error)
	}
	if out.Data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus query %q: a %s, not a vector", expr, out.Data.ResultType)
	}
	return out.Data.Result, nil
}

// Stop stops Prometheus.
func (p *Prometheus) Stop() { p.Proc.Stop() }
