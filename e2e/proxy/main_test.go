// Package proxy_test runs the shipped reverse-proxy configurations for
// real (issue 22): Debian 12's nginx with deploy/proxy/nginx.conf, and
// Traefik with its Kubernetes CRD provider reading the shipped
// IngressRoute and Middleware objects from the harness API server, each
// with oauth2-proxy doing forward auth, in front of every server and the
// orchestrator, with the harness's Gitea as the OpenID Connect provider.
package proxy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// The public names of the shipped configurations; the test maps both to
// 127.0.0.1 in its own clients (never through DNS).
const (
	mcpHost = "mcp.example.internal"
	aiHost  = "ai.example.internal"
)

// Users signing in at Gitea: alice is in team ops/sre (group "ops:sre",
// mapped to role sre), bob only in org ops (no role).
const (
	alice = "alice"
	bob   = "bob"
)

// backend is one server behind the proxies.
type backend struct {
	name   string // binary
	prefix string // path prefix on the proxies
	port   int
	audit  string
	tool   string
	args   map[string]any
	want   string // in the tool's result: a fixture its upstream holds
}

// world is everything TestMain starts.
type world struct {
	dir    string
	ca     *harness.CA
	caFile string
	forge  *harness.Gitea
	kube   *harness.Kube
	// The OIDC client the servers and oauth2-proxy accept, and another
	// application of the same Gitea (a token for the wrong audience).
	clientID, secret, otherID, otherSecret string
	password                               map[string]string
	backends                               []*backend
	orchAudit                              string
	orchPort                               int
	docsAudit                              string
	webhookSecret                          string
	nginx, traefik                         *front
}

// front is one reverse proxy with its oauth2-proxy.
type front struct {
	name   string
	url    string // https://mcp.example.internal:<port>
	aiURL  string // https://ai.example.internal:<port>
	port   int
	proc   *harness.Proc
	oauth2 string // oauth2-proxy's own address (127.0.0.1:port)
	o2proc *harness.Proc
}

var w *world

// seen keeps every server's log and answer, for the failure messages.
var seen harness.Recorder

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e/proxy:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	if os.Geteuid() != 0 {
		return 0, fmt.Errorf("mcp-swarm's harness runs dockerd and needs root, as make test does")
	}
	dir, err := os.MkdirTemp("", "opsmcp-e2e-proxy-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	w = &world{dir: dir, password: map[string]string{}}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := setup(ctx, &stops); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// setup starts the upstreams, the servers, oauth2-proxy, nginx and
// Traefik.
func setup(ctx context.Context, stops *[]func()) error {
	var err error
	if w.ca, err = harness.NewCA(); err != nil {
		return err
	}
	w.caFile = filepath.Join(w.dir, "ca.pem")
	if err := os.WriteFile(w.caFile, w.ca.CertPEM, 0o600); err != nil {
		return err
	}
	if w.forge, err = harness.StartGitea(ctx, w.dir); err != nil {
		return fmt.Errorf("start gitea: %w", err)
	}
	*stops = append(*stops, w.forge.Stop)
	if err := setupGitea(ctx); err != nil {
		return err
	}
	for _, d := range []string{"kube", "swarm", "loki"} {
		if err := os.MkdirAll(filepath.Join(w.dir, d), 0o755); err != nil {
			return err
		}
	}
	if w.kube, err = harness.StartKube(ctx, filepath.Join(w.dir, "kube")); err != nil {
		return fmt.Errorf("start kubernetes: %w", err)
	}
	*stops = append(*stops, w.kube.Stop)
	if err := w.kube.GrantReader(ctx); err != nil {
		return err
	}
	if err := startBackends(ctx, stops); err != nil {
		return err
	}
	if err := startNginx(ctx, stops); err != nil {
		return err
	}
	return startTraefik(ctx, stops)
}

// setupGitea makes the people, the groups the policy's roles come from,
// and the OAuth2 applications.
func setupGitea(ctx context.Context) error {
	adminTok, err := w.forge.User(ctx, "proxy-admin", true, "all")
	if err != nil {
		return err
	}
	if adminTok == "" {
		// Seen once under load: the CLI printed no token. Another user.
		if adminTok, err = w.forge.User(ctx, "proxy-admin2", true, "all"); err != nil || adminTok == "" {
			return fmt.Errorf("gitea printed no access token for the admin (%v)", err)
		}
	}
	for _, u := range []string{alice, bob} {
		w.password[u] = "pw-" + u + "-7c1e94b2"
		if err := w.forge.PasswordUser(ctx, u, w.password[u]); err != nil {
			return err
		}
	}
	admin, err := gitea.NewClient(w.forge.URL, gitea.SetToken(adminTok), gitea.SetContext(ctx))
	if err != nil {
		return err
	}
	if _, _, err := admin.CreateOrg(gitea.CreateOrgOption{Name: "ops", Visibility: gitea.VisibleTypePrivate}); err != nil {
		return fmt.Errorf("create org ops: %w", err)
	}
	team, _, err := admin.CreateTeam("ops", gitea.CreateTeamOption{Name: "sre", Permission: gitea.AccessModeRead,
		Units: []gitea.RepoUnitType{gitea.RepoUnitCode, gitea.RepoUnitIssues}})
	if err != nil {
		return fmt.Errorf("create team ops/sre: %w", err)
	}
	if _, err := admin.AddTeamMember(team.ID, alice); err != nil {
		return fmt.Errorf("add alice to ops/sre: %w", err)
	}
	// bob is in the organisation (its Owners team) only through another
	// team without the sre name.
	devs, _, err := admin.CreateTeam("ops", gitea.CreateTeamOption{Name: "devs", Permission: gitea.AccessModeRead,
		Units: []gitea.RepoUnitType{gitea.RepoUnitCode}})
	if err != nil {
		return fmt.Errorf("create team ops/devs: %w", err)
	}
	if _, err := admin.AddTeamMember(devs.ID, bob); err != nil {
		return fmt.Errorf("add bob to ops/devs: %w", err)
	}
	if _, _, err := admin.CreateOrgRepo("ops", gitea.CreateRepoOption{Name: "infra", AutoInit: true, DefaultBranch: "main", Private: true}); err != nil {
		return err
	}
	if _, _, err := admin.CreateIssue("ops", "infra", gitea.CreateIssueOption{Title: "proxy issue 4d2a", Body: "behind nginx"}); err != nil {
		return err
	}
	// The ports of the proxies are chosen now: the callbacks are
	// registered with the application.
	w.nginx, w.traefik = &front{name: "nginx"}, &front{name: "traefik"}
	var redirects []string
	for _, f := range []*front{w.nginx, w.traefik} {
		if f.port, err = harness.FreePort(); err != nil {
			return err
		}
		f.url = fmt.Sprintf("https://%s:%d", mcpHost, f.port)
		f.aiURL = fmt.Sprintf("https://%s:%d", aiHost, f.port)
		redirects = append(redirects, f.url+"/oauth2/callback")
	}
	if w.clientID, w.secret, err = w.forge.OAuth2App(ctx, adminTok, "opsmcp", redirects...); err != nil {
		return err
	}
	w.otherID, w.otherSecret, err = w.forge.OAuth2App(ctx, adminTok, "wiki", "http://127.0.0.1:1/wiki/callback")
	return err
}

// browser is a person's cookie-keeping client: it trusts the test CA and
// reaches the proxies' public names on 127.0.0.1.
func browser(t testing.TB, user string) *harness.Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &harness.Browser{Client: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: loopbackTransport()},
		User: user, Password: w.password[user]}
}

// loopbackTransport dials mcp.example.internal and ai.example.internal
// at 127.0.0.1 and trusts the test CA; any other name is refused, so no
// lookup ever leaves the machine.
func loopbackTransport() *http.Transport {
	tr := w.ca.Client().Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		switch host {
		case mcpHost, aiHost, "127.0.0.1":
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		}
		return nil, fmt.Errorf("test client: %s is not a loopback name", host)
	}
	return tr
}

// oauth2Args are oauth2-proxy's flags for one proxy: Gitea as the OIDC
// provider, forward auth for nginx's auth_request and Traefik's
// forwardAuth, bearer ID tokens verified (for MCP clients) and the
// session's ID token handed back in Authorization.
func oauth2Args(f *front) []string {
	return []string{"--provider=oidc", "--oidc-issuer-url=" + w.forge.Issuer(),
		"--client-id=" + w.clientID, "--client-secret=" + w.secret,
		"--redirect-url=" + f.url + "/oauth2/callback",
		"--cookie-secret=" + strings.Repeat("k", 32), "--cookie-secure=true", "--cookie-name=_opsmcp_" + f.name,
		"--email-domain=*", "--scope=openid email profile groups", "--code-challenge-method=S256",
		"--upstream=static://202", "--reverse-proxy=true", "--skip-provider-button=true",
		"--set-authorization-header=true", "--set-xauthrequest=true",
		"--skip-jwt-bearer-tokens=true", "--bearer-token-login-fallback=false"}
}
