package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// Who a server is told a call is made for. The orchestrator calls every
// server with its own token; when it answers a user (serve), each call
// also names that user, and a server that lists the orchestrator as a
// delegate holds the call to both the user's grant and the orchestrator's
// and audits it as user=<user> via=<orchestrator>.
const (
	// UserCallsHeaders (the default for a url server): the user travels
	// in auth.HeaderOnBehalfOf (a token-file user) or auth.HeaderUserToken
	// (an OIDC user's own bearer), per request, so one MCP session carries
	// calls for many users.
	UserCallsHeaders = "headers"
	// UserCallsAsOrchestrator: the server is not told; calls made for any
	// user run with the orchestrator's own identity and policy there. A
	// stdio server cannot be told (there are no headers), so the config
	// must say so with `user_calls: as-orchestrator`, or calls made for a
	// user are refused.
	UserCallsAsOrchestrator = "as-orchestrator"
	// UserCallsRefuse (the default for a command server): a call made for
	// a user is refused before it leaves.
	UserCallsRefuse = "refuse"
)

// caller is the user the calls made with a context are for.
type caller struct {
	user   string
	bearer string // the user's own token, only for an OIDC user
	oidc   bool
}

type callerKey struct{}

// ForUser returns ctx marking the tool calls made with it as made for p
// (serve: the asking user). bearer is the token p authenticated with; it
// is passed on only when p came with an OIDC token, since a token-file
// user's token is the orchestrator's to check, not the server's. Without
// ForUser (ask, chat), calls are the orchestrator's own.
func ForUser(ctx context.Context, p auth.Principal, bearer string) context.Context {
	c := caller{user: p.User, oidc: p.OIDC}
	if p.OIDC {
		c.bearer = bearer
	}
	return context.WithValue(ctx, callerKey{}, c)
}

func callerFrom(ctx context.Context) (caller, bool) {
	c, ok := ctx.Value(callerKey{}).(caller)
	return c, ok
}

// headerValue reports whether s can travel as an HTTP header value as it
// is: no control characters (a CR or LF would end the header and start
// another), not empty.
func headerValue(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// identityHeaders are the headers that tell a server the user of a call,
// or an error when the call cannot be made for that user.
func identityHeaders(c caller) (http.Header, error) {
	h := http.Header{}
	if c.oidc {
		if !headerValue(c.bearer) {
			return nil, fmt.Errorf("the OIDC user %q has no bearer token to pass on", c.user)
		}
		h.Set(auth.HeaderUserToken, c.bearer)
		return h, nil
	}
	if !headerValue(c.user) {
		return nil, fmt.Errorf("user name %q cannot be passed on in a header", c.user)
	}
	h.Set(auth.HeaderOnBehalfOf, c.user)
	return h, nil
}

type traceKey struct{}

// NewTraceID returns a W3C trace id: 32 lowercase hex digits, not all
// zero.
func NewTraceID() string {
	var b [16]byte
	for {
		rand.Read(b[:])
		if b != [16]byte{} {
			return hex.EncodeToString(b[:])
		}
	}
}

// WithTrace returns ctx whose tool calls carry traceID (NewTraceID), so
// each server's audit line has the answer's request id.
func WithTrace(ctx context.Context, traceID string) context.Context {
	return context.WithValue(ctx, traceKey{}, traceID)
}

// TraceFrom returns the trace id in ctx, or "".
func TraceFrom(ctx context.Context) string {
	s, _ := ctx.Value(traceKey{}).(string)
	return s
}

type traceparentKey struct{}

// traceparent is a W3C traceparent for one call of the trace: a new span
// id each call, sampled.
func traceparent(traceID string) string {
	var b [8]byte
	for {
		rand.Read(b[:])
		if b != [8]byte{} {
			return "00-" + traceID + "-" + hex.EncodeToString(b[:]) + "-01"
		}
	}
}

// validTrace reports a W3C trace id: 32 lowercase hex digits, not all
// zero.
func validTrace(s string) bool {
	if len(s) != 32 || s == strings.Repeat("0", 32) {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// forward is the transport of every streamable HTTP server: it adds to
// each request the headers of the call whose context it carries (the
// go-sdk sends a call's POST with the context given to CallTool): the
// user, and the traceparent. Requests with no call context (initialize,
// tools/list, the session's GET stream) go as the orchestrator's own.
type forward struct {
	next http.RoundTripper
	// delegate: send the user's headers (UserCallsHeaders); else they are
	// never sent.
	delegate bool
}

func (f *forward) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	c, forUser := callerFrom(ctx)
	tp, _ := ctx.Value(traceparentKey{}).(string)
	if !(forUser && f.delegate) && tp == "" {
		return f.next.RoundTrip(r)
	}
	r = r.Clone(ctx) // a RoundTripper must not change the caller's request
	// Whatever the request had, only this call's values go.
	r.Header.Del(auth.HeaderOnBehalfOf)
	r.Header.Del(auth.HeaderUserToken)
	if forUser && f.delegate {
		h, err := identityHeaders(c)
		if err != nil {
			return nil, err
		}
		for k, v := range h {
			r.Header[k] = v
		}
	}
	if tp != "" {
		r.Header.Set("traceparent", tp)
	}
	return f.next.RoundTrip(r)
}
