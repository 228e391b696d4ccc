// Command mcp-docs is a read-only MCP server over the team's docs: a
// versioned, masked index of runbooks, ADRs, manifests, charts, Terraform
// and pipelines, searched by keyword and meaning with citations.
//
//	mcp-docs index --config sources.yaml      index (or bring up to date) now
//	mcp-docs serve --config sources.yaml ...  serve the tools; re-index on a schedule and on Gitea pushes
//	mcp-docs backup --db docs.db --to copy.db a consistent copy while serving
//	mcp-docs restore --from copy.db --db docs.db  a new index file from a backup
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-docs/internal/index"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/parse"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/service"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/store"
	"github.com/opsmcp/opsmcp/mcp-docs/internal/tools"
	"github.com/opsmcp/opsmcp/shared/config"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
	"github.com/opsmcp/opsmcp/shared/toollist"
)

var version = "dev"

const usage = `mcp-docs: read-only MCP server over the team's docs

  mcp-docs serve  [flags]   serve docs_search, docs_get, docs_sources (re-indexes on a schedule and on Gitea pushes)
  mcp-docs index  [flags]   index the sources now and print what changed
  mcp-docs backup --db FILE --to COPY   copy the index while it serves
  mcp-docs restore --from COPY --db FILE  make the index FILE (which must not exist) from a backup

"mcp-docs <command> --help" lists the flags.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		// serve.Main parses os.Args[1:]: drop the command word.
		os.Args = append(os.Args[:1], os.Args[2:]...)
		runServe()
	case "index":
		os.Exit(runIndex(os.Args[2:]))
	case "backup":
		os.Exit(runBackup(os.Args[2:]))
	case "restore":
		os.Exit(runRestore(os.Args[2:]))
	case "parse-worker":
		os.Exit(runParseWorker(os.Args[2:]))
	case "--version", "version":
		fmt.Println("mcp-docs", fullVersion())
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
}

func runServe() {
	var o service.Options
	spec := serve.Spec{
		Name: "mcp-docs", Version: version, Title: "read-only docs MCP server",
		Instructions: "Read-only search over the team's runbooks, ADRs, manifests, charts, Terraform and pipelines. docs_search finds chunks with citations (path#heading@version); docs_get reads a chunk's neighbours or whole section; docs_sources says what is indexed and how fresh. Cite what you use. Secrets are masked.",
		Routes:       map[string]http.Handler{},
		Prompts:      tools.Prompts(),
		Tools:        docsTools,
	}
	serve.Main(spec, 8085, func(fs *pflag.FlagSet) { service.AddFlags(fs, &o, true) },
		func(ctx context.Context, log *slog.Logger) ([]tool.Tool, func(context.Context) error, error) {
			svc, err := service.Open(ctx, o, log)
			if err != nil {
				return nil, nil, err
			}
			hook, err := svc.Webhook(o.WebhookFile)
			if err != nil {
				return nil, nil, err
			}
			if hook != nil {
				spec.Routes["/webhook/gitea"] = hook
			}
			// Indexing runs beside the tools for the life of the process.
			go svc.Run(context.Background(), o.ReindexEvery)
			s := &tools.Server{Store: svc.Store, Searcher: svc.Searcher}
			ready := func(ctx context.Context) error {
				_, err := svc.Store.Sources(ctx)
				return err
			}
			return s.Tools(), ready, nil
		})
}

func runIndex(args []string) int {
	fs := config.NewFlagSet("mcp-docs index", "index the sources now")
	var o service.Options
	service.AddFlags(fs, &o, false)
	only := fs.StringArray("source", nil, "index only this source (repeatable)")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	if err := config.Parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "mcp-docs index:", err)
		return 2
	}
	log := serve.Logger("info")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := service.Open(ctx, o, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs index:", err)
		return 2
	}
	defer svc.Close()
	svc.Indexer.Progress = progressPrinter(os.Stderr)
	code := 0
	var reports []index.Report
	for _, src := range svc.Sources.Sources {
		if len(*only) > 0 && !contains(*only, src.Name) {
			continue
		}
		rep, err := svc.Indexer.Index(ctx, src)
		if err != nil {
			fmt.Fprintf(os.Stderr, "\n%s: %v\n", src.Name, err)
			code = 1
			continue
		}
		reports = append(reports, rep)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(reports)
		return code
	}
	for _, r := range reports {
		fmt.Printf("%s @%s: %d files (%d changed, %d unchanged, %d deleted), %d chunks written, %d embedded, in %s\n",
			r.Source, r.Version, r.Files, r.Changed, r.Unchanged, r.Deleted, r.Chunks, r.Embedded, r.Took.Round(time.Millisecond))
		for _, f := range r.Skipped {
			fmt.Printf("  not indexed: %s\n", f)
		}
		if r.EmbedError != "" {
			fmt.Printf("  embeddings incomplete (keyword search still works): %s\n", r.EmbedError)
		}
	}
	return code
}

// runParseWorker is the child that index and serve parse files in: it
// bounds its own heap, then answers parse requests on stdin until it
// ends. Not for people: the parent starts it.
func runParseWorker(args []string) int {
	fs := pflag.NewFlagSet("mcp-docs parse-worker", pflag.ContinueOnError)
	mem := fs.Int64("memory-bytes", 0, "heap bound of this process")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs parse-worker:", err)
		return 2
	}
	if err := parse.LimitMemory(*mem); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs parse-worker:", err)
		return 1
	}
	if err := parse.ServeWorker(os.Stdin, os.Stdout, parse.Parse); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs parse-worker:", err)
		return 1
	}
	return 0
}

func runBackup(args []string) int {
	fs := config.NewFlagSet("mcp-docs backup", "copy the index while it serves")
	db := fs.String("db", "", "the index file")
	to := fs.String("to", "", "where to write the copy (must not exist)")
	if err := config.Parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "mcp-docs backup:", err)
		return 2
	}
	if *db == "" || *to == "" {
		fmt.Fprintln(os.Stderr, "mcp-docs backup: give --db and --to")
		return 2
	}
	if _, err := os.Stat(*db); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs backup:", err)
		return 2
	}
	st, err := store.OpenSQLite(*db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs backup:", err)
		return 1
	}
	defer st.Close()
	if err := st.Backup(context.Background(), *to); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs backup:", err)
		return 1
	}
	fmt.Println("wrote", *to)
	return 0
}

// runRestore makes a new index file from a backup; docs/operations.md is
// the runbook around it (stop the server, restore, start it).
func runRestore(args []string) int {
	fs := config.NewFlagSet("mcp-docs restore", "make a new index file from a backup")
	from := fs.String("from", "", "the backup (a file mcp-docs backup wrote)")
	db := fs.String("db", "", "the index file to create (must not exist: move the old one aside first)")
	if err := config.Parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "mcp-docs restore:", err)
		return 2
	}
	if *from == "" || *db == "" {
		fmt.Fprintln(os.Stderr, "mcp-docs restore: give --from and --db")
		return 2
	}
	sum, err := store.Restore(context.Background(), *from, *db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-docs", err)
		return 1
	}
	fmt.Printf("restored %s: %d sources, %d files, %d chunks\n", *db, sum.Sources, sum.Files, sum.Chunks)
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// progressPrinter shows a run's progress on one rewritten line when w is
// a terminal, and a line every few seconds otherwise.
func progressPrinter(w *os.File) func(index.Progress) {
	st, _ := w.Stat()
	tty := st != nil && st.Mode()&os.ModeCharDevice != 0
	var last time.Time
	skips := 0
	return func(p index.Progress) {
		if p.Skipped > skips && p.Phase != "done" {
			// Every skipped file is named when it happens, not throttled.
			skips = p.Skipped
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			fmt.Fprintf(w, "[%s] skipped %s\n", p.Source, p.LastSkipped)
		}
		if !tty && p.Phase != "done" && time.Since(last) < 5*time.Second {
			return
		}
		if tty && p.Phase != "done" && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		line := fmt.Sprintf("[%s] %s: files %d/%d, chunks %d, embedded %d", p.Source, p.Phase, p.Files, p.TotalFiles, p.Chunks, p.Embedded)
		if p.Skipped > 0 {
			line += fmt.Sprintf(", skipped %d (last: %s)", p.Skipped, p.LastSkipped)
		}
		if p.EmbedPerSec > 0 {
			line += fmt.Sprintf(" (%.1f/s)", p.EmbedPerSec)
		}
		if p.ETA > 0 {
			line += fmt.Sprintf(", ETA %s", p.ETA.Round(time.Second))
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
			if p.Phase == "done" {
				fmt.Fprintln(w)
			}
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

// docsTools is the tool table without an index, for the tools schema's id
// in the version (serve.Spec.Tools).
func docsTools() []tool.Tool { return (&tools.Server{}).Tools() }

// fullVersion is what `mcp-docs --version` prints, the same as `mcp-docs
// serve --version` and serverInfo.version: the build's version with its
// tools schema's id.
func fullVersion() string {
	return toollist.Version(version, "mcp-docs", docsTools(), serve.DefaultMaxOutputBytes)
}
