// Package catalog is the orchestrator's MCP side: a real MCP client of
// every configured server (spawned over stdio, or streamable HTTP with a
// token), one merged list of their tools, and calls whose arguments are
// validated against the tool's input schema before they leave.
package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"gopkg.in/yaml.v3"

	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
	"github.com/opsmcp/opsmcp/shared/auth"
)

// Server is one MCP server in the config file.
type Server struct {
	Name    string   `yaml:"name"`
	Command string   `yaml:"command,omitempty"` // stdio: the binary to spawn
	Args    []string `yaml:"args,omitempty"`
	// Env is KEY=value entries for a spawned server's environment. The
	// server inherits the orchestrator's environment except every OPSMCP_*
	// variable (those are the orchestrator's own settings: its audit log,
	// policy, delegates, tokens…, which the server reads too); an OPSMCP_*
	// setting reaches the server only when set here.
	Env []string `yaml:"env,omitempty"`
	URL string   `yaml:"url,omitempty"` // streamable HTTP endpoint (…/mcp)
	// TokenFile holds the bearer token for URL.
	TokenFile string `yaml:"token_file,omitempty"`
	// Timeout bounds one tool call (default 60s); MaxConcurrent bounds
	// the calls in flight to this server (default 4).
	Timeout       time.Duration `yaml:"timeout,omitempty"`
	MaxConcurrent int           `yaml:"max_concurrent,omitempty"`
	// UserCalls says how the server learns the user a serve call is made
	// for: "headers" (the default for url), "as-orchestrator" (the server
	// is not told and applies the orchestrator's own identity and policy),
	// or "refuse" (the default for command: a stdio server cannot be told,
	// so calls made for a user are refused unless the config says
	// as-orchestrator).
	UserCalls string `yaml:"user_calls,omitempty"`
}

// userCalls is s's UserCalls with its default.
func (s Server) userCalls() string {
	switch {
	case s.UserCalls != "":
		return s.UserCalls
	case s.URL != "":
		return UserCallsHeaders
	}
	return UserCallsRefuse
}

// Lane names a model, the hosts it may use, and the runner options every
// request of the lane carries (the same each time, so Ollama never
// reloads the model for an option that changed).
type Lane struct {
	Name    string         `yaml:"name"`
	Model   string         `yaml:"model"`
	Hosts   []string       `yaml:"hosts,omitempty"`   // endpoint names; none: all
	Options map[string]any `yaml:"options,omitempty"` // e.g. num_ctx: 16384
}

// Endpoint is an Ollama host beyond the OLLAMA_* variables.
type Endpoint struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Parallel is its OLLAMA_NUM_PARALLEL (default: serve --parallel).
	Parallel int `yaml:"parallel,omitempty"`
}

// Config is the orchestrator's server list, extra Ollama endpoints, lanes
// and forced tool-calling modes.
type Config struct {
	Servers   []Server          `yaml:"servers"`
	Endpoints []Endpoint        `yaml:"endpoints,omitempty"`
	Lanes     []Lane            `yaml:"lanes,omitempty"`
	Modes     map[string]string `yaml:"modes,omitempty"` // model -> native or constrained
	// OllamaCAFile is a PEM file of the CAs every Ollama endpoint's
	// certificate must chain to (endpoints must then be https); else
	// OLLAMA_CA_FILE.
	OllamaCAFile string `yaml:"ollama_ca_file,omitempty"`
	// Warmup keeps lanes' models loaded on their hosts in set hours.
	Warmup warmup.Config `yaml:"warmup,omitempty"`
}

// WarmLanes are the lanes as the warm-up sees them.
func (c *Config) WarmLanes() []warmup.Lane {
	out := make([]warmup.Lane, len(c.Lanes))
	for i, l := range c.Lanes {
		out[i] = warmup.Lane{Name: l.Name, Model: l.Model, Hosts: l.Hosts, Options: l.Options}
	}
	return out
}

// Load reads a YAML config file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	for i, s := range c.Servers {
		if s.Name == "" || (s.Command == "") == (s.URL == "") {
			return nil, fmt.Errorf("config %s: server %d needs a name and exactly one of command or url", path, i+1)
		}
		for _, kv := range s.Env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.ContainsRune(kv, 0) {
				return nil, fmt.Errorf("config %s: server %s: env entry %q: write KEY=value", path, s.Name, kv)
			}
		}
		if len(s.Env) > 0 && s.Command == "" {
			return nil, fmt.Errorf("config %s: server %s: env is for a spawned (command) server; a url server's environment is its own", path, s.Name)
		}
		switch s.UserCalls {
		case "", UserCallsAsOrchestrator, UserCallsRefuse:
		case UserCallsHeaders:
			if s.URL == "" {
				return nil, fmt.Errorf("config %s: server %s: user_calls headers needs a url server (a spawned server gets no headers); use as-orchestrator or refuse", path, s.Name)
			}
		default:
			return nil, fmt.Errorf("config %s: server %s: user_calls is %q; use headers, as-orchestrator or refuse", path, s.Name, s.UserCalls)
		}
	}
	for i, l := range c.Lanes {
		if l.Name == "" || l.Model == "" {
			return nil, fmt.Errorf("config %s: lane %d needs a name and a model", path, i+1)
		}
	}
	for i, e := range c.Endpoints {
		if e.Name == "" || e.URL == "" {
			return nil, fmt.Errorf("config %s: endpoint %d needs a name and a url", path, i+1)
		}
	}
	for m, mode := range c.Modes {
		if mode != "native" && mode != "constrained" {
			return nil, fmt.Errorf("config %s: mode of %s is %q; use native or constrained", path, m, mode)
		}
	}
	if _, err := c.Warmup.Parse(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := warmup.CheckLanes(c.Warmup.Lanes, c.WarmLanes()); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// Tool is one tool of the merged catalog.
type Tool struct {
	Server string
	Tool   *mcp.Tool
	schema *jsonschema.Resolved
}

// Catalog is the connected servers and their tools.
type Catalog struct {
	mu       sync.Mutex
	sessions map[string]*mcp.ClientSession
	tools    map[string]Tool
	limits   map[string]limit
	// userCalls is each server's UserCalls (Attach: as-orchestrator).
	userCalls map[string]string
}

// limit is one server's call timeout and concurrency cap.
type limit struct {
	timeout time.Duration
	slots   chan struct{}
}

// New returns an empty catalog; Attach adds servers.
func New() *Catalog {
	return &Catalog{sessions: map[string]*mcp.ClientSession{}, tools: map[string]Tool{}, limits: map[string]limit{}, userCalls: map[string]string{}}
}

// Limit sets a server's call timeout and concurrency cap (0: defaults,
// 60s and 4).
func (c *Catalog) Limit(server string, timeout time.Duration, maxConcurrent int) {
	if timeout <= 0 {
		timeout = time.Minute
	}
	if maxConcurrent <= 0 {
		maxConcurrent = 4
	}
	c.mu.Lock()
	c.limits[server] = limit{timeout: timeout, slots: make(chan struct{}, maxConcurrent)}
	c.mu.Unlock()
}

// Connect starts or reaches every server and lists its tools. Tool names
// are already prefixed per server (k8s_, logs_…); a clash is an error.
func Connect(ctx context.Context, cfg *Config) (*Catalog, error) {
	c := New()
	for _, s := range cfg.Servers {
		sess, err := connect(ctx, s)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("server %s: %w", s.Name, err)
		}
		if err := c.Attach(ctx, s.Name, sess); err != nil {
			c.Close()
			return nil, err
		}
		c.SetUserCalls(s.Name, s.userCalls())
		c.Limit(s.Name, s.Timeout, s.MaxConcurrent)
	}
	return c, nil
}

// SetUserCalls sets how server learns the user of a call (UserCalls*).
func (c *Catalog) SetUserCalls(server, mode string) {
	c.mu.Lock()
	c.userCalls[server] = mode
	c.mu.Unlock()
}

// AsOrchestrator reports whether tool runs on a server configured with
// user_calls: as-orchestrator, which applies the orchestrator's own
// identity and grant to every call: it cannot hold a call to the asking
// user's scopes.
func (c *Catalog) AsOrchestrator(tool string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tools[tool]
	return ok && c.userCalls[t.Server] == UserCallsAsOrchestrator
}

// Attach adds a connected session's tools under server name. Its calls
// made for a user are refused until SetUserCalls says otherwise.
func (c *Catalog) Attach(ctx context.Context, name string, sess *mcp.ClientSession) error {
	c.mu.Lock()
	c.sessions[name] = sess
	c.mu.Unlock()
	for t, err := range sess.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("server %s: list tools: %w", name, err)
		}
		if prev, ok := c.tools[t.Name]; ok {
			return fmt.Errorf("tool %s is served by both %s and %s", t.Name, prev.Server, name)
		}
		resolved, err := resolve(t.InputSchema)
		if err != nil {
			return fmt.Errorf("tool %s: input schema: %w", t.Name, err)
		}
		c.tools[t.Name] = Tool{Server: name, Tool: t, schema: resolved}
	}
	return nil
}

func resolve(schema any) (*jsonschema.Resolved, error) {
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return s.Resolve(nil)
}

func connect(ctx context.Context, s Server) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "mcp-orchestrator", Version: "1"}, nil)
	if s.Command != "" {
		cmd := exec.Command(s.Command, s.Args...)
		cmd.Env = childEnv(os.Environ(), s.Env)
		cmd.Stderr = os.Stderr
		return client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	}
	var rt http.RoundTripper = http.DefaultTransport
	if s.TokenFile != "" {
		tok, err := os.ReadFile(s.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("token_file: %w", err)
		}
		rt = auth.Bearer{Token: strings.TrimSpace(string(tok))}
	}
	rt = &forward{next: rt, delegate: s.userCalls() == UserCallsHeaders}
	seen := &statusSeen{next: rt}
	sess, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: s.URL, HTTPClient: &http.Client{Transport: seen}}, nil)
	if err != nil && seen.refused.Load() {
		if s.TokenFile == "" {
			return nil, fmt.Errorf("%s wants a bearer token: set token_file: %w", s.URL, err)
		}
		return nil, fmt.Errorf("%s refused the token in %s: check it and the server's --auth-tokens: %w", s.URL, s.TokenFile, err)
	}
	return sess, err
}

// childEnv is a spawned server's environment: the orchestrator's inherited
// one without its OPSMCP_* settings (in any case, so no spelling slips
// through), then set, whose entries replace inherited ones of the same name.
func childEnv(inherited, set []string) []string {
	out := make([]string, 0, len(inherited)+len(set))
	replaced := map[string]bool{}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	for _, kv := range inherited {
		k, _, _ := strings.Cut(kv, "=")
		if replaced[k] || len(k) >= len(opsmcpEnvPrefix) && strings.EqualFold(k[:len(opsmcpEnvPrefix)], opsmcpEnvPrefix) {
			continue
		}
		out = append(out, kv)
	}
	return append(out, set...)
}

// opsmcpEnvPrefix starts every variable shared/config reads as a flag.
const opsmcpEnvPrefix = "OPSMCP_"

// statusSeen notes an HTTP 401 answer, so a refused token can be named as
// the cause rather than left in the MCP SDK's words.
type statusSeen struct {
	next    http.RoundTripper
	refused atomic.Bool
}

func (t *statusSeen) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.refused.Store(true)
	}
	return resp, err
}

// Tools lists the merged catalog by name.
func (c *Catalog) Tools() []Tool {
	out := make([]Tool, 0, len(c.tools))
	for _, t := range c.tools {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tool.Name < out[j].Tool.Name })
	return out
}

// Lookup finds a tool by name.
func (c *Catalog) Lookup(name string) (Tool, bool) {
	t, ok := c.tools[name]
	return t, ok
}

// ArgError is a call the model must fix: unknown tool or arguments that
// do not fit the schema. It goes back to the model as a tool error.
type ArgError struct{ Msg string }

func (e *ArgError) Error() string { return e.Msg }

// Result is a tool's answer.
type Result struct {
	Text     string
	IsError  bool
	Duration time.Duration
}

// Call validates args against the tool's schema and calls it.
func (c *Catalog) Call(ctx context.Context, name string, args map[string]any) (Result, error) {
	t, ok := c.tools[name]
	if !ok {
		return Result{}, &ArgError{Msg: fmt.Sprintf("no tool named %s; use one of the offered tools", name)}
	}
	if args == nil {
		args = map[string]any{}
	}
	if err := t.schema.Validate(args); err != nil {
		return Result{}, &ArgError{Msg: fmt.Sprintf("arguments of %s do not fit its schema: %v", name, err)}
	}
	c.mu.Lock()
	lim, ok := c.limits[t.Server]
	mode := c.userCalls[t.Server]
	c.mu.Unlock()
	if u, forUser := callerFrom(ctx); forUser {
		switch mode {
		case UserCallsHeaders:
			if _, err := identityHeaders(u); err != nil {
				return Result{}, fmt.Errorf("call %s on %s for %s: %w", name, t.Server, u.user, err)
			}
		case UserCallsAsOrchestrator:
		default:
			return Result{}, fmt.Errorf("call %s on %s for %s: refused: that server cannot be told who the user is (a spawned stdio server gets no headers), and its config does not say user_calls: as-orchestrator", name, t.Server, u.user)
		}
	}
	params := &mcp.CallToolParams{Name: name, Arguments: args}
	if tr := TraceFrom(ctx); validTrace(tr) {
		tp := traceparent(tr)
		params.Meta = mcp.Meta{"traceparent": tp}
		ctx = context.WithValue(ctx, traceparentKey{}, tp)
	}
	if !ok {
		c.Limit(t.Server, 0, 0)
		c.mu.Lock()
		lim = c.limits[t.Server]
		c.mu.Unlock()
	}
	start := time.Now()
	select {
	case lim.slots <- struct{}{}:
		defer func() { <-lim.slots }()
	case <-ctx.Done():
		return Result{}, fmt.Errorf("call %s: waiting for %s: %w", name, t.Server, ctx.Err())
	}
	cctx, cancel := context.WithTimeout(ctx, lim.timeout)
	defer cancel()
	res, err := c.sessions[t.Server].CallTool(cctx, params)
	if err != nil {
		if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return Result{}, &ArgError{Msg: fmt.Sprintf("%s on %s took longer than %s; narrow the call", name, t.Server, lim.timeout)}
		}
		return Result{}, fmt.Errorf("call %s on %s: %w", name, t.Server, err)
	}
	var b strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return Result{Text: b.String(), IsError: res.IsError, Duration: time.Since(start)}, nil
}

// Close ends every session (and stops spawned servers).
func (c *Catalog) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sessions {
		s.Close()
	}
}
