package logs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const benchQuery = `{namespace="web", app="api"} |= "status=500"`

func benchRange() (string, string) {
	return rfc(base.Add(-time.Minute)), rfc(base.Add(25 * time.Minute))
}

// BenchmarkLokiQuery: the same LogQL query and range three ways: through
// mcp-logs over stdio (check, index stats and volume guard, query, mask,
// budget), directly with net/http against query_range, and with logcli.
func BenchmarkLokiQuery(b *testing.B) {
	start, end := benchRange()
	b.Run("mcp-stdio", func(b *testing.B) {
		s, _ := session(b)
		args := map[string]any{"query": benchQuery, "start": start, "end": end}
		// Loki's first volume query after start takes about 2 s; that is
		// a cold Loki, not this server.
		if _, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "logs_query", Arguments: args}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "logs_query", Arguments: args})
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
		}
	})
	b.Run("direct-http", func(b *testing.B) {
		st, _ := time.Parse(time.RFC3339, start)
		en, _ := time.Parse(time.RFC3339, end)
		u := loki.URL + "/loki/api/v1/query_range?" + url.Values{"query": {benchQuery}, "start": {fmt.Sprint(st.UnixNano())}, "end": {fmt.Sprint(en.UnixNano())}, "limit": {"100"}}.Encode()
		for b.Loop() {
			resp, err := http.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			var v map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
				b.Fatal(err, resp.Status)
			}
			resp.Body.Close()
		}
	})
	b.Run("logcli", func(b *testing.B) {
		for b.Loop() {
			out, err := exec.Command(loki.Logcli, "query", "--addr", loki.URL, "--quiet", "--output", "raw", "--limit", "100", "--from", start, "--to", end, benchQuery).Output()
			if err != nil || len(out) == 0 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNoisyQueryBytes reports what a noisy query (100 lines of about
// 440 bytes) costs a model's context through mcp-logs, beside Loki's raw
// JSON answer and logcli's raw lines for the same query and limit.
func BenchmarkNoisyQueryBytes(b *testing.B) {
	start, end := benchRange()
	q := `{namespace="web", app="noisy"}`
	s, _ := session(b)
	var mcpText, mcpData, shown int
	for b.Loop() {
		res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "logs_query", Arguments: map[string]any{"query": q, "start": start, "end": end, "limit": 100}})
		if err != nil || res.IsError {
			b.Fatal(err)
		}
		mcpText = len(res.Content[0].(*mcp.TextContent).Text)
		raw, _ := json.Marshal(res.StructuredContent)
		mcpData = len(raw)
		var d struct {
			Items []any `json:"items"`
		}
		json.Unmarshal(raw, &d)
		shown = len(d.Items)
	}
	st, _ := time.Parse(time.RFC3339, start)
	en, _ := time.Parse(time.RFC3339, end)
	resp, err := http.Get(loki.URL + "/loki/api/v1/query_range?" + url.Values{"query": {q}, "start": {fmt.Sprint(st.UnixNano())}, "end": {fmt.Sprint(en.UnixNano())}, "limit": {"100"}}.Encode())
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out, err := exec.Command(loki.Logcli, "query", "--addr", loki.URL, "--quiet", "--output", "raw", "--limit", "100", "--from", start, "--to", end, q).Output()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(shown), "mcp-lines-shown")
	b.ReportMetric(float64(mcpText), "mcp-text-bytes")
	b.ReportMetric(float64(mcpData), "mcp-structured-bytes")
	b.ReportMetric(float64(len(raw)), "loki-json-bytes")
	b.ReportMetric(float64(len(out)), "logcli-raw-bytes")
}
