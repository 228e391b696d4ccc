package orchestrator_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// hostServe runs `mcp-orchestrator serve` on loopback with only the given
// flags beyond the servers config (so no auth unless extra adds it), the
// real mcp-kubernetes behind it and Ollama at ollamaURL.
func hostServe(t *testing.T, ollamaURL string, extra ...string) (base, auditPath string) {
	t.Helper()
	require.NoError(t, kube.GrantReader(context.Background()))
	dir := t.TempDir()
	port, err := harness.FreePort()
	require.NoError(t, err)
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	auditPath = filepath.Join(dir, "audit.log")
	t.Setenv("OLLAMA_URL", ollamaURL)
	t.Setenv("OLLAMA_SECONDARY_URL", "")
	t.Setenv("OLLAMA_FALLBACK_URL", "")
	args := append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--config", servers(t), "--model", "tiny",
		"--audit-log", auditPath}, extra...)
	harness.StartServer(t, &seen, dir, "mcp-orchestrator", base, binary, args...)
	return base, auditPath
}

// chatCounter is a reverse proxy in front of a real Ollama that counts
// the model requests (/api/chat, /api/generate) it passes.
type chatCounter struct {
	URL   string
	chats atomic.Int64
}

func newChatCounter(t *testing.T, target string) *chatCounter {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	c := &chatCounter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/chat" || r.URL.Path == "/api/generate" {
			c.chats.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

type rawReq struct {
	method, path, host, origin, contentType, token string
	body                                           []byte
	chunked                                        bool
	header                                         map[string]string
}

// send makes one raw HTTP request: the header a browser (or a rebinding
// page) would send, not what a well-behaved client library sends.
func send(t *testing.T, base string, r rawReq) (int, string) {
	t.Helper()
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
		if r.chunked {
			rd = io.MultiReader(bytes.NewReader(r.body))
		}
	}
	req, err := http.NewRequest(r.method, base+r.path, rd)
	require.NoError(t, err)
	if r.host != "" {
		req.Host = r.host
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func chatBody(question string) []byte {
	return chatBodyFor("tiny", question)
}

func chatBodyFor(model, question string) []byte {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": false, "messages": []any{map[string]any{"role": "user", "content": question}}})
	return b
}

// auditTools lists the tool of each line of serve's audit log.
func auditTools(t *testing.T, path string) []string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	var out []string
	for _, l := range harness.AuditLines(t, &seen, path) {
		out = append(out, fmt.Sprint(l["tool"]))
	}
	return out
}

// TestServeRefusesCrossSite (issue 14): serve with its defaults (loopback,
// no auth) gives a web page on another origin nothing: not a "simple"
// text/plain cross-site POST, not a JSON one, and not a DNS-rebinding
// page whose name resolves to 127.0.0.1 (same-origin to the browser).
// No model request reaches Ollama and no tool runs; the same requests
// from a local client do both.
func TestServeRefusesCrossSite(t *testing.T) {
	ollama := newChatCounter(t, primary.URL)
	base, auditPath := hostServe(t, ollama.URL)
	port := mustURL(t, base).Port()
	evil := "rebind.attacker.example:" + port
	secrets, hello := chatBody("kubectl get secrets -A"), chatBody("hello there")
	for _, c := range []struct {
		name string
		req  rawReq
		code int
		want string
	}{
		{"text/plain cross-site", rawReq{method: "POST", path: "/api/chat", origin: "https://attacker.example", contentType: "text/plain", body: secrets}, 403, "forbidden origin"},
		{"text/plain cross-site, model", rawReq{method: "POST", path: "/api/chat", origin: "https://attacker.example", contentType: "text/plain", body: hello}, 403, "forbidden origin"},
		{"JSON cross-site", rawReq{method: "POST", path: "/v1/chat/completions", origin: "https://attacker.example", contentType: "application/json", body: secrets}, 403, "forbidden origin"},
		{"sandboxed frame", rawReq{method: "POST", path: "/api/chat", origin: "null", contentType: "text/plain", body: secrets}, 403, "forbidden origin"},
		{"form post", rawReq{method: "POST", path: "/api/chat", contentType: "application/x-www-form-urlencoded", body: []byte("q=kubectl+get+secrets+-A")}, 415, "Content-Type: application/json"},
		{"rebinding", rawReq{method: "POST", path: "/api/chat", host: evil, origin: "http://" + evil, contentType: "application/json", body: secrets}, 403, "forbidden Host"},
		{"rebinding, model", rawReq{method: "POST", path: "/api/chat", host: evil, origin: "http://" + evil, contentType: "application/json", body: hello}, 403, "forbidden Host"},
		{"rebinding, no Origin", rawReq{method: "POST", path: "/v1/chat/completions", host: evil, contentType: "application/json", body: secrets}, 403, "forbidden Host"},
		{"rebinding reads models", rawReq{method: "GET", path: "/v1/models", host: evil}, 403, "forbidden Host"},
		{"rebinding reads metrics", rawReq{method: "GET", path: "/metrics", host: evil}, 403, "forbidden Host"},
	} {
		code, body := send(t, base, c.req)
		assert.Equal(t, c.code, code, "%s: %s", c.name, body)
		assert.Contains(t, body, c.want, c.name)
		assert.NotContains(t, body, "tiny", "%s: no model list, no answer", c.name)
	}
	assert.Zero(t, ollama.chats.Load(), "no model request reached Ollama")
	assert.Empty(t, auditTools(t, auditPath), "no answer, no tool call")

	// The same questions from a local client (no Origin, loopback Host):
	// the tool runs, the model is asked.
	code, body := send(t, base, rawReq{method: "POST", path: "/api/chat", contentType: "application/json", body: secrets})
	require.Equal(t, http.StatusOK, code, body)
	// "plain" (a real model with an 8k context) answers a question on its
	// own.
	code, body = send(t, base, rawReq{method: "POST", path: "/api/chat", host: "localhost:" + port, contentType: "application/json", body: chatBodyFor("plain", "hello there")})
	require.Equal(t, http.StatusOK, code, body)
	assert.Positive(t, ollama.chats.Load())
	assert.Contains(t, auditTools(t, auditPath), "k8s_kubectl")
}

// TestServeBodyLimit: a body over --max-body-bytes (4 MiB by default) is
// refused with 413 and a message naming the flag, declared or chunked.
func TestServeBodyLimit(t *testing.T) {
	ollama := newChatCounter(t, primary.URL)
	base, auditPath := hostServe(t, ollama.URL)
	huge := chatBody("hello " + strings.Repeat("x", 4<<20))
	for _, chunked := range []bool{false, true} {
		code, body := send(t, base, rawReq{method: "POST", path: "/api/chat", contentType: "application/json", body: huge, chunked: chunked})
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, "chunked %v", chunked)
		assert.Contains(t, body, "request body over 4194304 bytes: send less, or raise --max-body-bytes")
	}
	base2, _ := hostServe(t, ollama.URL, "--max-body-bytes", "65536")
	code, body := send(t, base2, rawReq{method: "POST", path: "/v1/chat/completions", contentType: "application/json", body: chatBody(strings.Repeat("y", 70000)), chunked: true})
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, body, "request body over 65536 bytes")
	assert.Zero(t, ollama.chats.Load())
	assert.Empty(t, auditTools(t, auditPath))
}

// TestServeOffLoopbackWithoutAuth: serve refuses to start on a
// non-loopback address without auth, as every server does, before it
// listens.
func TestServeOffLoopbackWithoutAuth(t *testing.T) {
	port, err := harness.FreePort()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--listen", fmt.Sprintf("0.0.0.0:%d", port), "--config", servers(t))
	cmd.Env = append(os.Environ(), "OLLAMA_URL="+primary.URL)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "serve started: %s", out)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), fmt.Sprintf("refusing to listen on 0.0.0.0:%d without auth: give --auth-tokens or --oidc-issuer", port))
	// The environment counts as the flag does.
	cmd = exec.CommandContext(ctx, binary, "serve", "--config", servers(t))
	cmd.Env = append(os.Environ(), "OLLAMA_URL="+primary.URL, fmt.Sprintf("OPSMCP_LISTEN=0.0.0.0:%d", port))
	out, err = cmd.CombinedOutput()
	require.ErrorAs(t, err, &ee, "serve started: %s", out)
	assert.Contains(t, string(out), "refusing to listen on 0.0.0.0")
}

// issuer is an OpenID Connect issuer on loopback (discovery document and
// JWKS, per the spec) signing RS256 tokens with a key made for the test.
type issuer struct {
	URL string
	key *rsa.PrivateKey
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	is := &issuer{key: key}
	b64 := base64.RawURLEncoding.EncodeToString
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	is.URL = srv.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks",
			"authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	return is
}

// token signs a JWT for user in groups, valid for ttl (negative: expired).
func (is *issuer) token(t *testing.T, user, aud string, ttl time.Duration, groups ...string) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	now := time.Now()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{"iss": is.URL, "aud": aud, "sub": "sub-" + user, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"preferred_username": user, "groups": groups})
	signing := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, is.key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return signing + "." + b64(sig)
}

// TestServeTokenAndOIDCAuth: serve authenticates as the servers do: a
// token-file user and an OIDC user both get answers; an OIDC user's
// roles come only from the group mapping (a Gitea organization named
// "sre" is not the sre role); expired, foreign and missing tokens get
// nothing; serve accepts no delegation headers from a non-delegate.
func TestServeTokenAndOIDCAuth(t *testing.T) {
	is := newIssuer(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("host-tok-3b7d,dana,sre\n"), 0o600))
	pol := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(pol, []byte("roles:\n  sre:\n    tools: [\"*\"]\n"), 0o600))
	base, auditPath := hostServe(t, primary.URL, "--auth-tokens", tokens, "--policy", pol,
		"--oidc-issuer", is.URL, "--oidc-audience", "opsmcp", "--oidc-group-prefix", "opsmcp-")
	ask := func(token string, header map[string]string) (int, string) {
		return send(t, base, rawReq{method: "POST", path: "/api/chat", contentType: "application/json", token: token,
			body: chatBody("kubectl get namespaces"), header: header})
	}
	code, body := ask("host-tok-3b7d", nil)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "kube-system")
	code, body = ask(is.token(t, "erin", "opsmcp", 5*time.Minute, "opsmcp-sre"), nil)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "kube-system")

	code, body = ask(is.token(t, "mallory", "opsmcp", 5*time.Minute, "sre", "admins"), nil)
	assert.NotEqual(t, http.StatusOK, code)
	assert.Contains(t, body, "may not run kubectl commands", "a bare group is not a role")
	for name, tok := range map[string]string{
		"expired":          is.token(t, "erin", "opsmcp", -5*time.Minute, "opsmcp-sre"),
		"other audience":   is.token(t, "erin", "elsewhere", 5*time.Minute, "opsmcp-sre"),
		"wrong file token": "host-tok-wrong",
		"none":             "",
	} {
		code, body = ask(tok, nil)
		assert.Equal(t, http.StatusUnauthorized, code, "%s: %s", name, body)
	}
	code, body = ask("host-tok-3b7d", map[string]string{"X-Opsmcp-On-Behalf-Of": "erin"})
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, body, "user dana may not act for others")

	var ran, asked []string
	for _, l := range harness.AuditLines(t, &seen, auditPath) {
		switch l["tool"] {
		case "k8s_kubectl":
			ran = append(ran, fmt.Sprint(l["user"]))
		case "api/chat":
			asked = append(asked, fmt.Sprint(l["user"], " ", l["outcome"]))
		}
	}
	assert.Equal(t, []string{"dana", "erin"}, ran, "mallory's kubectl line never ran")
	assert.Equal(t, []string{"dana ok", "erin ok", "mallory error"}, asked, "each answer is audited as its user's")
}

// TestServeTLS: serve speaks HTTPS with --tls-cert/--tls-key (OPSMCP_*
// variables, as the servers read them), and answers a client that trusts
// its CA.
func TestServeTLS(t *testing.T) {
	ca, err := harness.NewCA()
	require.NoError(t, err)
	certPEM, keyPEM, err := ca.Serving("localhost")
	require.NoError(t, err)
	dir := t.TempDir()
	cert, key, tokens := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(cert, certPEM, 0o600))
	require.NoError(t, os.WriteFile(key, keyPEM, 0o600))
	require.NoError(t, os.WriteFile(tokens, []byte("tls-tok-5e21,dana,sre\n"), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	t.Setenv("OLLAMA_URL", primary.URL)
	t.Setenv("OPSMCP_TLS_CERT", cert)
	t.Setenv("OPSMCP_TLS_KEY", key)
	t.Setenv("OPSMCP_AUTH_TOKENS", tokens)
	p, err := harness.Start(dir, "mcp-orchestrator-tls", binary, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--config", servers(t), "--audit-log", "off")
	require.NoError(t, err)
	defer p.Stop()
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	require.NoError(t, harness.WaitHTTP(context.Background(), p, base+"/healthz", "", ca.Client(), 30*time.Second), p.Tail(2000))
	req, err := http.NewRequest("GET", base+"/api/tags", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer tls-tok-5e21")
	resp, err := ca.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "tiny")
	// Plain HTTP on the TLS port gets no answer.
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/tags", port))
	if err == nil {
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
}
