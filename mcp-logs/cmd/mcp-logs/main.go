// Command mcp-logs is a read-only MCP server for logs: LogQL on Loki and
// search and tail over log files under configured roots.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-logs/internal/logfile"
	"github.com/opsmcp/opsmcp/mcp-logs/internal/loki"
	"github.com/opsmcp/opsmcp/mcp-logs/internal/tools"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
)

var version = "dev"

func main() {
	var (
		lo       loki.Options
		roots    []string
		maxRange time.Duration
		maxScan  int64
		maxLine  int
		maxLimit int
	)
	spec := serve.Spec{
		Name: "mcp-logs", Version: version, Title: "read-only logs MCP server",
		Upstream:   loki.Upstream,
		MemoryCost: loki.MemoryCost, MemoryNarrow: " (a shorter range, a lower limit, a line filter; order oldest for a file of very long lines)",
		Instructions: "Read-only access to logs. Loki: logs_labels and logs_label_values to find streams, logs_stats to size a query, logs_query for LogQL. Files: logs_files, logs_search, logs_tail. Results are newest first and bounded; pass the cursor back to continue. Secrets are masked.",
		Prompts:      tools.Prompts(),
		Tools:        func() []tool.Tool { return (&tools.Server{}).Tools() },
	}
	defURL := os.Getenv("LOKI_URL")
	if defURL == "" {
		defURL = "http://127.0.0.1:3100"
	}
	serve.Main(spec, 8084, func(fs *pflag.FlagSet) {
		fs.StringVar(&lo.URL, "loki-url", defURL, "Loki base URL (also read from $LOKI_URL)")
		fs.StringVar(&lo.Tenant, "loki-tenant", "", "tenant sent as X-Scope-OrgID on every request; callers cannot change it")
		fs.StringVar(&lo.Username, "loki-username", "", "basic auth user (with --loki-password-file)")
		fs.StringVar(&lo.PasswordFile, "loki-password-file", "", "file holding the basic auth password")
		fs.StringVar(&lo.TokenFile, "loki-token-file", "", "file holding a bearer token for Loki")
		fs.StringVar(&lo.CAFile, "loki-ca-file", "", "CA bundle to verify Loki's TLS certificate")
		fs.StringVar(&lo.CertFile, "loki-cert-file", "", "client certificate for Loki (mutual TLS)")
		fs.StringVar(&lo.KeyFile, "loki-key-file", "", "client key for Loki (mutual TLS)")
		fs.DurationVar(&lo.Timeout, "loki-timeout", 30*time.Second, "timeout of each request to Loki")
		fs.DurationVar(&maxRange, "max-range", 24*time.Hour, "longest time range (and range vector) a Loki query may cover")
		fs.Int64Var(&maxScan, "max-scan-bytes", 2<<30, "refuse Loki queries whose index stats exceed this many bytes")
		fs.StringArrayVar(&roots, "files-root", nil, "directory of log files the file tools may read (repeatable)")
		fs.IntVar(&maxLine, "max-line-bytes", 2048, "cut longer log lines")
		fs.IntVar(&maxLimit, "max-lines", 1000, "most lines one call may return")
	}, func(ctx context.Context, log *slog.Logger) ([]tool.Tool, func(context.Context) error, error) {
		if maxLine > logfile.MaxLineBuffer/4 {
			return nil, nil, fmt.Errorf("--max-line-bytes %d: at most %d (a line is read up to %d bytes, and what is shown must be masked with what follows it)", maxLine, logfile.MaxLineBuffer/4, logfile.MaxLineBuffer)
		}
		client, err := loki.New(lo)
		if err != nil {
			return nil, nil, err
		}
		r, err := logfile.NewRoots(roots)
		if err != nil {
			return nil, nil, err
		}
		if len(roots) == 0 {
			log.Info("no --files-root: the file tools will say so when called")
		}
		s := &tools.Server{Loki: client, Roots: r, MaxRange: maxRange, MaxScanBytes: maxScan, MaxLine: maxLine, MaxLimit: maxLimit}
		ready := func(ctx context.Context) error {
			if err := client.Ready(ctx); err != nil {
				return fmt.Errorf("loki: %w", err)
			}
			return nil
		}
		return s.Tools(), ready, nil
	})
}
