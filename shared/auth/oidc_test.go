package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOIDC runs a minimal issuer on loopback (discovery document and JWKS,
// as the OpenID Connect spec defines them) and checks that tokens it signs
// are accepted with the right user and roles, and others refused.
func TestOIDC(t *testing.T) {
	iss := newTestIssuer(t)
	ctx := context.Background()
	v, err := NewOIDC(ctx, iss.URL, "opsmcp", "preferred_username", "groups")
	require.NoError(t, err)
	now := time.Now().Unix()
	good := iss.sign(map[string]any{"iss": iss.URL, "aud": "opsmcp", "sub": "u-1", "exp": now + 300, "iat": now,
		"preferred_username": "alice", "groups": []string{"sre", "viewer"}})
	p, err := v.Verify(ctx, good)
	require.NoError(t, err)
	// No mapping: a group is never a role by itself (issue 23).
	assert.Equal(t, Principal{User: "alice", OIDC: true, Subject: iss.URL + "#u-1"}, p)
	v.Roles = RoleMapping{Map: map[string][]string{"viewer": {"viewer"}}}
	p, err = v.Verify(ctx, good)
	require.NoError(t, err)
	assert.Equal(t, Principal{User: "alice", Roles: []string{"viewer"}, OIDC: true, Subject: iss.URL + "#u-1"}, p)

	// Another account that set the same preferred_username is another
	// caller: its sessions, cursors and rate budget are its own.
	twin, err := v.Verify(ctx, iss.sign(map[string]any{"iss": iss.URL, "aud": "opsmcp", "sub": "u-2", "exp": now + 300, "iat": now,
		"preferred_username": "alice", "groups": []string{"viewer"}}))
	require.NoError(t, err)
	assert.Equal(t, p.User, twin.User)
	assert.NotEqual(t, p.Key(), twin.Key())

	for name, claims := range map[string]map[string]any{
		"wrong audience": {"iss": iss.URL, "aud": "other", "sub": "u", "exp": now + 300},
		"expired":        {"iss": iss.URL, "aud": "opsmcp", "sub": "u", "exp": now - 300},
		"wrong issuer":   {"iss": "https://elsewhere.invalid", "aud": "opsmcp", "sub": "u", "exp": now + 300},
	} {
		_, err := v.Verify(ctx, iss.sign(claims))
		assert.ErrorIs(t, err, ErrUnauthenticated, name)
	}
	_, err = v.Verify(ctx, "not-a-jwt")
	assert.ErrorIs(t, err, ErrUnauthenticated)
}
