package conformance_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestLegacySSEFlag (issue 16): the real binary serves legacy SSE by
// default, and --legacy-sse=false (or OPSMCP_LEGACY_SSE=false) removes
// /sse and /message while /mcp keeps serving both revisions.
func TestLegacySSEFlag(t *testing.T) {
	dir := t.TempDir()
	bin, err := harness.BuildBinary(dir, "mcp-docs", "mcp-docs")
	if err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "corpus")
	if err := os.MkdirAll(corpus, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpus, "a.md"), []byte("# A\n\nlegacy transport note\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sources := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(sources, []byte(fmt.Sprintf("sources:\n  - name: local\n    path: %s\n", corpus)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		env   string
		sse   bool
	}{
		{"default", nil, "", true},
		{"flag off", []string{"--legacy-sse=false"}, "", false},
		{"env off", nil, "false", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("OPSMCP_LEGACY_SSE", tc.env)
			}
			sub := t.TempDir()
			url, _, args := serverArgs(t, sub)
			args = append(append([]string{"serve"}, args...), "--config", sources, "--embed-model", "", "--reindex-every", "0",
				"--db", filepath.Join(sub, "docs.db"), "--cache-dir", filepath.Join(sub, "cache"))
			harness.StartServer(t, &seen, sub, "mcp-docs", url, bin, append(args, tc.flags...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", url+"/sse", nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := http.StatusNotFound
			if tc.sse {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("GET /sse: %d, want %d", resp.StatusCode, want)
			}
			if tc.sse {
				s := harness.Connect(t, &mcp.SSEClientTransport{Endpoint: url + "/sse"})
				if _, err := s.ListTools(ctx, nil); err != nil {
					t.Errorf("legacy SSE tools/list: %v", err)
				}
			}
			for _, rev := range revisions {
				if _, err := session(t, url, rev).ListTools(ctx, nil); err != nil {
					t.Errorf("%s tools/list: %v", rev, err)
				}
			}
		})
	}
}
