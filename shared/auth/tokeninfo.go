package auth

import (
	"context"
	"net/http"

	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// principalKey holds the Principal in the SDK's TokenInfo.Extra.
const principalKey = "opsmcp.principal"

// withTokenInfo hands the principal already in the request context to the
// SDK as its TokenInfo, for two reasons: the streamable HTTP handler binds
// a session to TokenInfo.UserID and refuses a request for that session
// from anyone else, and tool handlers get each request's TokenInfo
// (RequestExtra), so identity is read per call, not fixed when the session
// was made. UserID is the authenticated caller (the delegate, for a
// delegated call), so a delegate's one session can carry calls for many
// users while no one else can use it. The SDK only sets TokenInfo through
// its own middleware, which re-reads the bearer header this request has
// already passed.
func withTokenInfo(next http.Handler) http.Handler {
	verify := func(ctx context.Context, _ string, _ *http.Request) (*sdkauth.TokenInfo, error) {
		p := From(ctx)
		uid := Caller(ctx)
		if uid == "" {
			uid = p.Key()
		}
		return &sdkauth.TokenInfo{UserID: uid, Extra: map[string]any{principalKey: p}}, nil
	}
	return sdkauth.RequireBearerToken(verify, &sdkauth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
}

// Key names p across auth sources: a token-file user and an OIDC user of
// the same name (anyone can register any name with the provider) are
// different callers, and so are two OIDC users who set the same
// preferred_username (an OIDC user is keyed on issuer and sub).
func (p Principal) Key() string {
	if p.OIDC {
		if p.Subject != "" {
			return "oidc:" + p.Subject
		}
		return "oidc:" + p.User
	}
	return "token:" + p.User
}

type callerKey struct{}

// withCaller records the Key of the principal that authenticated the
// request: the delegate, for a delegated call.
func withCaller(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, callerKey{}, key)
}

// Caller returns the Key of the principal that authenticated the request
// (the delegate for a delegated call; From has the user it acts for), or
// "" when auth is off. Sessions are bound to it.
func Caller(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

// FromTokenInfo returns the principal recorded in an SDK TokenInfo (a
// tool call's RequestExtra.TokenInfo).
func FromTokenInfo(ti *sdkauth.TokenInfo) (Principal, bool) {
	if ti == nil || ti.Extra == nil {
		return Principal{}, false
	}
	p, ok := ti.Extra[principalKey].(Principal)
	return p, ok
}

// Headers a delegate (the orchestrator) sends with each call it makes for
// a user. The server honours them only from a caller it lists as a
// delegate, resolves the user itself (from its own token file, or by
// verifying the user's own OIDC token), and holds the call to both the
// user's grant and the delegate's.
const (
	// HeaderOnBehalfOf names a user of the server's token file.
	HeaderOnBehalfOf = "X-Opsmcp-On-Behalf-Of"
	// HeaderUserToken carries the user's own OIDC token (audience: the
	// servers'), verified by the server's OIDC verifier.
	HeaderUserToken = "X-Opsmcp-User-Token"
)

type bearerKey struct{}

// WithBearer returns ctx carrying the raw bearer token the request was
// authenticated with, so a delegate can pass an OIDC user's own token on.
// It is never logged or audited.
func WithBearer(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, bearerKey{}, token)
}

// BearerFrom returns the raw bearer token in ctx, or "".
func BearerFrom(ctx context.Context) string {
	s, _ := ctx.Value(bearerKey{}).(string)
	return s
}
