// Command mcp-orchestrator lets the team's Ollama models use the suite's
// tools through a mesh-aware gateway. This version has topology-check and
// ask; serve and chat are the open orchestrator issue's.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/orchestrator/internal/catalog"
	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/orchestrator/internal/topology"
	"github.com/opsmcp/opsmcp/shared/mask"
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
	case "ask":
		os.Exit(ask(os.Args[2:]))
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
  ask "QUESTION"   answer one question with a model that may call the configured
                   MCP servers' tools; a kubectl command line runs directly
                   through mcp-kubernetes, with no model
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

func ask(args []string) int {
	fs := pflag.NewFlagSet("ask", pflag.ContinueOnError)
	config := fs.String("config", os.Getenv("OPSMCP_ORCHESTRATOR_CONFIG"), "YAML file listing the MCP servers (servers: [{name, command, args, env} or {name, url, token_file}])")
	model := fs.String("model", os.Getenv("OPSMCP_MODEL"), "model to answer with")
	asJSON := fs.Bool("json", false, "print the answer and its tool calls as JSON")
	steps := fs.Int("max-steps", 6, "most model turns")
	timeout := fs.Duration("timeout", 5*time.Minute, "time limit of the whole answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *config == "" {
		fmt.Fprintln(os.Stderr, `usage: mcp-orchestrator ask --config servers.yaml [--model M] [--json] "question"`)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cfg, err := catalog.Load(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cat, err := catalog.Connect(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cat.Close()
	a := &agent.Agent{Catalog: cat, Masker: mask.New(nil), Model: *model, MaxSteps: *steps}
	if eps, err := gateway.FromEnv(time.Minute); err == nil {
		a.Gateway = gateway.New(eps)
	}
	if !*asJSON {
		a.Events = func(ev agent.Event) {
			args, _ := json.Marshal(ev.Args)
			status := ""
			if ev.Error != "" {
				status = " error: " + ev.Error
			}
			fmt.Fprintf(os.Stderr, "-> %s %s (%s)%s\n", ev.Tool, args, ev.Duration.Round(time.Millisecond), status)
		}
	}
	ans, err := a.Ask(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(ans)
		return 0
	}
	if ans.Thinking != "" {
		fmt.Fprintf(os.Stderr, "(thinking) %s\n", ans.Thinking)
	}
	fmt.Println(ans.Text)
	return 0
}
