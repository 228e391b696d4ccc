// Package transport serves an MCP server over stdio, or over HTTP with
// both the streamable HTTP transport (/mcp) and the legacy HTTP+SSE
// transport (/sse, messages at /message) on one listener, next to
// /healthz, /readyz and /metrics.
package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// NewServer builds the MCP server for one caller. session labels audit
// lines when the transport has no session id (legacy SSE).
type NewServer func(p auth.Principal, session string) *mcp.Server

// Stdio serves srv on stdin/stdout until ctx ends or the client goes away.
func Stdio(ctx context.Context, srv *mcp.Server) error {
	if err := srv.Run(ctx, &mcp.StdioTransport{}); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stdio transport: %w", err)
	}
	return nil
}

// HTTPOptions configure the HTTP handler.
type HTTPOptions struct {
	// NewServer builds the MCP server of a session; nil serves no MCP
	// endpoints (a host of AuthRoutes only, as mcp-orchestrator serve).
	NewServer NewServer
	// Verifier authenticates callers; nil means no auth (loopback only,
	// or --insecure-no-auth).
	Verifier auth.Verifier
	// Delegation says who may act for other users; nil: no one.
	Delegation *auth.Delegation
	// AllowedOrigins lists the Origin values accepted on MCP endpoints
	// and AuthRoutes (scheme://host[:port], or "*"). A request without
	// Origin (not from a browser) is accepted.
	AllowedOrigins []string
	// AllowedHosts are Host names accepted besides loopback ones (a
	// proxy's public name); see checkHost.
	AllowedHosts []string
	// MaxBodyBytes bounds a request body on MCP endpoints and AuthRoutes;
	// 0: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Metrics      http.Handler
	// Ready reports whether the upstream is reachable, for /readyz.
	Ready func(ctx context.Context) error
	// Readyz, when set, serves /readyz instead of Ready.
	Readyz http.Handler
	// Routes are further endpoints (pattern -> handler) that authenticate
	// on their own, such as a signed webhook.
	Routes map[string]http.Handler
	// AuthRoutes are further endpoints (pattern -> handler) behind the
	// same checks as /mcp: origin, JSON bodies, body limit and auth (the
	// handler reads the caller with auth.From).
	AuthRoutes map[string]http.Handler
	// DisableLegacySSE stops serving the legacy HTTP+SSE transport (/sse
	// and /message answer 404); the zero value serves it.
	DisableLegacySSE bool
	Logger           *slog.Logger
}

// Handler returns the HTTP handler for all endpoints.
func Handler(o HTTPOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	// guard is what every data route goes through: origin, JSON bodies,
	// auth, then the body limit (after auth, so an unauthenticated caller
	// never makes the server read its body).
	guard := func(h http.Handler) http.Handler {
		return checkOrigin(o.AllowedOrigins, requireJSON(auth.Authenticate(o.Verifier, o.Delegation, limitBody(o.MaxBodyBytes, h))))
	}
	mux := http.NewServeMux()
	if o.NewServer != nil {
		// The SDK asks for a server on every request, but within a session
		// (a request with Mcp-Session-Id) it only reads the server's
		// protocol versions, then serves the session's own server, checked
		// against the caller, or answers 404. Building the caller's server
		// there bound every tool per request (~870 KB for 15 tools, twice
		// the rest of a call); one server, built once and never connected,
		// answers those versions instead.
		var versionsOnce sync.Once
		var versions *mcp.Server
		getServer := func(r *http.Request) *mcp.Server {
			if r.Header.Get("Mcp-Session-Id") != "" {
				versionsOnce.Do(func() { versions = o.NewServer(auth.Principal{}, "") })
				return versions
			}
			return once(r, func() *mcp.Server { return o.NewServer(auth.From(r.Context()), "") })
		}
		// One endpoint, two lifecycles: a 2025-11-25 (or older) client opens
		// a session with initialize and is bound to it; a 2026-07-28 client
		// sends each request on its own, with its version in a header and in
		// _meta, and the SDK serves that only on a stateless handler. Both
		// handlers build the server with the same NewServer behind the same
		// guard, so auth, policy, masking, budgets and audit are one path.
		// The SDK's own DNS rebinding check admits only loopback Host names
		// on a loopback listener; checkHost, around every route, does the
		// same and also admits --allowed-hosts (a reverse proxy's public
		// name, which the SDK's check refused with 403), so it is off here.
		stateful := mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{Logger: o.Logger, DisableLocalhostProtection: true})
		// A stateless request has no session id; its audit lines are
		// labelled per request instead, as legacy SSE sessions are.
		stateless := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
			return once(r, func() *mcp.Server { return o.NewServer(auth.From(r.Context()), "stateless-"+rand.Text()[:12]) })
		}, &mcp.StreamableHTTPOptions{Logger: o.Logger, Stateless: true, DisableLocalhostProtection: true})
		streamable := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r = r.WithContext(context.WithValue(r.Context(), serverMemoKey{}, &serverMemo{}))
			if StatelessRequest(r) {
				stateless.ServeHTTP(w, r)
				return
			}
			stateful.ServeHTTP(w, r)
		})
		var sse http.Handler = http.NotFoundHandler()
		if !o.DisableLegacySSE {
			sse = newSSE(o.NewServer)
		}
		mcpHandler := guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/mcp":
				streamable.ServeHTTP(w, r)
			default:
				sse.ServeHTTP(w, r)
			}
		}))
		mux.Handle("/mcp", mcpHandler)
		if !o.DisableLegacySSE {
			mux.Handle("/sse", mcpHandler)
			mux.Handle("/message", mcpHandler)
		}
	}
	for pattern, h := range o.AuthRoutes {
		mux.Handle(pattern, guard(h))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Readyz != nil {
			o.Readyz.ServeHTTP(w, r)
			return
		}
		if o.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := o.Ready(ctx); err != nil {
				http.Error(w, "not ready: upstream unreachable", http.StatusServiceUnavailable)
				o.Logger.Warn("readiness check failed", "err", err)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	if o.Metrics != nil {
		mux.Handle("/metrics", o.Metrics)
	}
	for pattern, h := range o.Routes {
		mux.Handle(pattern, h)
	}
	// The probes say nothing and answer any Host (a kubelet's is the pod
	// IP); every other route is refused to a rebinding page.
	hostChecked := checkHost(o.AllowedHosts, mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			mux.ServeHTTP(w, r)
			return
		}
		hostChecked.ServeHTTP(w, r)
	})
}

// serverMemo holds the server built for one HTTP request: the SDK asks
// for it twice (once for its protocol versions, once to serve), and
// building it registers every tool.
type serverMemo struct{ srv *mcp.Server }

type serverMemoKey struct{}

// once returns the request's server, building it on the first call. The
// memo lives in the request's context, so it never outlives the request
// or crosses callers.
func once(r *http.Request, build func() *mcp.Server) *mcp.Server {
	m, ok := r.Context().Value(serverMemoKey{}).(*serverMemo)
	if !ok {
		return build()
	}
	if m.srv == nil {
		m.srv = build()
	}
	return m.srv
}

// ProtocolVersionHeader carries a streamable HTTP request's protocol
// version (MCP-Protocol-Version; header names are case-insensitive).
const ProtocolVersionHeader = "Mcp-Protocol-Version"

// Stateless is the first protocol revision without sessions: its requests
// carry their version per request and need no initialize.
const Stateless = "2026-07-28"

// metaProtocolVersion is the _meta key a 2026-07-28 request names its
// version with.
const metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"

// StatelessRequest reports whether a POST to /mcp speaks the stateless
// protocol (2026-07-28 or later): by its MCP-Protocol-Version header, or,
// without one, by the version in the _meta of a request in its body (the
// stateless handler then answers with the spec's header error). Dates
// compare as strings. Everything else, including any request that names a
// session, keeps the stateful path older clients know. The body is the
// one limitBody already holds in memory.
func StatelessRequest(r *http.Request) bool {
	if v := r.Header.Get(ProtocolVersionHeader); v != "" {
		return v >= Stateless
	}
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody || r.Header.Get("Mcp-Session-Id") != "" {
		return false
	}
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false
	}
	return bodyProtocolVersion(b) >= Stateless
}

// bodyProtocolVersion is the _meta protocol version of the first message
// in a JSON-RPC body (one message or a batch), or "". Keys match exactly,
// as the SDK's decoder matches them: a "Params" or "_META" the SDK would
// not read must not route the request either.
func bodyProtocolVersion(b []byte) string {
	var first json.RawMessage = b
	var batch []json.RawMessage
	if json.Unmarshal(b, &batch) == nil {
		if len(batch) == 0 {
			return ""
		}
		first = batch[0]
	}
	var msg, params, meta map[string]json.RawMessage
	if json.Unmarshal(first, &msg) != nil || json.Unmarshal(msg["params"], &params) != nil ||
		json.Unmarshal(params["_meta"], &meta) != nil {
		return ""
	}
	var v string
	if json.Unmarshal(meta[metaProtocolVersion], &v) != nil {
		return ""
	}
	return v
}

// checkOrigin refuses browser requests from origins not listed, as the MCP
// spec asks of HTTP servers. A rebinding page is same-origin by name;
// checkHost refuses those.
func checkOrigin(allowed []string, next http.Handler) http.Handler {
	set := map[string]bool{}
	for _, a := range allowed {
		set[strings.TrimRight(strings.ToLower(a), "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && !set["*"] && !set[strings.ToLower(origin)] && !sameHost(origin, r.Host) {
			http.Error(w, fmt.Sprintf("forbidden origin %q: add it to --allowed-origins", origin), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// sse serves the legacy HTTP+SSE transport: GET /sse opens a session whose
// endpoint is /message?sessionid=…, where the client POSTs its messages.
// Each session gets its own server bound to the GET's caller, and POSTs to a
// session are accepted only from that same caller.
type sse struct {
	newServer NewServer
	handler   *mcp.SSEHandler
	mu        sync.Mutex
	owners    map[string]string // session id -> caller and user
}

func newSSE(ns NewServer) *sse {
	s := &sse{newServer: ns, owners: map[string]string{}}
	s.handler = mcp.NewSSEHandler(func(r *http.Request) *mcp.Server {
		return ns(auth.From(r.Context()), "sse-"+rand.Text()[:12])
	}, &mcp.SSEOptions{DisableLocalhostProtection: true}) // checkHost guards it (see Handler)
	return s
}

func (s *sse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A legacy session's principal is fixed when it opens, so a POST must
	// come from the same caller acting as the same user.
	user := auth.Caller(r.Context()) + " as " + auth.From(r.Context()).Key()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/sse":
		// The SDK derives the message endpoint from the GET's URL; point it
		// at /message, under the prefix a reverse proxy stripped (Traefik's
		// stripPrefix and nginx send X-Forwarded-Prefix), so the client
		// posts back through the proxy.
		r2 := r.Clone(r.Context())
		r2.URL.Path = forwardedPrefix(r) + "/message"
		sw := &sniffer{ResponseWriter: w, onSession: func(id string) {
			s.mu.Lock()
			s.owners[id] = user
			s.mu.Unlock()
		}}
		s.handler.ServeHTTP(sw, r2)
		if sw.id != "" {
			s.mu.Lock()
			delete(s.owners, sw.id)
			s.mu.Unlock()
		}
	case r.Method == http.MethodPost && r.URL.Path == "/message":
		id := r.URL.Query().Get("sessionid")
		s.mu.Lock()
		owner, ok := s.owners[id]
		s.mu.Unlock()
		if ok && owner != user {
			http.Error(w, "session belongs to another user", http.StatusForbidden)
			return
		}
		s.handler.ServeHTTP(w, r)
	default:
		http.Error(w, "legacy SSE transport: GET /sse opens a session, POST /message?sessionid=… sends to it", http.StatusMethodNotAllowed)
	}
}

// forwardedPrefix is X-Forwarded-Prefix when it is a plain path ("/logs",
// "/mcp/logs"); anything else (a scheme, a query, "..", control bytes) is
// ignored, since the value is echoed to the client.
func forwardedPrefix(r *http.Request) string {
	p := strings.TrimRight(r.Header.Get("X-Forwarded-Prefix"), "/")
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return ""
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return ""
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
				return ""
			}
		}
	}
	return p
}

// sniffer reads the session id from the first "endpoint" event the SDK
// writes on the SSE stream.
type sniffer struct {
	http.ResponseWriter
	onSession func(string)
	id        string
	done      bool
}

func (s *sniffer) Write(p []byte) (int, error) {
	if !s.done {
		sc := bufio.NewScanner(strings.NewReader(string(p)))
		for sc.Scan() {
			line := sc.Text()
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				if u, err := url.Parse(strings.TrimSpace(data)); err == nil {
					if id := u.Query().Get("sessionid"); id != "" {
						s.id = id
						s.onSession(id)
						s.done = true
					}
				}
			}
		}
	}
	return s.ResponseWriter.Write(p)
}

func (s *sniffer) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *sniffer) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// IsLoopback reports whether a listen address binds only loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
