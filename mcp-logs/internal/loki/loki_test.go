package loki

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

// TestNoWritePaths scans this package's source: no request is built with a
// method other than GET, and no write endpoint (push, delete, flush,
// rules) is named.
func TestNoWritePaths(t *testing.T) {
	bad := regexp.MustCompile(`http\.Method(Post|Put|Patch|Delete)|"(POST|PUT|PATCH|DELETE)"|/push|/delete|/flush|/rules|/shutdown`)
	hits, files, err := readonly.Scan(".", bad, nil)
	require.NoError(t, err)
	assert.Empty(t, hits, "write paths")
	assert.Positive(t, files)
}

func TestSecretsComeFromFiles(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("s3cr3t-token\n"), 0o600)
	var auth, tenant string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, tenant = r.Header.Get("Authorization"), r.Header.Get("X-Scope-OrgID")
	}))
	defer srv.Close()
	c, err := New(Options{URL: srv.URL, TokenFile: tok, Tenant: "team-a"})
	require.NoError(t, err)
	require.NoError(t, c.Ready(t.Context()))
	assert.Equal(t, "Bearer s3cr3t-token", auth)
	assert.Equal(t, "team-a", tenant)

	_, err = New(Options{URL: "ftp://x"})
	assert.ErrorContains(t, err, "want http(s)://host:port")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	_, err = New(Options{URL: srv.URL, TokenFile: empty})
	assert.ErrorContains(t, err, "is empty")
}

func TestTLSAndBasicAuth(t *testing.T) {
	var user, pass string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("hunter2\n"), 0o600))

	c, err := New(Options{URL: srv.URL, CAFile: ca, Username: "loki-reader", PasswordFile: pw})
	require.NoError(t, err)
	require.NoError(t, c.Ready(t.Context()))
	assert.Equal(t, "loki-reader", user)
	assert.Equal(t, "hunter2", pass)

	// Without the CA the server's certificate is not trusted.
	c, err = New(Options{URL: srv.URL})
	require.NoError(t, err)
	err = c.Ready(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
}

// TestUsesReadOnlyTransport: the client's requests go through the shared
// read-only transport (tested in shared/readonly), so a write never leaves.
func TestUsesReadOnlyTransport(t *testing.T) {
	c, err := New(Options{URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/loki/api/v1/push", nil)
	_, err = c.http.Do(req)
	assert.ErrorIs(t, err, readonly.ErrRefused)
}
