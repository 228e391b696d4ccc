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
		uid := p.User
		if p.Via != "" {
			uid = p.Via
		}
		return &sdkauth.TokenInfo{UserID: uid, Extra: map[string]any{principalKey: p}}, nil
	}
	return sdkauth.RequireBearerToken(verify, &sdkauth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
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
