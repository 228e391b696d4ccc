package auth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// delegationFixture is a server's auth as --auth-tokens, --oidc-issuer and
// --delegates set it up: a token-file delegate (orchestrator), an OIDC one
// (orch-oidc), and users of both kinds.
type delegationFixture struct {
	iss     *testIssuer
	handler http.Handler
	// seen is what the last request that reached the handler carried.
	seen struct {
		ran       bool
		p         Principal
		bearer    string
		userToken string
		tokenInfo *sdkauth.TokenInfo
	}
}

func newDelegationFixture(t *testing.T, delegates []string) *delegationFixture {
	t.Helper()
	f := &delegationFixture{iss: newTestIssuer(t)}
	toks, err := ParseTokens([]byte("orch-token,orchestrator,delegate\nalice-token,alice,viewer\nalice-token-2,alice,web;viewer\nbob-token,bob,sre\n"))
	require.NoError(t, err)
	o, err := NewOIDC(context.Background(), f.iss.URL, "opsmcp", "preferred_username", "groups")
	require.NoError(t, err)
	o.Roles = RoleMapping{Prefix: "opsmcp-"}
	f.handler = Authenticate(Chain{toks, o}, &Delegation{Delegates: delegates, Users: toks, UserTokens: o},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.seen.ran = true
			f.seen.p = From(r.Context())
			f.seen.bearer = BearerFrom(r.Context())
			f.seen.userToken = r.Header.Get(HeaderUserToken)
			f.seen.tokenInfo = sdkauth.TokenInfoFromContext(r.Context())
		}))
	return f
}

func (f *delegationFixture) jwt(user string, exp time.Duration, aud string, groups ...string) string {
	now := time.Now()
	return f.iss.sign(map[string]any{"iss": f.iss.URL, "aud": aud, "sub": "sub-" + user, "iat": now.Unix(),
		"exp": now.Add(exp).Unix(), "preferred_username": user, "groups": groups})
}

// do sends one request with bearer and the given headers (a header given
// as several values is sent as several lines).
func (f *delegationFixture) do(bearer string, headers map[string][]string) *httptest.ResponseRecorder {
	f.seen.ran = false
	req := httptest.NewRequest("POST", "/mcp", strings.NewReader("{}"))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

func TestDelegationOnBehalfOfTokenFileUser(t *testing.T) {
	f := newDelegationFixture(t, []string{"orchestrator"})
	rec := f.do("orch-token", map[string][]string{HeaderOnBehalfOf: {"alice"}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	// alice has two lines in the file: she gets the union of their roles.
	assert.Equal(t, Principal{User: "alice", Roles: []string{"viewer", "web"}, Via: "orchestrator", ViaRoles: []string{"delegate"}}, f.seen.p)
	// The session belongs to the delegate that authenticated, and the
	// handler sees the delegated principal.
	require.NotNil(t, f.seen.tokenInfo)
	assert.Equal(t, "token:orchestrator", f.seen.tokenInfo.UserID)
	got, ok := FromTokenInfo(f.seen.tokenInfo)
	require.True(t, ok)
	assert.Equal(t, "alice", got.User)
	assert.Equal(t, "orchestrator", got.Via)
	// No bearer of alice's exists here; the delegate's own token is not
	// handed on as hers.
	assert.Empty(t, f.seen.bearer)
}

func TestDelegationUserToken(t *testing.T) {
	f := newDelegationFixture(t, []string{"orchestrator"})
	carol := f.jwt("carol", 5*time.Minute, "opsmcp", "opsmcp-viewer", "sre")
	rec := f.do("orch-token", map[string][]string{HeaderUserToken: {carol}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	// Roles come from the mapping (prefix opsmcp-); the bare group "sre"
	// is not a role.
	assert.Equal(t, Principal{User: "carol", Roles: []string{"viewer"}, OIDC: true, Subject: f.iss.URL + "#sub-carol", Via: "orchestrator", ViaRoles: []string{"delegate"}}, f.seen.p)
	assert.Equal(t, carol, f.seen.bearer, "the bearer in the context is the user's own")
	assert.Empty(t, f.seen.userToken, "the user's token is not handed to tool handlers in the header")
	assert.Equal(t, "token:orchestrator", f.seen.tokenInfo.UserID)
}

func TestDelegationByOIDCDelegate(t *testing.T) {
	f := newDelegationFixture(t, []string{"oidc:orch-oidc"})
	orch := f.jwt("orch-oidc", 5*time.Minute, "opsmcp", "opsmcp-delegate")
	rec := f.do(orch, map[string][]string{HeaderOnBehalfOf: {"bob"}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, Principal{User: "bob", Roles: []string{"sre"}, Via: "orch-oidc", ViaRoles: []string{"delegate"}}, f.seen.p)
}

// TestDelegationRefused: every way of asking to act for someone else
// without the right to, or for someone the server does not know, is
// refused before the handler runs, with a message that says why.
func TestDelegationRefused(t *testing.T) {
	f := newDelegationFixture(t, []string{"orchestrator", "oidc:orch-oidc"})
	valid := f.jwt("carol", 5*time.Minute, "opsmcp", "opsmcp-viewer")
	// A Gitea user can register any name: one called "orchestrator" is not
	// the token-file delegate of that name.
	impostor := f.jwt("orchestrator", 5*time.Minute, "opsmcp", "opsmcp-delegate")
	cases := []struct {
		name    string
		bearer  string
		headers map[string][]string
		code    int
		want    string
	}{
		{"unknown user", "orch-token", map[string][]string{HeaderOnBehalfOf: {"mallory"}}, 403, `user "mallory" is not in this server's --auth-tokens file`},
		{"OIDC user named by header", "orch-token", map[string][]string{HeaderOnBehalfOf: {"carol"}}, 403, `user "carol" is not in this server's --auth-tokens file`},
		{"empty user", "orch-token", map[string][]string{HeaderOnBehalfOf: {""}}, 400, "X-Opsmcp-On-Behalf-Of is empty"},
		{"two users", "orch-token", map[string][]string{HeaderOnBehalfOf: {"alice", "bob"}}, 400, "X-Opsmcp-On-Behalf-Of given 2 times"},
		{"expired user token", "orch-token", map[string][]string{HeaderUserToken: {f.jwt("carol", -5*time.Minute, "opsmcp", "opsmcp-viewer")}}, 401, "X-Opsmcp-User-Token refused"},
		{"user token for another audience", "orch-token", map[string][]string{HeaderUserToken: {f.jwt("carol", 5*time.Minute, "other", "opsmcp-viewer")}}, 401, "X-Opsmcp-User-Token refused"},
		{"token-file token as user token", "orch-token", map[string][]string{HeaderUserToken: {"bob-token"}}, 401, "X-Opsmcp-User-Token refused"},
		{"both headers", "orch-token", map[string][]string{HeaderOnBehalfOf: {"alice"}, HeaderUserToken: {valid}}, 400, "not both"},
		{"non-delegate names a user", "bob-token", map[string][]string{HeaderOnBehalfOf: {"alice"}}, 403, `user bob may not act for others`},
		{"non-delegate passes a token", "bob-token", map[string][]string{HeaderUserToken: {valid}}, 403, `user bob may not act for others`},
		{"OIDC user with a delegate's name", impostor, map[string][]string{HeaderOnBehalfOf: {"alice"}}, 403, `user orchestrator may not act for others`},
		{"delegate's own bad bearer", "nope", map[string][]string{HeaderOnBehalfOf: {"alice"}}, 401, "invalid bearer token"},
	}
	for _, c := range cases {
		rec := f.do(c.bearer, c.headers)
		assert.Equal(t, c.code, rec.Code, c.name)
		assert.Contains(t, rec.Body.String(), c.want, c.name)
		assert.False(t, f.seen.ran, "%s: the handler ran", c.name)
	}
}

// TestDelegationDefaultNone: without --delegates no one may act for
// another, and the headers are refused rather than ignored.
func TestDelegationDefaultNone(t *testing.T) {
	f := newDelegationFixture(t, nil)
	rec := f.do("orch-token", map[string][]string{HeaderOnBehalfOf: {"alice"}})
	assert.Equal(t, 403, rec.Code)
	assert.Contains(t, rec.Body.String(), "--delegates")
	assert.False(t, f.seen.ran)
	// A direct call is unaffected.
	rec = f.do("alice-token", nil)
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, Principal{User: "alice", Roles: []string{"viewer"}}, f.seen.p)
}

// TestDelegationWithoutAuth: with auth off there is no delegate, so the
// headers cannot make an anonymous caller anyone.
func TestDelegationWithoutAuth(t *testing.T) {
	ran := false
	h := Middleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	for _, hdr := range []string{HeaderOnBehalfOf, HeaderUserToken} {
		req := httptest.NewRequest("POST", "/mcp", nil)
		req.Header.Set(hdr, "alice")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		assert.Equal(t, 403, rec.Code, hdr)
		assert.Contains(t, string(body), "auth is off", hdr)
	}
	assert.False(t, ran)
}

// TestRoleMapping: with Gitea as the provider anyone can create an
// organization named "sre"; only the configured mapping makes roles.
func TestRoleMapping(t *testing.T) {
	m, err := ParseRoleMap([]string{"platform-admins=sre", "platform-admins=viewer", " devs = viewer "})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"platform-admins": {"sre", "viewer"}, "devs": {"viewer"}}, m)
	for _, bad := range []string{"sre", "=sre", "group=", ""} {
		_, err := ParseRoleMap([]string{bad})
		assert.ErrorContains(t, err, "want group=role", bad)
	}
	rm := RoleMapping{Map: m, Prefix: "opsmcp-"}
	assert.Equal(t, []string{"sre", "viewer", "web"}, rm.For([]string{"sre", "platform-admins", "devs", "opsmcp-web", "opsmcp-", "xopsmcp-admin"}))
	assert.Empty(t, RoleMapping{}.For([]string{"sre", "viewer"}), "no mapping: no roles")
	assert.True(t, RoleMapping{}.Empty())
	assert.False(t, rm.Empty())
}

func TestTokensUser(t *testing.T) {
	toks, err := ParseTokens([]byte("a1,alice,viewer\na2,alice,web;viewer\nb,bob,\n"))
	require.NoError(t, err)
	p, ok := toks.User("alice")
	require.True(t, ok)
	assert.Equal(t, Principal{User: "alice", Roles: []string{"viewer", "web"}}, p)
	p.Roles[0] = "changed"
	p, _ = toks.User("alice")
	assert.Equal(t, "viewer", p.Roles[0], "callers get a copy")
	p, ok = toks.User("bob")
	assert.True(t, ok)
	assert.Empty(t, p.Roles)
	_, ok = toks.User("carol")
	assert.False(t, ok)
}

// TestDelegationNilConfig: a server built without a Delegation refuses
// the headers too.
func TestDelegationNilConfig(t *testing.T) {
	toks, err := ParseTokens([]byte("orch-token,orchestrator,delegate\nalice-token,alice,viewer\n"))
	require.NoError(t, err)
	ran := false
	h := Middleware(toks, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	for _, hdr := range []string{HeaderOnBehalfOf, HeaderUserToken} {
		req := httptest.NewRequest("POST", "/mcp", nil)
		req.Header.Set("Authorization", "Bearer orch-token")
		req.Header.Set(hdr, "alice")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusForbidden, rec.Code, hdr)
		assert.Contains(t, rec.Body.String(), "user orchestrator may not act for others", hdr)
	}
	assert.False(t, ran)
}
