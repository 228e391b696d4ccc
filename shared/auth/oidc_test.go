package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOIDC runs a minimal issuer on loopback (discovery document and JWKS,
// as the OpenID Connect spec defines them) and checks that tokens it signs
// are accepted with the right user and roles, and others refused.
func TestOIDC(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks",
			"authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	require.NoError(t, err)
	sign := func(claims map[string]any) string {
		payload, _ := json.Marshal(claims)
		obj, err := signer.Sign(payload)
		require.NoError(t, err)
		s, err := obj.CompactSerialize()
		require.NoError(t, err)
		return s
	}
	ctx := context.Background()
	v, err := NewOIDC(ctx, srv.URL, "opsmcp", "preferred_username", "groups")
	require.NoError(t, err)
	now := time.Now().Unix()
	good := sign(map[string]any{"iss": srv.URL, "aud": "opsmcp", "sub": "u-1", "exp": now + 300, "iat": now,
		"preferred_username": "alice", "groups": []string{"sre", "viewer"}})
	p, err := v.Verify(ctx, good)
	require.NoError(t, err)
	assert.Equal(t, Principal{User: "alice", Roles: []string{"sre", "viewer"}, OIDC: true}, p)

	for name, claims := range map[string]map[string]any{
		"wrong audience": {"iss": srv.URL, "aud": "other", "sub": "u", "exp": now + 300},
		"expired":        {"iss": srv.URL, "aud": "opsmcp", "sub": "u", "exp": now - 300},
		"wrong issuer":   {"iss": "https://elsewhere.invalid", "aud": "opsmcp", "sub": "u", "exp": now + 300},
	} {
		_, err := v.Verify(ctx, sign(claims))
		assert.ErrorIs(t, err, ErrUnauthenticated, name)
	}
	_, err = v.Verify(ctx, "not-a-jwt")
	assert.ErrorIs(t, err, ErrUnauthenticated)
}
