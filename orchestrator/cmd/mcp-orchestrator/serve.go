package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/orchestrator/internal/catalog"
	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/orchestrator/internal/server"
	"github.com/opsmcp/opsmcp/orchestrator/internal/telemetry"
	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/config"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/transport"
)

// serveFlags are serve's flags: the suite's shared ones (listen, TLS,
// token file and OIDC auth, delegates, origins and hosts, body limit,
// policy, audit, rate limit, mask key; each also from OPSMCP_<FLAG>) and
// serve's own.
type serveFlags struct {
	fs                *pflag.FlagSet
	o                 serve.Options
	config, model, ca *string
	steps, parallel   *int
	// tool calls one model turn, and one answer, may have run
	perTurn, perAnswer *int
	every              *time.Duration
}

func newServeFlags() *serveFlags {
	f := &serveFlags{fs: config.NewFlagSet("mcp-orchestrator serve",
		"an Ollama-compatible /api/chat and /api/tags and an OpenAI-compatible /v1/chat/completions and /v1/models whose answers may call the configured MCP servers' tools")}
	fs := f.fs
	serve.AddFlags(fs, &f.o, 8080)
	// serve is HTTP only, answers rather than tool results are its unit,
	// and an answer is costlier than a tool call.
	for name, def := range map[string]string{"transport": "http", "rate-limit": "30", "rate-burst": "0"} {
		if err := serve.SetDefault(fs, name, def); err != nil {
			panic(err)
		}
	}
	for _, name := range []string{"transport", "max-output-bytes", "call-timeout"} {
		fs.MarkHidden(name)
	}
	fs.Lookup("rate-limit").Usage = "answers per minute per user (0: unlimited)"
	fs.Lookup("rate-burst").Usage = "answers a user may ask at once above the rate (0: a tenth of a minute's, at least 1)"
	fs.Lookup("policy").Usage = "policy file: roles -> the tools their answers may call (default: all)"
	f.config = fs.String("config", os.Getenv("OPSMCP_ORCHESTRATOR_CONFIG"), "YAML file listing the MCP servers")
	f.model = fs.String("model", "", "model for requests that name none")
	f.steps = fs.Int("max-steps", 6, "most model turns per answer")
	f.perTurn = fs.Int("max-calls-per-turn", 8, "most tool calls one model turn may have run; the rest are refused and the model told")
	f.perAnswer = fs.Int("max-calls-per-answer", 32, "most tool calls one answer may have run")
	f.every = fs.Duration("poll-every", 5*time.Second, "how often to poll the endpoints' tags and loaded models")
	f.parallel = fs.Int("parallel", 4, "requests each Ollama endpoint runs at once (its OLLAMA_NUM_PARALLEL); more wait in a fair per-user queue")
	f.ca = fs.String("ollama-ca-file", os.Getenv(gateway.CAFileEnv), "PEM file of the CAs the Ollama endpoints' certificates must chain to (they must then be https)")
	return f
}

// parse reads args and the environment and checks the result, with a
// message that says what to fix.
func (f *serveFlags) parse(args []string) error {
	if err := config.Parse(f.fs, args); err != nil {
		return err
	}
	switch f.o.Transport {
	case "http", "":
		// An empty OPSMCP_TRANSPORT (a unit's blanket environment) is the
		// default.
		f.o.Transport = "http"
	default:
		return fmt.Errorf("--transport %q: serve is HTTP only", f.o.Transport)
	}
	if *f.config == "" {
		return fmt.Errorf("serve needs --config (the MCP servers)")
	}
	if err := checkCallCaps(*f.perTurn, *f.perAnswer); err != nil {
		return err
	}
	return f.o.Check()
}

// serveCmd runs serve on the suite's shared HTTP host: the same
// authentication, Host and Origin checks, body limit, TLS, /healthz,
// /readyz and /metrics as every server, with the chat API as its
// authenticated routes.
func serveCmd(args []string) int {
	f := newServeFlags()
	if err := f.parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		fmt.Fprintln(os.Stderr, "mcp-orchestrator serve:", err)
		return 2
	}
	o := f.o
	log := serve.Logger(o.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runServe(ctx, f, log); err != nil {
		log.Error("serve stopped", "err", err)
		return 1
	}
	return 0
}

func runServe(ctx context.Context, f *serveFlags, log *slog.Logger) error {
	o := f.o
	masker, err := o.Masker()
	if err != nil {
		return err
	}
	auditKey, err := o.AuditKey()
	if err != nil {
		return err
	}
	pol, err := policy.Load(o.Policy)
	if err != nil {
		return err
	}
	auditLog, err := audit.Open(o.AuditLog, o.AuditMaxMB, o.AuditBackups)
	if err != nil {
		return err
	}
	defer auditLog.Close()
	cfg, err := catalog.Load(*f.config)
	if err != nil {
		return err
	}
	if *f.ca != "" {
		cfg.OllamaCAFile = *f.ca
	}
	eps, err := endpoints(cfg, 2*time.Minute)
	if err != nil {
		return err
	}
	ho, err := o.HTTPOptions(ctx, log)
	if err != nil {
		return err
	}
	cat, err := catalog.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	tel := telemetry.New()
	tel.Registry.MustRegister(auditLog.Collector("mcp-orchestrator"))
	gw := gateway.New(eps)
	for _, ep := range eps {
		gw.SetParallel(ep.Name, *f.parallel)
	}
	for _, e := range cfg.Endpoints {
		if e.Parallel > 0 {
			gw.SetParallel(e.Name, e.Parallel)
		}
	}
	lanes := make([]gateway.Lane, len(cfg.Lanes))
	for i, l := range cfg.Lanes {
		lanes[i] = gateway.Lane{Name: l.Name, Model: l.Model, Hosts: l.Hosts}
	}
	gw.SetLanes(lanes)
	gw.OnModelEvent(tel.ModelEvent)
	tel.Watch(gw)
	warm, err := warmer(cfg, gw, tel, log)
	if err != nil {
		return err
	}
	go gw.Run(ctx, *f.every)
	if warm != nil {
		go warm.Run(ctx)
	}
	srv := &server.Server{Gateway: gw, Audit: auditLog, AuditRequired: o.AuditIsRequired(), Masker: masker, AuditKey: auditKey, Log: log,
		Model: *f.model, RatePerMinute: o.RatePerMinute, Burst: o.RateBurst,
		Agent: f.agent(gw, cat, masker, cfg, tel, pol)}
	ho.AuthRoutes = srv.Routes()
	ho.Metrics = tel.Handler()
	ho.Readyz = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ready(w, gw.States()) })
	return serve.ListenAndServe(ctx, "mcp-orchestrator", o, transport.Handler(ho), log,
		"endpoints", len(eps), "tools", len(cat.Tools()), "auth", ho.Verifier != nil)
}

// warmer is the config's warm-up over gw, or nil when it has none.
func warmer(cfg *catalog.Config, gw *gateway.Gateway, tel *telemetry.Metrics, log *slog.Logger) (*warmup.Warmer, error) {
	if !cfg.Warmup.Enabled() {
		return nil, nil
	}
	set, err := cfg.Warmup.Parse()
	if err != nil {
		return nil, err
	}
	for host := range set.VRAM {
		if _, ok := gw.Endpoint(host); !ok {
			return nil, fmt.Errorf("warmup: vram names %q, which is not an Ollama endpoint (%s)", host, endpointNames(gw))
		}
	}
	return warmup.New(gw, set, cfg.WarmLanes(), tel, log), nil
}

func endpointNames(gw *gateway.Gateway) string {
	var names []string
	for _, ep := range gw.Endpoints() {
		names = append(names, ep.Name)
	}
	return strings.Join(names, ", ")
}

// agent is the agent serve answers with, as the flags set it: each tool
// call made for the asking user (not AsItself).
func (f *serveFlags) agent(gw *gateway.Gateway, cat *catalog.Catalog, masker *mask.Masker, cfg *catalog.Config, obs agent.Observer, pol *policy.Policy) *agent.Agent {
	return &agent.Agent{Gateway: gw, Catalog: cat, Masker: masker, Model: *f.model, MaxSteps: *f.steps, PollAge: 2 * *f.every,
		MaxCallsPerTurn: *f.perTurn, MaxCallsPerAnswer: *f.perAnswer,
		Lanes: cfg.Lanes, Modes: cfg.Modes, Observer: obs, Policy: pol}
}

// ready answers 200 when at least one Ollama endpoint answered its last
// poll, so a rollout waits for the mesh and a pod that lost every host
// leaves the Service; the body names each endpoint and whether it is up.
func ready(w http.ResponseWriter, states []gateway.State) {
	var b strings.Builder
	healthy := 0
	for _, st := range states {
		if st.Healthy {
			healthy++
			fmt.Fprintf(&b, "%s: ok\n", st.Endpoint)
		} else {
			// No error text: /readyz is unauthenticated.
			fmt.Fprintf(&b, "%s: down\n", st.Endpoint)
		}
	}
	if healthy == 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		if len(states) == 0 {
			b.WriteString("no Ollama endpoint polled yet\n")
		}
	}
	w.Write([]byte(b.String()))
}
