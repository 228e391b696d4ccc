package auth

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// Delegation says who may act for others on a server (its --delegates)
// and how the server resolves the user a delegate names.
type Delegation struct {
	// Delegates are the callers allowed to act for others: a token-file
	// user by name, an OIDC user as "oidc:<name>". The prefix keeps the
	// two apart, since anyone who can register with the OIDC provider
	// (a Gitea sign-up) can pick a token-file delegate's name.
	Delegates []string
	// Users are the token-file users a delegate may name with
	// HeaderOnBehalfOf (the server's own --auth-tokens file).
	Users *Tokens
	// UserTokens verifies a user's own token sent in HeaderUserToken: the
	// server's own OIDC verifier (same issuer, the servers' audience).
	UserTokens Verifier
}

// maxUserName bounds a HeaderOnBehalfOf value; a token-file user name is
// never near it.
const maxUserName = 256

// delegationError is a refusal of a delegation request: an HTTP status
// and a message that says what to fix.
type delegationError struct {
	code int
	msg  string
}

// delegationAsked reports whether the request carries either delegation
// header, even empty.
func delegationAsked(r *http.Request) bool {
	_, obo := r.Header[http.CanonicalHeaderKey(HeaderOnBehalfOf)]
	_, tok := r.Header[http.CanonicalHeaderKey(HeaderUserToken)]
	return obo || tok
}

// IsDelegate reports whether the authenticated caller p may act for
// others.
func (d *Delegation) IsDelegate(p Principal) bool {
	if d == nil {
		return false
	}
	for _, e := range d.Delegates {
		if name, ok := strings.CutPrefix(e, "oidc:"); ok {
			if p.OIDC && p.User == name {
				return true
			}
		} else if !p.OIDC && p.User == e {
			return true
		}
	}
	return false
}

// resolve returns the principal a delegation request acts as, and the
// user's own bearer (empty for a token-file user), or the refusal.
func (d *Delegation) resolve(r *http.Request, delegate Principal) (Principal, string, *delegationError) {
	obo := r.Header.Values(HeaderOnBehalfOf)
	tok := r.Header.Values(HeaderUserToken)
	switch {
	case len(obo) > 0 && len(tok) > 0:
		return Principal{}, "", &delegationError{http.StatusBadRequest, fmt.Sprintf("delegation refused: send %s or %s, not both", HeaderOnBehalfOf, HeaderUserToken)}
	case len(obo) > 1:
		return Principal{}, "", &delegationError{http.StatusBadRequest, fmt.Sprintf("delegation refused: %s given %d times; name one user", HeaderOnBehalfOf, len(obo))}
	case len(tok) > 1:
		return Principal{}, "", &delegationError{http.StatusBadRequest, fmt.Sprintf("delegation refused: %s given %d times; send one token", HeaderUserToken, len(tok))}
	}
	if !d.IsDelegate(delegate) {
		return Principal{}, "", &delegationError{http.StatusForbidden, fmt.Sprintf("delegation refused: user %s may not act for others (not listed in this server's --delegates)", delegate.User)}
	}
	var user Principal
	var bearer string
	if len(obo) == 1 {
		name := strings.TrimSpace(obo[0])
		if name == "" {
			return Principal{}, "", &delegationError{http.StatusBadRequest, fmt.Sprintf("delegation refused: %s is empty; name a user of this server's --auth-tokens file", HeaderOnBehalfOf)}
		}
		if len(name) > maxUserName || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return Principal{}, "", &delegationError{http.StatusBadRequest, fmt.Sprintf("delegation refused: %s is not a user name (over %d bytes or control characters)", HeaderOnBehalfOf, maxUserName)}
		}
		var ok bool
		if d.Users != nil {
			user, ok = d.Users.User(name)
		}
		if !ok {
			return Principal{}, "", &delegationError{http.StatusForbidden, fmt.Sprintf("delegation refused: user %q is not in this server's --auth-tokens file; no call ran", name)}
		}
	} else {
		raw := strings.TrimSpace(tok[0])
		if d.UserTokens == nil {
			return Principal{}, "", &delegationError{http.StatusForbidden, fmt.Sprintf("delegation refused: this server has no --oidc-issuer to verify %s", HeaderUserToken)}
		}
		var err error
		user, err = d.UserTokens.Verify(r.Context(), raw)
		if err != nil || raw == "" {
			// The verifier's detail (expired, audience, signature) stays
			// server-side; the caller learns which header was refused.
			return Principal{}, "", &delegationError{http.StatusUnauthorized, fmt.Sprintf("delegation refused: %s refused: not a valid, unexpired token of this server's OIDC issuer and audience", HeaderUserToken)}
		}
		bearer = raw
	}
	user.Via = delegate.User
	user.ViaRoles = slices.Clone(delegate.Roles)
	return user, bearer, nil
}

// RoleMapping turns OIDC groups into roles. A group is never a role by
// itself: a user who can create a group (a Gitea organization) must not
// name their own role.
type RoleMapping struct {
	// Map gives the roles of each group (--oidc-role-map group=role).
	Map map[string][]string
	// Prefix, when set, makes a group "<Prefix><role>" give role <role>
	// (--oidc-group-prefix).
	Prefix string
}

// Empty reports whether the mapping gives no role to any group.
func (m RoleMapping) Empty() bool { return len(m.Map) == 0 && m.Prefix == "" }

// For returns the roles groups map to, each once, in the order met.
func (m RoleMapping) For(groups []string) []string {
	var roles []string
	add := func(r string) {
		if r != "" && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	for _, g := range groups {
		for _, r := range m.Map[g] {
			add(r)
		}
		if m.Prefix != "" {
			if r, ok := strings.CutPrefix(g, m.Prefix); ok {
				add(r)
			}
		}
	}
	return roles
}

// ParseRoleMap parses --oidc-role-map values, each "group=role".
func ParseRoleMap(pairs []string) (map[string][]string, error) {
	m := map[string][]string{}
	for _, p := range pairs {
		g, r, ok := strings.Cut(p, "=")
		g, r = strings.TrimSpace(g), strings.TrimSpace(r)
		if !ok || g == "" || r == "" {
			return nil, fmt.Errorf("--oidc-role-map %q: want group=role", p)
		}
		if !slices.Contains(m[g], r) {
			m[g] = append(m[g], r)
		}
	}
	return m, nil
}
