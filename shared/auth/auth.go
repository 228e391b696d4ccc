// Package auth identifies the caller of an HTTP transport: bearer tokens
// from a file, or OpenID Connect JWTs. The identity (user and roles) flows
// through the request context into policy checks and the audit log.
package auth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Principal is an authenticated caller.
type Principal struct {
	User  string
	Roles []string
	// Via is the delegate that authenticated and acts for User (the
	// orchestrator); empty for a caller acting for itself.
	Via string
	// ViaRoles are the delegate's own roles: a delegated call is held to
	// both its user's grant and these.
	ViaRoles []string
	// OIDC is true when the user was verified from an OIDC token (which a
	// delegate may then pass on), false for a token-file user.
	OIDC bool
	// Subject is an OIDC user's issuer and sub claim: the identity sessions,
	// cursors and rate budgets are keyed on, since the claim User comes
	// from (preferred_username, email) can often be changed by its owner.
	Subject string
}

// Stdio is the principal of every call over the stdio transport: whoever
// started the process.
var Stdio = Principal{User: "stdio"}

// Anonymous is the principal of HTTP calls when auth is off.
var Anonymous = Principal{User: "anonymous"}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal in ctx, or Stdio when there is none.
func From(ctx context.Context) Principal {
	if p, ok := ctx.Value(ctxKey{}).(Principal); ok {
		return p
	}
	return Stdio
}

// ErrUnauthenticated is returned for a missing or wrong credential.
var ErrUnauthenticated = errors.New("unauthenticated")

// Verifier turns a bearer token into a principal.
type Verifier interface {
	Verify(ctx context.Context, token string) (Principal, error)
}

// Tokens is a static token table, loaded from a file with one
// "token,user,role[;role...]" per line; the token may be given as
// "sha256:<hex>" so the file need not hold it in clear.
type Tokens struct {
	byHash map[[32]byte]Principal
	// byUser is each user with the union of the roles of all its lines,
	// for a delegate that names the user (HeaderOnBehalfOf).
	byUser map[string]Principal
}

// LoadTokens reads a token file.
func LoadTokens(file string) (*Tokens, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read auth tokens %s: %w", file, err)
	}
	t, err := ParseTokens(raw)
	if err != nil {
		return nil, fmt.Errorf("auth tokens %s: %w", file, err)
	}
	return t, nil
}

// ParseTokens parses the token file format. Blank lines and lines starting
// with # are skipped.
func ParseTokens(raw []byte) (*Tokens, error) {
	t := &Tokens{byHash: map[[32]byte]Principal{}, byUser: map[string]Principal{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %d: want token,user,role[;role...], got %d fields", line, len(fields))
		}
		tok, user, roles := strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1]), strings.TrimSpace(fields[2])
		if tok == "" || user == "" {
			return nil, fmt.Errorf("line %d: token and user must not be empty", line)
		}
		var h [32]byte
		if hexed, ok := strings.CutPrefix(tok, "sha256:"); ok {
			b, err := hex.DecodeString(hexed)
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("line %d: sha256: must be followed by 64 hex digits", line)
			}
			copy(h[:], b)
		} else {
			h = sha256.Sum256([]byte(tok))
		}
		p := Principal{User: user}
		for _, r := range strings.Split(roles, ";") {
			if r = strings.TrimSpace(r); r != "" {
				p.Roles = append(p.Roles, r)
			}
		}
		t.byHash[h] = p
		u := t.byUser[user]
		u.User = user
		for _, r := range p.Roles {
			if !slices.Contains(u.Roles, r) {
				u.Roles = append(u.Roles, r)
			}
		}
		t.byUser[user] = u
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.byHash) == 0 {
		return nil, errors.New("no tokens")
	}
	return t, nil
}

// Verify implements Verifier. Tokens are compared by their SHA-256, in
// constant time over the table, so neither the clear token nor its
// position leaks through timing.
func (t *Tokens) Verify(_ context.Context, token string) (Principal, error) {
	h := sha256.Sum256([]byte(token))
	var found Principal
	ok := 0
	for k, p := range t.byHash {
		if subtle.ConstantTimeCompare(k[:], h[:]) == 1 {
			found, ok = p, 1
		}
	}
	if ok == 0 {
		return Principal{}, ErrUnauthenticated
	}
	return found, nil
}

// User returns the token-file user name with the union of the roles of
// all its lines, or false when the file has no such user.
func (t *Tokens) User(name string) (Principal, bool) {
	p, ok := t.byUser[name]
	if ok {
		p.Roles = slices.Clone(p.Roles)
	}
	return p, ok
}

// OIDC validates JWTs from an OpenID Connect issuer.
type OIDC struct {
	verifier   *oidc.IDTokenVerifier
	userClaim  string
	rolesClaim string
	// Roles maps the token's groups to roles; a group is never a role by
	// itself, so with an empty mapping OIDC users get no roles.
	Roles RoleMapping
}

// NewOIDC discovers issuer and returns a verifier for tokens whose audience
// is audience. userClaim (e.g. preferred_username, email, sub) names the
// user; rolesClaim (e.g. groups, roles) lists the roles.
func NewOIDC(ctx context.Context, issuer, audience, userClaim, rolesClaim string) (*OIDC, error) {
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC issuer %s: %w", issuer, err)
	}
	return &OIDC{
		verifier:   provider.Verifier(&oidc.Config{ClientID: audience}),
		userClaim:  userClaim,
		rolesClaim: rolesClaim,
	}, nil
}

// Verify implements Verifier.
func (o *OIDC) Verify(ctx context.Context, token string) (Principal, error) {
	idt, err := o.verifier.Verify(ctx, token)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Principal{}, fmt.Errorf("%w: claims: %v", ErrUnauthenticated, err)
	}
	p := Principal{User: idt.Subject, OIDC: true, Subject: idt.Issuer + "#" + idt.Subject}
	if u, ok := claims[o.userClaim].(string); ok && u != "" {
		p.User = u
	}
	var groups []string
	switch r := claims[o.rolesClaim].(type) {
	case []any:
		for _, e := range r {
			if s, ok := e.(string); ok {
				groups = append(groups, s)
			}
		}
	case string:
		groups = strings.Fields(strings.ReplaceAll(r, ",", " "))
	}
	p.Roles = o.Roles.For(groups)
	return p, nil
}

// Chain tries each verifier in turn.
type Chain []Verifier

// Verify implements Verifier.
func (c Chain) Verify(ctx context.Context, token string) (Principal, error) {
	var last error = ErrUnauthenticated
	for _, v := range c {
		p, err := v.Verify(ctx, token)
		if err == nil {
			return p, nil
		}
		last = err
	}
	return Principal{}, last
}

// Middleware requires a valid bearer token on every request and puts the
// principal in the request context. With a nil verifier every request is
// Anonymous. No caller may act for another (see Authenticate).
func Middleware(v Verifier, next http.Handler) http.Handler {
	return Authenticate(v, nil, next)
}

// Authenticate is Middleware with delegation: a caller d lists as a
// delegate may act for a user (HeaderOnBehalfOf, HeaderUserToken), and the
// principal is then that user, held also to the delegate's roles. The
// headers from anyone else are refused, never ignored. d may be nil.
func Authenticate(v Verifier, d *Delegation, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v == nil {
			if delegationAsked(r) {
				http.Error(w, "delegation refused: auth is off on this server, so no caller may act for another; remove the "+HeaderOnBehalfOf+" and "+HeaderUserToken+" headers", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(With(r.Context(), Anonymous)))
			return
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="opsmcp"`)
			http.Error(w, "missing bearer token: send 'Authorization: Bearer <token>'", http.StatusUnauthorized)
			return
		}
		token = strings.TrimSpace(token)
		p, err := v.Verify(r.Context(), token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="opsmcp", error="invalid_token"`)
			http.Error(w, "invalid bearer token", http.StatusUnauthorized)
			return
		}
		caller := p.Key()
		if delegationAsked(r) {
			user, userBearer, derr := d.resolve(r, p)
			if derr != nil {
				http.Error(w, derr.msg, derr.code)
				return
			}
			p, token = user, userBearer
			// The user's own token went into the context; tool handlers,
			// which see the request header, do not get it.
			r = r.Clone(r.Context())
			r.Header.Del(HeaderUserToken)
		}
		ctx := withCaller(WithBearer(With(r.Context(), p), token), caller)
		withTokenInfo(next).ServeHTTP(w, r.WithContext(ctx))
	})
}

// Bearer is an http.RoundTripper that sends a bearer token with every
// request: for clients of the suite's servers and of upstreams that take
// one.
type Bearer struct {
	Token string
	Next  http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (b Bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.Token)
	next := b.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}
