// Command mcp-orchestrator lets the team's Ollama models use the suite's
// tools through a mesh-aware gateway: topology-check, ask, chat and serve.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	ollamaapi "github.com/ollama/ollama/api"
	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/orchestrator/internal/catalog"
	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/orchestrator/internal/topology"
	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
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
	case "serve":
		os.Exit(serveCmd(os.Args[2:]))
	case "chat":
		os.Exit(chat(os.Args[2:]))
	case "eval":
		os.Exit(evalCmd(os.Args[2:]))
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
                   /api/ps, CPU-only warning, what is warm where (per lane with
                   --config); exits non-zero on failure
  ask "QUESTION"   answer one question with a model that may call the configured
                   MCP servers' tools; a kubectl command line runs directly
                   through mcp-kubernetes, with no model
  chat             an interactive conversation on the terminal: each tool call is
                   shown with its duration; /reset starts over, /quit ends
  serve            serve an Ollama-compatible /api/chat and /api/tags and an
                   OpenAI-compatible /v1/chat/completions and /v1/models whose
                   answers may call the configured servers' tools
  eval             run a question set with each --models model and --modes mode against
                   the configured servers and judge every answer by fixed rules; writes
                   report.md, report.json and report.html (a chart) to --out
  version          print the version
`)
}

func topologyCheck(args []string) int {
	fs := pflag.NewFlagSet("topology-check", pflag.ContinueOnError)
	models := fs.StringArray("model", nil, "model every endpoint must have (repeatable)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 2*time.Minute, "time limit of the whole check")
	config := fs.String("config", os.Getenv("OPSMCP_ORCHESTRATOR_CONFIG"), "the orchestrator's config: its endpoints too, and per lane and host whether the lane's model is warm")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := &catalog.Config{}
	if *config != "" {
		var err error
		if cfg, err = catalog.Load(*config); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	eps, err := endpoints(cfg, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rep := topology.Run(ctx, gateway.New(eps), *models, cfg.WarmLanes()...)
	var set *warmup.Settings
	if cfg.Warmup.Enabled() {
		s, _ := cfg.Warmup.Parse() // checked by catalog.Load
		set = &s
	}
	rep.AddLanes(cfg.WarmLanes(), set, time.Now())
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

// session is what ask and chat share: flags, the catalog and the agent.
type session struct {
	fs      *pflag.FlagSet
	config  *string
	model   *string
	steps   *int
	timeout *time.Duration
	caFile  *string
	// tool calls one model turn, and one answer, may have run
	perTurn, perAnswer *int
}

func newSession(name string) *session {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	return &session{fs: fs,
		config:    fs.String("config", os.Getenv("OPSMCP_ORCHESTRATOR_CONFIG"), "YAML file listing the MCP servers (servers: [{name, command, args, env} or {name, url, token_file}])"),
		model:     fs.String("model", os.Getenv("OPSMCP_MODEL"), "model to answer with"),
		steps:     fs.Int("max-steps", 6, "most model turns per answer"),
		timeout:   fs.Duration("timeout", 5*time.Minute, "time limit of one answer"),
		perTurn:   fs.Int("max-calls-per-turn", 8, "most tool calls one model turn may have run; the rest are refused and the model told"),
		perAnswer: fs.Int("max-calls-per-answer", 32, "most tool calls one answer may have run"),
		caFile:    fs.String("ollama-ca-file", os.Getenv(gateway.CAFileEnv), "PEM file of the CAs the Ollama endpoints' certificates must chain to (they must then be https)"),
	}
}

// checkCallCaps refuses a tool-call cap below 1 (the agent would quietly
// take its default for it).
func checkCallCaps(perTurn, perAnswer int) error {
	if perTurn < 1 {
		return fmt.Errorf("--max-calls-per-turn %d: use at least 1", perTurn)
	}
	if perAnswer < 1 {
		return fmt.Errorf("--max-calls-per-answer %d: use at least 1", perAnswer)
	}
	return nil
}

// agent connects the configured servers and makes the agent; close ends
// the sessions.
func (s *session) agent(ctx context.Context) (*agent.Agent, func(), error) {
	cfg, err := catalog.Load(*s.config)
	if err != nil {
		return nil, nil, err
	}
	if *s.caFile != "" {
		cfg.OllamaCAFile = *s.caFile
	}
	cat, err := catalog.Connect(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	// ask and chat act as whoever runs them: the servers see the
	// orchestrator's own identity, no user is named.
	a := &agent.Agent{Catalog: cat, Masker: mask.New(nil), Model: *s.model, MaxSteps: *s.steps, Lanes: cfg.Lanes, Modes: cfg.Modes, AsItself: true,
		MaxCallsPerTurn: *s.perTurn, MaxCallsPerAnswer: *s.perAnswer}
	eps, err := endpoints(cfg, 2*time.Minute)
	switch {
	case err == nil:
		a.Gateway = gateway.New(eps)
	case len(cfg.Endpoints) > 0 || os.Getenv("OLLAMA_URL") != "" || os.Getenv("OLLAMA_SECONDARY_URL") != "" || os.Getenv("OLLAMA_FALLBACK_URL") != "":
		// Endpoints are configured but wrong (a bad URL, a CA file that
		// does not load): say so rather than run without them.
		cat.Close()
		return nil, nil, err
	}
	// No endpoint at all: kubectl lines still work.
	a.Events = func(ev agent.Event) {
		args, _ := json.Marshal(ev.Args)
		status := ""
		if ev.Error != "" {
			status = " error: " + ev.Error
		}
		fmt.Fprintf(os.Stderr, "-> %s %s (%s)%s\n", ev.Tool, args, ev.Duration.Round(time.Millisecond), status)
	}
	return a, cat.Close, nil
}

// endpoints are the OLLAMA_* variables' hosts, then the config file's.
func endpoints(cfg *catalog.Config, timeout time.Duration) ([]gateway.Endpoint, error) {
	ca := cfg.OllamaCAFile
	if ca == "" {
		ca = os.Getenv(gateway.CAFileEnv)
	}
	eps, envErr := gateway.FromEnvCA(timeout, ca)
	for _, e := range cfg.Endpoints {
		ep, err := gateway.NewEndpointCA(e.Name, e.URL, timeout, ca)
		if err != nil {
			return nil, fmt.Errorf("config endpoint %s: %w", e.Name, err)
		}
		eps = append(eps, ep)
	}
	if len(eps) == 0 {
		return nil, envErr
	}
	return eps, nil
}

func ask(args []string) int {
	s := newSession("ask")
	asJSON := s.fs.Bool("json", false, "print the answer and its tool calls as JSON")
	if err := s.fs.Parse(args); err != nil {
		return 2
	}
	if s.fs.NArg() != 1 || *s.config == "" {
		fmt.Fprintln(os.Stderr, `usage: mcp-orchestrator ask --config servers.yaml [--model M] [--json] "question"`)
		return 2
	}
	if err := checkCallCaps(*s.perTurn, *s.perAnswer); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator ask:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *s.timeout)
	defer cancel()
	a, closeAll, err := s.agent(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closeAll()
	if *asJSON {
		a.Events = nil
	}
	ans, err := a.Ask(ctx, s.fs.Arg(0))
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

// chat reads questions line by line and keeps the conversation.
func chat(args []string) int {
	s := newSession("chat")
	if err := s.fs.Parse(args); err != nil {
		return 2
	}
	if *s.config == "" {
		fmt.Fprintln(os.Stderr, "usage: mcp-orchestrator chat --config servers.yaml [--model M]")
		return 2
	}
	if err := checkCallCaps(*s.perTurn, *s.perAnswer); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator chat:", err)
		return 2
	}
	a, closeAll, err := s.agent(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closeAll()
	var history []ollamaapi.Message
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		fmt.Fprint(os.Stderr, "> ")
		if !in.Scan() {
			return 0
		}
		line := strings.TrimSpace(in.Text())
		switch line {
		case "":
			continue
		case "/quit", "/exit":
			return 0
		case "/reset":
			history = nil
			fmt.Fprintln(os.Stderr, "(new conversation)")
			continue
		}
		history = append(history, ollamaapi.Message{Role: "user", Content: line})
		ctx, cancel := context.WithTimeout(context.Background(), *s.timeout)
		ans, err := a.Run(ctx, agent.Request{Model: *s.model, Messages: history,
			Tokens: func(piece string) { fmt.Print(piece) }, // the answer as the model writes it
			Queued: func(q agent.Queue) { fmt.Fprintf(os.Stderr, "(%s)\n", strings.TrimSpace(q.String())) }})
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			history = history[:len(history)-1]
			continue
		}
		fmt.Println()
		if ans.Thinking != "" {
			fmt.Fprintf(os.Stderr, "(thinking) %s\n", ans.Thinking)
		}
		history = append(history, ollamaapi.Message{Role: "assistant", Content: ans.Text})
	}
}
