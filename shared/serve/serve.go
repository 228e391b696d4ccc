// Package serve is the one way a suite binary runs: it owns the common
// flags (transport, listen address, TLS, auth, policy, audit, budgets,
// rate limits), builds the shared middleware around the server's tools,
// and serves them over stdio or HTTP until SIGINT or SIGTERM.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/config"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/memlimit"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/prompt"
	"github.com/opsmcp/opsmcp/shared/tool"
	"github.com/opsmcp/opsmcp/shared/toollist"
	"github.com/opsmcp/opsmcp/shared/transport"
)

// Options are the flags every binary shares.
type Options struct {
	Transport      string
	Listen         string
	TLSCert        string
	TLSKey         string
	AuthTokens     string
	OIDCIssuer     string
	OIDCAudience   string
	OIDCUserClaim  string
	OIDCRolesClaim string
	// OIDCRoleMap ("group=role") and OIDCGroupPrefix map OIDC groups to
	// roles; a group is never a role by itself.
	OIDCRoleMap     []string
	OIDCGroupPrefix string
	// Delegates may act for other users (auth.Delegation).
	Delegates      []string
	InsecureNoAuth bool
	AllowedOrigins []string
	// AllowedHosts are Host names accepted besides loopback ones.
	AllowedHosts []string
	// MaxBodyBytes bounds a request body (413 above it).
	MaxBodyBytes int64
	Policy       string
	AuditLog     string
	// AuditRequired fails a call whose audit line cannot be written; nil:
	// the default of AuditIsRequired.
	AuditRequired  *bool
	AuditMaxMB     int
	AuditBackups   int
	MaxOutputBytes int
	CallTimeout    time.Duration
	// ShutdownGrace is how long calls in flight may run on after SIGTERM.
	ShutdownGrace time.Duration
	RatePerMinute float64
	RateBurst     int
	MaskKeyFile   string
	LogLevel      string
	// LegacySSE serves the deprecated HTTP+SSE transport (/sse, /message)
	// beside /mcp.
	LegacySSE bool
}

// DefaultShutdownGrace is --shutdown-grace's default: within a
// Kubernetes pod's default 30 s termination grace.
const DefaultShutdownGrace = 10 * time.Second

// drainTimeout bounds the wait for cancelled calls to end and be audited
// (the binder answers at most its stop grace after a cancel).
const drainTimeout = 5 * time.Second

// DefaultMaxOutputBytes bounds a result when --max-output-bytes is not set:
// large enough for a page of objects, small enough for a 8k-context model.
const DefaultMaxOutputBytes = 32 * 1024

// AddFlags registers the common flags; port is the binary's default port.
func AddFlags(fs *pflag.FlagSet, o *Options, port int) {
	fs.StringVar(&o.Transport, "transport", "stdio", "stdio or http")
	fs.StringVar(&o.Listen, "listen", fmt.Sprintf("127.0.0.1:%d", port), "HTTP listen address")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate file (HTTP)")
	fs.StringVar(&o.TLSKey, "tls-key", "", "TLS private key file (HTTP)")
	fs.StringVar(&o.AuthTokens, "auth-tokens", "", "bearer token file: one token,user,role[;role...] per line; token may be sha256:<hex>")
	fs.StringVar(&o.OIDCIssuer, "oidc-issuer", "", "OpenID Connect issuer URL whose JWTs are accepted as bearer tokens")
	fs.StringVar(&o.OIDCAudience, "oidc-audience", "", "audience (client id) the JWTs must carry")
	fs.StringVar(&o.OIDCUserClaim, "oidc-user-claim", "preferred_username", "JWT claim naming the user")
	fs.StringVar(&o.OIDCRolesClaim, "oidc-roles-claim", "groups", "JWT claim listing the user's groups, which --oidc-role-map and --oidc-group-prefix turn into roles")
	fs.StringSliceVar(&o.OIDCRoleMap, "oidc-role-map", nil, "group=role: OIDC users in group get role (repeatable); a group is never a role by itself")
	fs.StringVar(&o.OIDCGroupPrefix, "oidc-group-prefix", "", "OIDC users in group <prefix><role> get <role> (e.g. opsmcp- : group opsmcp-sre gives role sre)")
	fs.StringSliceVar(&o.Delegates, "delegates", nil, "users allowed to act for others with X-Opsmcp-On-Behalf-Of / X-Opsmcp-User-Token (repeatable): a token-file user by name, an OIDC user as oidc:<name> (default: none)")
	fs.BoolVar(&o.InsecureNoAuth, "insecure-no-auth", false, "allow HTTP without auth on a non-loopback address")
	fs.StringSliceVar(&o.AllowedOrigins, "allowed-origins", nil, "browser Origin values allowed on the MCP endpoints (repeatable)")
	fs.StringSliceVar(&o.AllowedHosts, "allowed-hosts", nil, "Host names accepted besides localhost and loopback addresses, e.g. a proxy's public name (repeatable); on a non-loopback listener, the only ones accepted when given")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", transport.DefaultMaxBodyBytes, "largest request body accepted (413 above it)")
	fs.StringVar(&o.Policy, "policy", "", "policy file mapping roles to tools and scopes (default: every caller may call every tool)")
	fs.StringVar(&o.AuditLog, "audit-log", "stderr", "audit log destination: stderr, off, or a file path (rotated)")
	fs.IntVar(&o.AuditMaxMB, "audit-max-mb", 100, "rotate the audit log file at this size")
	fs.IntVar(&o.AuditBackups, "audit-backups", 10, "rotated audit files to keep")
	fs.Var(optionalBool{&o.AuditRequired}, "audit-required", "fail a call whose audit line cannot be written (default: true over HTTP, false over stdio)")
	fs.Lookup("audit-required").NoOptDefVal = "true"
	fs.IntVar(&o.MaxOutputBytes, "max-output-bytes", DefaultMaxOutputBytes, "byte budget of one tool result (callers may ask for less)")
	fs.DurationVar(&o.CallTimeout, "call-timeout", 60*time.Second, "time limit of one tool call")
	fs.DurationVar(&o.ShutdownGrace, "shutdown-grace", DefaultShutdownGrace, "after SIGTERM, how long calls in flight may finish before they are cancelled (their audit lines are written either way)")
	fs.Float64Var(&o.RatePerMinute, "rate-limit", 120, "tool calls per minute per user (0: unlimited)")
	fs.IntVar(&o.RateBurst, "rate-burst", 30, "calls a user may make at once above the rate")
	fs.StringVar(&o.MaskKeyFile, "mask-key-file", "", "key for the hashes in masked placeholders (default: random per process)")
	fs.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error (logs go to stderr)")
	fs.BoolVar(&o.LegacySSE, "legacy-sse", true, "also serve the legacy HTTP+SSE transport (/sse, /message), deprecated in the MCP spec; --legacy-sse=false turns it off")
}

// Spec describes one binary.
type Spec struct {
	Name    string // binary name, e.g. mcp-kubernetes
	Version string
	Title   string
	// Instructions are sent to clients at initialization.
	Instructions string
	// Ready, if set, backs /readyz.
	Ready func(ctx context.Context) error
	// Upstream names the service the tools read ("Gitea", "Loki"), for
	// /readyz and for calls that time out or fail in transport.
	Upstream string
	// Routes are further HTTP endpoints on the same listener (a webhook,
	// say); they do their own authentication. Not served over stdio.
	Routes map[string]http.Handler
	// Prompts are the server's MCP prompts; each one's tools must be
	// among the binary's tools.
	Prompts []prompt.Prompt
	// Tools, if set, returns the binary's tool table without an upstream
	// (schemas only): Main then adds the tools schema's id to Version
	// ("0.1.0+tools.a3dfe5ae5251"), in --version and serverInfo.version,
	// so a changed schema shows in the version (README: Upgrade policy).
	Tools func() []tool.Tool
	// MemoryCost, when set, is the memory in bytes one byte of the
	// upstream's answer takes in a call (read, decoded, masked, shaped),
	// as the server measured it: the calls may then hold answers worth
	// half the process's memory limit at once (the cgroup's or
	// GOMEMLIMIT, 1 GiB with neither), and each call's reads are held
	// at this cost until its result is sent (shared/memory).
	MemoryCost int64
	// MemoryCosts and MemoryNarrow complete the refusal of an answer
	// too large: what costs more (", more with -o json") and how to
	// narrow the request (" (a selector, a namespace)").
	MemoryCosts, MemoryNarrow string
}

// AnswerMemory is what the calls may hold of upstream answers at once,
// given the process's memory limit (0: none): half of it, the rest being
// the server's own (mcp-kubernetes idles at about 80 MiB over HTTP with
// its caches) and what the costs do not see; 1 GiB without a limit.
func AnswerMemory(limit int64) int64 {
	if limit <= 0 {
		return 1 << 30
	}
	return limit / 2
}

// listTTL is the caching hint on tools/list and prompts/list for
// 2026-07-28 clients: the tables are fixed for the life of the process.
// The scope is private: what a caller may call depends on who it is.
const listTTL = 5 * time.Minute

// Logger returns the process logger for a --log-level value, on stderr:
// stdout belongs to the stdio transport.
func Logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// Check validates the options before anything starts, with messages that
// say what to fix.
func (o *Options) Check() error {
	switch o.Transport {
	case "stdio", "http":
	default:
		return fmt.Errorf("--transport %q: use stdio or http", o.Transport)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if o.MaxBodyBytes != 0 && o.MaxBodyBytes < 1024 { // 0: the default
		return fmt.Errorf("--max-body-bytes %d: use at least 1024", o.MaxBodyBytes)
	}
	if o.MaxOutputBytes < 1024 {
		return fmt.Errorf("--max-output-bytes %d: use at least 1024", o.MaxOutputBytes)
	}
	if o.OIDCIssuer != "" && o.OIDCAudience == "" {
		return errors.New("--oidc-issuer needs --oidc-audience")
	}
	if _, err := auth.ParseRoleMap(o.OIDCRoleMap); err != nil {
		return err
	}
	for _, d := range o.Delegates {
		if name := strings.TrimPrefix(d, "oidc:"); strings.TrimSpace(name) == "" {
			return fmt.Errorf("--delegates %q: name a user (token-file user, or oidc:<user>)", d)
		}
	}
	if o.Transport == "http" {
		if _, _, err := net.SplitHostPort(o.Listen); err != nil {
			return fmt.Errorf("--listen %q: want host:port: %v", o.Listen, err)
		}
		noAuth := o.AuthTokens == "" && o.OIDCIssuer == ""
		if noAuth && !transport.IsLoopback(o.Listen) && !o.InsecureNoAuth {
			return fmt.Errorf("refusing to listen on %s without auth: give --auth-tokens or --oidc-issuer, or --insecure-no-auth if a proxy in front authenticates", o.Listen)
		}
	}
	return nil
}

// Auth builds the HTTP authentication the options ask for: the verifier
// (token file, then OIDC; nil when neither is set) and who may act for
// others.
func (o *Options) Auth(ctx context.Context, log *slog.Logger) (auth.Verifier, *auth.Delegation, error) {
	var verifiers auth.Chain
	d := &auth.Delegation{Delegates: o.Delegates}
	if o.AuthTokens != "" {
		t, err := auth.LoadTokens(o.AuthTokens)
		if err != nil {
			return nil, nil, err
		}
		verifiers = append(verifiers, t)
		d.Users = t
	}
	if o.OIDCIssuer != "" {
		v, err := auth.NewOIDC(ctx, o.OIDCIssuer, o.OIDCAudience, o.OIDCUserClaim, o.OIDCRolesClaim)
		if err != nil {
			return nil, nil, err
		}
		roleMap, err := auth.ParseRoleMap(o.OIDCRoleMap)
		if err != nil {
			return nil, nil, err
		}
		v.Roles = auth.RoleMapping{Map: roleMap, Prefix: o.OIDCGroupPrefix}
		if v.Roles.Empty() {
			log.Warn("OIDC users get no roles: no --oidc-role-map or --oidc-group-prefix is set, and a group is never a role by itself", "issuer", o.OIDCIssuer)
		}
		verifiers = append(verifiers, v)
		d.UserTokens = v
	}
	if len(verifiers) == 0 {
		return nil, nil, nil
	}
	return verifiers, d, nil
}

// Run parses the common options' effects and serves tools until ctx ends,
// SIGINT or SIGTERM.
func Run(ctx context.Context, spec Spec, o Options, tools []tool.Tool, log *slog.Logger) error {
	if err := o.Check(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	pol, err := policy.Load(o.Policy)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(tools))
	for _, t := range tools {
		names = append(names, t.Name)
	}
	if err := pol.CheckTools(names); err != nil {
		return fmt.Errorf("--policy %s: %w", o.Policy, err)
	}
	if err := prompt.Check(spec.Prompts, names); err != nil {
		return fmt.Errorf("%s: %w", spec.Name, err)
	}
	al, err := audit.Open(o.AuditLog, o.AuditMaxMB, o.AuditBackups)
	if err != nil {
		return err
	}
	defer al.Close()
	key, cursorKey, err := o.keys()
	if err != nil {
		return err
	}
	m := metrics.New(spec.Name)
	m.Registry.MustRegister(al.Collector(spec.Name))
	b := &tool.Binder{
		Server: spec.Name, Tools: tools, Masker: mask.New(key), Audit: al, AuditRequired: o.AuditIsRequired(), Metrics: m, Policy: pol,
		MaxBytes: o.MaxOutputBytes, CallTimeout: o.CallTimeout,
		RatePerMinute: o.RatePerMinute, Burst: o.RateBurst, Logger: log, CursorKey: cursorKey,
		Upstream: spec.Upstream,
	}
	if spec.MemoryCost > 0 {
		b.Memory = memory.NewBudget(AnswerMemory(memlimit.Process()))
		b.Memory.Costs, b.Memory.Narrow = spec.MemoryCosts, spec.MemoryNarrow
		b.MemoryCost = spec.MemoryCost
		log.Info("memory for upstream answers", "MiB", b.Memory.Limit()>>20, "bytes_a_byte", spec.MemoryCost)
	}
	// /readyz's "since" is the first probe or call that found the
	// upstream failing. It is not probed at the start: the server sends
	// its upstream nothing nobody asked for.
	health := &Health{Upstream: spec.Upstream, Check: spec.Ready}
	b.OnUpstreamError = health.Failed
	caps := &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}
	var complete func(context.Context, *mcp.CompleteRequest) (*mcp.CompleteResult, error)
	if len(spec.Prompts) > 0 {
		caps.Prompts = &mcp.PromptCapabilities{}
		caps.Completions = &mcp.CompletionCapabilities{}
		complete = prompt.Complete(spec.Prompts)
	}
	newServer := func(p auth.Principal, session string) *mcp.Server {
		srv := mcp.NewServer(&mcp.Implementation{Name: spec.Name, Title: spec.Title, Version: spec.Version},
			&mcp.ServerOptions{Instructions: spec.Instructions, Logger: log, Capabilities: caps, SetCacheable: setCacheable, CompletionHandler: complete})
		b.Bind(srv, p, session)
		prompt.Register(srv, spec.Prompts)
		return srv
	}

	// Calls still running when the server stops (past the grace) are
	// cancelled; each still writes its audit line before the process
	// exits.
	defer func() {
		if !b.Stop(drainTimeout) {
			log.Warn("calls still running at exit; their audit lines may be missing", "waited", drainTimeout)
		}
	}()
	if o.Transport == "stdio" {
		log.Info("serving on stdio", "server", spec.Name, "tools", len(tools))
		return transport.Stdio(ctx, newServer(auth.Stdio, "stdio"))
	}

	ho, err := o.HTTPOptions(ctx, log)
	if err != nil {
		return err
	}
	ho.NewServer, ho.Metrics, ho.Readyz, ho.Routes = newServer, m.Handler(), health, spec.Routes
	ho.DisableLegacySSE = !o.LegacySSE
	endpoints := "/mcp /sse /message /healthz /readyz /metrics"
	if !o.LegacySSE {
		endpoints = "/mcp /healthz /readyz /metrics"
	}
	return ListenAndServe(ctx, spec.Name, o, transport.Handler(ho), log,
		"endpoints", endpoints, "auth", ho.Verifier != nil, "tools", strings.Join(b.Names(), ","))
}

// setCacheable sets the caching hint of a list result for 2026-07-28
// clients; older clients, and other results, keep the SDK's defaults, so
// what they see does not change.
func setCacheable(_ context.Context, req mcp.Request, c *mcp.Cacheable) {
	ss, ok := req.GetSession().(*mcp.ServerSession)
	if !ok || ss.InitializeParams() == nil || ss.InitializeParams().ProtocolVersion < transport.Stateless {
		return
	}
	switch req.(type) {
	case *mcp.ListToolsRequest, *mcp.ListPromptsRequest:
		c.TTLMs = int(listTTL / time.Millisecond)
		c.CacheScope = "private"
	}
}

// Main is the common body of a cmd/<binary>/main.go: parse flags (with
// env), then run. addFlags registers the binary's own flags; build returns
// its tools and readiness check once flags are parsed.
func Main(spec Spec, port int, addFlags func(fs *pflag.FlagSet), build func(ctx context.Context, log *slog.Logger) ([]tool.Tool, func(context.Context) error, error)) {
	fs := config.NewFlagSet(spec.Name, spec.Title)
	var o Options
	AddFlags(fs, &o, port)
	if addFlags != nil {
		addFlags(fs)
	}
	version := fs.Bool("version", false, "print the version and exit")
	if err := config.Parse(fs, os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", spec.Name, err)
		os.Exit(2)
	}
	if spec.Tools != nil {
		spec.Version = toollist.Version(spec.Version, spec.Name, spec.Tools(), DefaultMaxOutputBytes)
	}
	if *version {
		fmt.Println(spec.Name, spec.Version)
		return
	}
	log := Logger(o.LogLevel)
	// Checked before build, so a bad flag fails before any upstream is dialled.
	if err := o.Check(); err != nil {
		log.Error("bad configuration", "err", err)
		os.Exit(2)
	}
	ctx := context.Background()
	tools, ready, err := build(ctx, log)
	if err != nil {
		log.Error("start failed", "err", err)
		os.Exit(1)
	}
	spec.Ready = ready
	if err := Run(ctx, spec, o, tools, log); err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}
