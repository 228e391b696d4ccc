package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Gitea as an OpenID Connect provider (e2e/proxy): its issuer is ROOT_URL
// (see Issuer); its ID tokens carry preferred_username, email and, with the "groups"
// scope, a "groups" claim of the user's organisations and "org:team"
// names (services/oauth2_provider in Gitea v1.26).

// Issuer is Gitea's OIDC issuer as its discovery document and ID tokens
// name it: ROOT_URL without its trailing slash (or [oauth2]
// JWT_CLAIM_ISSUER when set).
func (g *Gitea) Issuer() string { return g.URL }

// PasswordUser creates a user who signs in with password through the web
// login form (User makes API-token users whose password nobody knows).
func (g *Gitea) PasswordUser(ctx context.Context, name, password string) error {
	_, err := g.CLI(ctx, "admin", "user", "create", "--username", name, "--password", password,
		"--email", name+"@e2e.test", "--must-change-password=false")
	return err
}

// OAuth2App registers a confidential OAuth2 application owned by the
// token's user and returns its client id and secret.
func (g *Gitea) OAuth2App(ctx context.Context, token, name string, redirectURIs ...string) (id, secret string, err error) {
	body, _ := json.Marshal(map[string]any{"name": name, "redirect_uris": redirectURIs, "confidential_client": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/api/v1/user/applications/oauth2", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Authorization", "token "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("create OAuth2 app %s: %w", name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", "", fmt.Errorf("create OAuth2 app %s: %s: %s", name, resp.Status, raw)
	}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(raw, &app); err != nil || app.ClientID == "" || app.ClientSecret == "" {
		return "", "", fmt.Errorf("create OAuth2 app %s: no client id or secret in %s", name, raw)
	}
	return app.ClientID, app.ClientSecret, nil
}

// SetTokenLifetime restarts Gitea with its OAuth2 access and ID tokens
// living d ([oauth2] ACCESS_TOKEN_EXPIRATION_TIME; whole seconds). The
// signing key, port and data stay: the issuer is the same.
func (g *Gitea) SetTokenLifetime(ctx context.Context, d time.Duration) error {
	raw, err := os.ReadFile(g.config)
	if err != nil {
		return err
	}
	cfg := regexp.MustCompile(`(?s)\n\[oauth2\]\n[^\[]*`).ReplaceAllString(string(raw), "")
	cfg += fmt.Sprintf("\n[oauth2]\nACCESS_TOKEN_EXPIRATION_TIME = %d\n", int(d.Seconds()))
	if err := os.WriteFile(g.config, []byte(cfg), 0o600); err != nil {
		return err
	}
	g.Proc.Stop()
	cmd := exec.Command(g.bin, "web", "--config", g.config, "--work-path", g.dir)
	logPath := filepath.Join(filepath.Dir(g.dir), "gitea-restarted.log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr, cmd.Env = f, f, g.env
	if g.Proc, err = startCmd("gitea", cmd, f, logPath); err != nil {
		return err
	}
	return WaitHTTP(ctx, g.Proc, g.URL+"/api/v1/version", "", http.DefaultClient, 60*time.Second)
}

// Browser is a cookie-keeping HTTP client that signs in to Gitea as a
// person would: it follows redirects, fills in Gitea's login form and
// approves its consent page ("Authorize Application").
type Browser struct {
	Client         *http.Client // with a cookie jar
	User, Password string
	// Stop, when set, ends a Get at the first redirect to a URL it
	// matches (a callback nobody serves), returned as the final URL.
	Stop func(*url.URL) bool
}

var (
	formRE   = regexp.MustCompile(`(?s)<form([^>]*)>(.*?)</form>`)
	actionRE = regexp.MustCompile(`\baction="([^"]*)"`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// Get fetches u, signing in and granting consent on the way when Gitea
// asks; it returns the last response's URL, status and body.
func (b *Browser) Get(ctx context.Context, u string) (*url.URL, int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, "", err
	}
	for step := 0; step < 4; step++ {
		final, status, body, err := b.do(req)
		if err != nil || status != http.StatusOK {
			return final, status, body, err
		}
		var form url.Values
		var action string
		switch {
		case final.Path == "/user/login":
			action, form = formAction(body, "/user/login"), url.Values{"user_name": {b.User}, "password": {b.Password}}
		case formAction(body, "/login/oauth/grant") == "/login/oauth/grant" && strings.Contains(body, `action="/login/oauth/grant"`):
			action, form = "/login/oauth/grant", url.Values{"granted": {"true"}}
		default:
			return final, status, body, nil
		}
		for _, m := range hiddenRE.FindAllStringSubmatch(formBody(body, action), -1) {
			form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
		}
		target, err := final.Parse(html.UnescapeString(action))
		if err != nil {
			return final, status, body, fmt.Errorf("form action %q: %w", action, err)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, 0, "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return nil, 0, "", errors.New("gitea kept asking: the login or consent form was refused")
}

// do sends req, following redirects until Stop matches one.
func (b *Browser) do(req *http.Request) (*url.URL, int, string, error) {
	c := *b.Client
	var stopped *url.URL
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if b.Stop != nil && b.Stop(r.URL) {
			stopped = r.URL
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return errors.New("more than 10 redirects")
		}
		return nil
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if stopped != nil {
		return stopped, resp.StatusCode, string(raw), nil
	}
	return resp.Request.URL, resp.StatusCode, string(raw), nil
}

// postForms maps each post form's action (as written) to its inside.
func postForms(body string) [][2]string {
	var out [][2]string
	for _, m := range formRE.FindAllStringSubmatch(body, -1) {
		a := actionRE.FindStringSubmatch(m[1])
		if a != nil && strings.Contains(strings.ToLower(m[1]), `method="post"`) {
			out = append(out, [2]string{a[1], m[2]})
		}
	}
	return out
}

// formAction is the action of the first post form whose action starts
// with prefix.
func formAction(body, prefix string) string {
	for _, f := range postForms(body) {
		if strings.HasPrefix(html.UnescapeString(f[0]), prefix) {
			return f[0]
		}
	}
	return prefix
}

// formBody is the inside of the post form with action.
func formBody(body, action string) string {
	for _, f := range postForms(body) {
		if f[0] == action {
			return f[1]
		}
	}
	return ""
}

// IDToken runs the authorization code flow for a client as b's user
// against Gitea directly (as a command-line client would) and returns
// the ID token Gitea issues for scope.
func (g *Gitea) IDToken(ctx context.Context, b *Browser, clientID, secret, redirect, scope string) (string, error) {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope}, "state": {randHex(8)}}
	bb := *b
	bb.Stop = func(u *url.URL) bool { return strings.HasPrefix(u.String(), redirect) }
	final, _, body, err := bb.Get(ctx, g.URL+"/login/oauth/authorize?"+q.Encode())
	if err != nil {
		return "", err
	}
	code := final.Query().Get("code")
	if code == "" || !strings.HasPrefix(final.String(), redirect) {
		return "", fmt.Errorf("authorize %s: no code (ended at %s): %.300s", clientID, final, body)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {clientID}, "client_secret": {secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", clientID, err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &tok); err != nil || tok.IDToken == "" {
		return "", fmt.Errorf("token for %s: %s: no id_token in %.300s", clientID, resp.Status, raw)
	}
	return tok.IDToken, nil
}
