package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// oneJWT is a user-token verifier that knows one token, standing in for
// OIDC in the fuzz target.
type oneJWT struct{}

func (oneJWT) Verify(_ context.Context, token string) (Principal, error) {
	if token == "valid-user-jwt" {
		return Principal{User: "carol", Roles: []string{"viewer"}, OIDC: true}, nil
	}
	return Principal{}, ErrUnauthenticated
}

// FuzzDelegation: whatever the delegation headers and the bearer, a
// request reaches the handler only as the caller itself (no header) or,
// from the delegate alone, as exactly one user the server knows, with
// that user's roles and the delegate's as ViaRoles; it never panics.
func FuzzDelegation(f *testing.F) {
	f.Add("orch-token", "alice", "", false)
	f.Add("orch-token", "", "valid-user-jwt", true)
	f.Add("bob-token", "alice", "", false)
	f.Add("orch-token", " alice\x00", "", false)
	f.Add("orch-token", "alice", "valid-user-jwt", true)
	f.Add("orch-token", "mallory", "", false)
	f.Add("orch-token", "", "", true)
	toks, err := ParseTokens([]byte("orch-token,orchestrator,delegate\nalice-token,alice,viewer\nbob-token,bob,sre\n"))
	if err != nil {
		f.Fatal(err)
	}
	var got *Principal
	h := Authenticate(Chain{toks}, &Delegation{Delegates: []string{"orchestrator"}, Users: toks, UserTokens: oneJWT{}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p := From(r.Context()); got = &p }))
	f.Fuzz(func(t *testing.T, bearer, obo, userTok string, sendTok bool) {
		got = nil
		req := httptest.NewRequest("POST", "/mcp", nil)
		req.Header["Authorization"] = []string{"Bearer " + bearer}
		if obo != "" {
			req.Header[http.CanonicalHeaderKey(HeaderOnBehalfOf)] = []string{obo}
		}
		if sendTok {
			req.Header[http.CanonicalHeaderKey(HeaderUserToken)] = []string{userTok}
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got == nil {
			return
		}
		self, _ := toks.Verify(context.Background(), strings.TrimSpace(bearer))
		if obo == "" && !sendTok {
			if got.User != self.User || got.Via != "" {
				t.Fatalf("a direct call became %+v", *got)
			}
			return
		}
		if self.User != "orchestrator" || (obo != "") == sendTok {
			t.Fatalf("delegation by %q (obo %q, token sent %v) ran as %+v", self.User, obo, sendTok, *got)
		}
		if got.Via != "orchestrator" || !slices.Equal(got.ViaRoles, []string{"delegate"}) {
			t.Fatalf("delegated principal %+v does not name its delegate", *got)
		}
		want, ok := toks.User(strings.TrimSpace(obo))
		if sendTok {
			want, ok = Principal{User: "carol", Roles: []string{"viewer"}, OIDC: true}, userTok == "valid-user-jwt"
		}
		if !ok || got.User != want.User || !slices.Equal(got.Roles, want.Roles) || got.OIDC != want.OIDC {
			t.Fatalf("obo %q token %q ran as %+v", obo, userTok, *got)
		}
	})
}

// FuzzRoleMapping (issue 23): a user's groups give only roles the mapping
// names; a group is never a role by itself.
func FuzzRoleMapping(f *testing.F) {
	f.Add("sre,viewer,opsmcp-web", "platform=sre", "opsmcp-")
	f.Add("opsmcp-,opsmcp-opsmcp-sre", "", "opsmcp-")
	f.Add("sre", "", "")
	f.Add("a=b,=c", "a=b=c", "")
	f.Fuzz(func(t *testing.T, groupList, pairList, prefix string) {
		groups := strings.Split(groupList, ",")
		m, err := ParseRoleMap(strings.Split(pairList, ";"))
		if err != nil {
			m = nil
		}
		rm := RoleMapping{Map: m, Prefix: prefix}
		roles := rm.For(groups)
		for i, r := range roles {
			if r == "" || slices.Contains(roles[:i], r) {
				t.Fatalf("roles %q: empty or repeated", roles)
			}
			fromMap := false
			for _, g := range groups {
				if slices.Contains(m[g], r) || prefix != "" && g == prefix+r {
					fromMap = true
				}
			}
			if !fromMap {
				t.Fatalf("role %q came from no mapping (groups %q, map %v, prefix %q)", r, groups, m, prefix)
			}
		}
		if rm.Empty() && len(roles) > 0 {
			t.Fatalf("an empty mapping gave roles %q", roles)
		}
	})
}
