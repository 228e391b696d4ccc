package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// selfSigned is a CA certificate for 127.0.0.1, and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "ollama"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// fakeOllamaTLS answers /api/version over TLS with cert.
func fakeOllamaTLS(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"version": "0.17.4"})
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// TestOllamaCAFile: with a CA file, the real host (its certificate from
// that CA) answers; a host answering with any other certificate, even
// one the system would trust, is refused; without the CA file the
// self-signed host is refused too; an http endpoint with a CA file is a
// configuration error.
func TestOllamaCAFile(t *testing.T) {
	realCert, realPEM := selfSigned(t)
	spoofCert, _ := selfSigned(t)
	genuine, spoof := fakeOllamaTLS(t, realCert), fakeOllamaTLS(t, spoofCert)
	ca := filepath.Join(t.TempDir(), "ollama-ca.pem")
	require.NoError(t, os.WriteFile(ca, realPEM, 0o600))
	ctx := context.Background()

	ep, err := NewEndpointCA("primary", genuine.URL, 5*time.Second, ca)
	require.NoError(t, err)
	v, err := ep.API.Version(ctx)
	require.NoError(t, err)
	assert.Equal(t, "0.17.4", v)

	ep, err = NewEndpointCA("primary", spoof.URL, 5*time.Second, ca)
	require.NoError(t, err)
	_, err = ep.API.Version(ctx)
	require.Error(t, err, "a host without a certificate from the CA file is refused")
	assert.Contains(t, err.Error(), "certificate")

	ep, err = NewEndpointCA("primary", genuine.URL, 5*time.Second, "")
	require.NoError(t, err)
	_, err = ep.API.Version(ctx)
	require.Error(t, err, "without the CA file the host's certificate is not trusted")

	_, err = NewEndpointCA("primary", "http://127.0.0.1:11434", time.Second, ca)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "must be https://")
	bad := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o600))
	_, err = NewEndpointCA("primary", genuine.URL, time.Second, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no PEM certificate")

	// The environment: OLLAMA_CA_FILE applies to every OLLAMA_* endpoint.
	t.Setenv("OLLAMA_URL", genuine.URL)
	t.Setenv("OLLAMA_SECONDARY_URL", spoof.URL)
	t.Setenv("OLLAMA_FALLBACK_URL", "")
	t.Setenv(CAFileEnv, ca)
	eps, err := FromEnv(5 * time.Second)
	require.NoError(t, err)
	g := New(eps)
	g.Poll(ctx)
	st := g.States()
	require.Len(t, st, 2)
	assert.True(t, st[0].Healthy, st[0].Error)
	assert.False(t, st[1].Healthy, "the spoofed secondary is not used")
}
