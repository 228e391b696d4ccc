// Command mcp-orchestrator lets the team's Ollama models use the suite's
// tools through a mesh-aware gateway. This version has the endpoint check;
// serve, chat and ask are the open orchestrator issue's.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/orchestrator/internal/topology"
)

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	switch os.Args[1] {
	case "topology-check":
		os.Exit(topologyCheck(os.Args[2:]))
	case "version", "--version":
		fmt.Println("mcp-orchestrator", version)
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `Usage: mcp-orchestrator <command> [flags]

Commands:
  topology-check   check every Ollama endpoint (OLLAMA_URL, OLLAMA_SECONDARY_URL,
                   OLLAMA_FALLBACK_URL): tags, expected models, a short generation,
                   /api/ps, CPU-only warning; exits non-zero on failure
  version          print the version
`)
}

func topologyCheck(args []string) int {
	fs := pflag.NewFlagSet("topology-check", pflag.ContinueOnError)
	models := fs.StringArray("model", nil, "model every endpoint must have (repeatable)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 2*time.Minute, "time limit of the whole check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	eps, err := gateway.FromEnv(*timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rep := topology.Run(ctx, gateway.New(eps), *models)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		fmt.Print(rep.Text())
	}
	if !rep.OK {
		return 1
	}
	return 0
}
