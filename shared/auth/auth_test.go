package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokens(t *testing.T) {
	h := sha256.Sum256([]byte("hashed-token"))
	tok, err := ParseTokens([]byte("# comment\nclear-token,alice,sre;viewer\nsha256:" + hex.EncodeToString(h[:]) + ",bob,viewer\n"))
	require.NoError(t, err)
	p, err := tok.Verify(context.Background(), "clear-token")
	require.NoError(t, err)
	assert.Equal(t, Principal{User: "alice", Roles: []string{"sre", "viewer"}}, p)
	p, err = tok.Verify(context.Background(), "hashed-token")
	require.NoError(t, err)
	assert.Equal(t, "bob", p.User)
	_, err = tok.Verify(context.Background(), "nope")
	assert.ErrorIs(t, err, ErrUnauthenticated)

	for _, bad := range []string{"", "a,b", "sha256:zz,u,r", ",u,r"} {
		_, err := ParseTokens([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestMiddleware(t *testing.T) {
	tok, _ := ParseTokens([]byte("good,alice,sre\n"))
	var got Principal
	h := Middleware(tok, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = From(r.Context()) }))
	for _, c := range []struct {
		header string
		code   int
	}{{"", 401}, {"Bearer bad", 401}, {"Basic good", 401}, {"Bearer good", 200}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/mcp", nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		h.ServeHTTP(rec, req)
		assert.Equal(t, c.code, rec.Code, c.header)
	}
	assert.Equal(t, "alice", got.User)
	assert.Equal(t, "stdio", From(context.Background()).User)
}
