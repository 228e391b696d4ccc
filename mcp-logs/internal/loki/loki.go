// Package loki is a read-only client of Loki's documented HTTP API, built
// on net/http and encoding/json: Loki's own Go client pulls about 620
// modules and needs a replace directive (docs/dependencies.md).
//
// Read-only by construction: the shared read-only transport refuses every
// method but GET and HEAD, and no function here builds another request.
package loki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/readonly"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Options configure the client.
type Options struct {
	URL string
	// Tenant is sent as X-Scope-OrgID on every request; callers cannot
	// change it.
	Tenant string
	// Username and PasswordFile give basic auth; TokenFile a bearer token.
	Username, PasswordFile, TokenFile string
	// CAFile, CertFile, KeyFile configure TLS.
	CAFile, CertFile, KeyFile string
	Timeout                   time.Duration
}

// Client talks to one Loki.
type Client struct {
	base   *url.URL
	http   *http.Client
	tenant string
	auth   string // Authorization header value
}

// New builds a client; secrets are read from their files once, here.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--loki-url %q: want http(s)://host:port", o.URL)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--loki-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--loki-ca-file %s: no PEM certificate found", o.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--loki-cert-file/--loki-key-file: %w", err)
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	c := &Client{base: u, tenant: o.Tenant}
	switch {
	case o.TokenFile != "" && o.PasswordFile != "":
		return nil, errors.New("give --loki-token-file or --loki-password-file, not both")
	case o.TokenFile != "":
		tok, err := readSecret(o.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--loki-token-file: %w", err)
		}
		c.auth = "Bearer " + tok
	case o.PasswordFile != "":
		pw, err := readSecret(o.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--loki-password-file: %w", err)
		}
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(o.Username, pw)
		c.auth = req.Header.Get("Authorization")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.MaxIdleConnsPerHost = 16
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	// What a call reads is held against the memory for answers (the
	// call's memory.Hold, in its requests' context).
	c.http = &http.Client{Transport: readonly.Transport(memory.Counted(tool.UpstreamTransport(Upstream, c.base.Redacted(), tr))), Timeout: timeout}
	return c, nil
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// MemoryCost is the memory, in bytes, one byte of Loki's answer takes in
// a call (decoded from JSON, masked, shaped twice): shared/memory holds
// what a call reads at it against half the memory limit. A 3.5 MiB
// answer of token-dense lines peaked 13 MiB over the server's idle 20
// (red team). Loki's default 4 MiB gRPC messages cap its answers; a Loki
// that raises them is held to this server's memory.
const MemoryCost = 4

// Upstream is how errors and /readyz name Loki.
const Upstream = "Loki"

// Error is an error answer from Loki.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("loki: %d: %s", e.Status, e.Msg) }

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if c.tenant != "" {
		req.Header.Set("X-Scope-OrgID", c.tenant)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// One byte past the limit tells a cut body from a whole one; the
		// word the cut went through is dropped, since half a secret
		// matches no masking rule.
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4097))
		body := string(raw)
		if len(body) > 4096 {
			body = body[:strings.LastIndexAny(body[:4096], " \t\r\n")+1] + "…"
		}
		e := &Error{Status: resp.StatusCode, Msg: strings.TrimSpace(strings.ToValidUTF8(body, "?"))}
		if s := resp.StatusCode; s == http.StatusUnauthorized || s == http.StatusForbidden || s >= 500 {
			// Loki refusing the server's credentials, or failing: Loki's
			// failure, whatever the query was. (A 400 is the query's.)
			return tool.UpstreamStatus(Upstream, c.base.Redacted(), s, e)
		}
		return e
	}
	if out == nil {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// Ready asks /ready.
func (c *Client) Ready(ctx context.Context) error {
	return c.get(ctx, "/ready", nil, nil)
}

// FormatQuery has Loki parse q without running it.
func (c *Client) FormatQuery(ctx context.Context, q string) (string, error) {
	var r struct {
		Status string `json:"status"`
		Data   string `json:"data"`
	}
	err := c.get(ctx, "/loki/api/v1/format_query", url.Values{"query": {q}}, &r)
	return r.Data, err
}

// Entry is one log line.
type Entry struct {
	Time   time.Time
	Labels map[string]string
	Line   string
	// Metadata is the entry's structured metadata, when it has any.
	Metadata map[string]string
}

// Sample is one value of a metric series.
type Sample struct {
	Time  time.Time
	Value string
}

// Series is one metric series.
type Series struct {
	Metric  map[string]string
	Samples []Sample
}

// Result is a query's answer: Entries for a log query, Series for a
// metric query (a vector has one sample per series).
type Result struct {
	Type    string // streams, matrix, vector, scalar
	Entries []Entry
	Series  []Series
	// Stats are Loki's own execution statistics summary.
	BytesProcessed int64
}

// Range is a query_range request.
type Range struct {
	Query      string
	Start, End time.Time
	Limit      int
	Forward    bool
	Step       time.Duration
}

// QueryRange runs a range query.
func (c *Client) QueryRange(ctx context.Context, r Range) (*Result, error) {
	v := url.Values{
		"query": {r.Query},
		"start": {ns(r.Start)},
		"end":   {ns(r.End)},
	}
	if r.Limit > 0 {
		v.Set("limit", strconv.Itoa(r.Limit))
	}
	v.Set("direction", "backward")
	if r.Forward {
		v.Set("direction", "forward")
	}
	if r.Step > 0 {
		v.Set("step", strconv.FormatFloat(r.Step.Seconds(), 'f', -1, 64))
	}
	return c.query(ctx, "/loki/api/v1/query_range", v)
}

// Query runs an instant query at t.
func (c *Client) Query(ctx context.Context, q string, t time.Time, limit int) (*Result, error) {
	v := url.Values{"query": {q}, "time": {ns(t)}}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	return c.query(ctx, "/loki/api/v1/query", v)
}

func ns(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

type queryResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
		Stats      struct {
			Summary struct {
				TotalBytesProcessed int64 `json:"totalBytesProcessed"`
			} `json:"summary"`
		} `json:"stats"`
	} `json:"data"`
}

func (c *Client) query(ctx context.Context, path string, v url.Values) (*Result, error) {
	var r queryResponse
	if err := c.get(ctx, path, v, &r); err != nil {
		return nil, err
	}
	out := &Result{Type: r.Data.ResultType, BytesProcessed: r.Data.Stats.Summary.TotalBytesProcessed}
	switch r.Data.ResultType {
	case "streams":
		var streams []struct {
			Stream map[string]string `json:"stream"`
			// Each value is [ts, line] or [ts, line, {structured metadata}].
			Values [][]json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(r.Data.Result, &streams); err != nil {
			return nil, fmt.Errorf("decode streams: %w", err)
		}
		for _, s := range streams {
			for _, val := range s.Values {
				if len(val) < 2 {
					continue
				}
				var tsStr, line string
				if err := json.Unmarshal(val[0], &tsStr); err != nil {
					return nil, fmt.Errorf("decode timestamp: %w", err)
				}
				if err := json.Unmarshal(val[1], &line); err != nil {
					return nil, fmt.Errorf("decode line: %w", err)
				}
				n, err := strconv.ParseInt(tsStr, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("decode timestamp %q: %w", tsStr, err)
				}
				e := Entry{Time: time.Unix(0, n).UTC(), Labels: s.Stream, Line: line}
				if len(val) > 2 {
					var md map[string]string
					if json.Unmarshal(val[2], &md) == nil && len(md) > 0 {
						e.Metadata = md
					}
				}
				out.Entries = append(out.Entries, e)
			}
		}
	case "matrix":
		var series []struct {
			Metric map[string]string   `json:"metric"`
			Values [][]json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(r.Data.Result, &series); err != nil {
			return nil, fmt.Errorf("decode matrix: %w", err)
		}
		for _, s := range series {
			ser := Series{Metric: s.Metric}
			for _, p := range s.Values {
				smp, err := sample(p)
				if err != nil {
					return nil, err
				}
				ser.Samples = append(ser.Samples, smp)
			}
			out.Series = append(out.Series, ser)
		}
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
			return nil, fmt.Errorf("decode vector: %w", err)
		}
		for _, s := range vec {
			smp, err := sample(s.Value)
			if err != nil {
				return nil, err
			}
			out.Series = append(out.Series, Series{Metric: s.Metric, Samples: []Sample{smp}})
		}
	case "scalar":
		var p []json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &p); err != nil {
			return nil, fmt.Errorf("decode scalar: %w", err)
		}
		smp, err := sample(p)
		if err != nil {
			return nil, err
		}
		out.Series = []Series{{Metric: map[string]string{}, Samples: []Sample{smp}}}
	default:
		return nil, fmt.Errorf("unknown result type %q", r.Data.ResultType)
	}
	return out, nil
}

// sample decodes [unix seconds (float), "value"].
func sample(p []json.RawMessage) (Sample, error) {
	if len(p) != 2 {
		return Sample{}, fmt.Errorf("decode sample: want [time, value]")
	}
	var secs float64
	var val string
	if err := json.Unmarshal(p[0], &secs); err != nil {
		return Sample{}, fmt.Errorf("decode sample time: %w", err)
	}
	if err := json.Unmarshal(p[1], &val); err != nil {
		return Sample{}, fmt.Errorf("decode sample value: %w", err)
	}
	whole := int64(secs)
	return Sample{Time: time.Unix(whole, int64((secs-float64(whole))*1e9)).UTC().Round(time.Millisecond), Value: val}, nil
}

type listResponse struct {
	Status string   `json:"status"`
	Data   []string `json:"data"`
}

// Labels lists label names seen in [start, end), optionally only in the
// streams of selector.
func (c *Client) Labels(ctx context.Context, start, end time.Time, selector string) ([]string, error) {
	v := url.Values{"start": {ns(start)}, "end": {ns(end)}}
	if selector != "" {
		v.Set("query", selector)
	}
	var r listResponse
	if err := c.get(ctx, "/loki/api/v1/labels", v, &r); err != nil {
		return nil, err
	}
	sort.Strings(r.Data)
	return r.Data, nil
}

// LabelValues lists the values of label name.
func (c *Client) LabelValues(ctx context.Context, name string, start, end time.Time, selector string) ([]string, error) {
	v := url.Values{"start": {ns(start)}, "end": {ns(end)}}
	if selector != "" {
		v.Set("query", selector)
	}
	var r listResponse
	if err := c.get(ctx, "/loki/api/v1/label/"+url.PathEscape(name)+"/values", v, &r); err != nil {
		return nil, err
	}
	sort.Strings(r.Data)
	return r.Data, nil
}

// SeriesList lists the streams (label sets) matching selector.
func (c *Client) SeriesList(ctx context.Context, selector string, start, end time.Time) ([]map[string]string, error) {
	v := url.Values{"match[]": {selector}, "start": {ns(start)}, "end": {ns(end)}}
	var r struct {
		Data []map[string]string `json:"data"`
	}
	if err := c.get(ctx, "/loki/api/v1/series", v, &r); err != nil {
		return nil, err
	}
	return r.Data, nil
}

// IndexStats is what the index says a selector covers.
type IndexStats struct {
	Streams int64 `json:"streams"`
	Chunks  int64 `json:"chunks"`
	Entries int64 `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

// Stats asks the index how much data selector covers in [start, end).
func (c *Client) Stats(ctx context.Context, selector string, start, end time.Time) (IndexStats, error) {
	var s IndexStats
	err := c.get(ctx, "/loki/api/v1/index/stats", url.Values{"query": {selector}, "start": {ns(start)}, "end": {ns(end)}}, &s)
	return s, err
}

// Volume is bytes by label set.
type Volume struct {
	Labels map[string]string
	Bytes  int64
}

// Volume asks the index (and the ingesters) for the largest groups of
// selector's streams by bytes, grouped by the given labels (none: by the
// labels the selector names).
func (c *Client) Volume(ctx context.Context, selector string, start, end time.Time, by []string, limit int) ([]Volume, error) {
	v := url.Values{"query": {selector}, "start": {ns(start)}, "end": {ns(end)}, "limit": {strconv.Itoa(limit)}}
	if len(by) > 0 {
		// With the default aggregation (series), targetLabels groups by
		// those labels' values; aggregateBy=labels would not.
		v.Set("targetLabels", strings.Join(by, ","))
	}
	var r queryResponse
	if err := c.get(ctx, "/loki/api/v1/index/volume", v, &r); err != nil {
		return nil, err
	}
	var vec []struct {
		Metric map[string]string `json:"metric"`
		Value  []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
		return nil, fmt.Errorf("decode volume: %w", err)
	}
	out := make([]Volume, 0, len(vec))
	for _, s := range vec {
		smp, err := sample(s.Value)
		if err != nil {
			return nil, err
		}
		b, _ := strconv.ParseInt(smp.Value, 10, 64)
		out = append(out, Volume{Labels: s.Metric, Bytes: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out, nil
}

// Pattern is one detected log pattern and how often it occurred.
type Pattern struct {
	Pattern string
	Count   int64
}

// Patterns asks the pattern ingester for the patterns of selector. Loki
// answers 404 or an error when the pattern ingester is off.
func (c *Client) Patterns(ctx context.Context, selector string, start, end time.Time) ([]Pattern, error) {
	var r struct {
		Data []struct {
			Pattern string    `json:"pattern"`
			Samples [][]int64 `json:"samples"`
		} `json:"data"`
	}
	if err := c.get(ctx, "/loki/api/v1/patterns", url.Values{"query": {selector}, "start": {ns(start)}, "end": {ns(end)}}, &r); err != nil {
		return nil, err
	}
	out := make([]Pattern, 0, len(r.Data))
	for _, p := range r.Data {
		var n int64
		for _, s := range p.Samples {
			if len(s) == 2 {
				n += s[1]
			}
		}
		out = append(out, Pattern{Pattern: p.Pattern, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out, nil
}
