package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"
)

// Gitea is a real Gitea (SQLite) on loopback.
type Gitea struct {
	URL    string
	Proc   *Proc
	bin    string
	config string
	dir    string
	env    []string
}

// giteaConfig has what upstreams.md found necessary: offline, no SSH, no
// mailer, cron, indexer or actions, templates read from the module source
// (the binary has no bindata), and an access log file the read-only proof
// reads.
const giteaConfig = `APP_NAME = opsmcp-e2e
RUN_USER = %[1]s
RUN_MODE = prod
WORK_PATH = %[2]s
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[3]d
ROOT_URL = http://127.0.0.1:%[3]d/
DOMAIN = 127.0.0.1
OFFLINE_MODE = true
DISABLE_SSH = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = %[4]s
APP_DATA_PATH = %[2]s/data

[database]
DB_TYPE = sqlite3
PATH = %[2]s/data/gitea.db

[repository]
ROOT = %[2]s/repos

[security]
INSTALL_LOCK = true
SECRET_KEY = %[5]s
INTERNAL_TOKEN = %[6]s

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false

[mailer]
ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[webhook]
; mcp-docs' e2e has Gitea deliver push events to a server on loopback.
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 10

[indexer]
REPO_INDEXER_ENABLED = false

[actions]
ENABLED = false

[log]
ROOT_PATH = %[2]s/log
MODE = console
LEVEL = Warn
logger.access.MODE = access-file

[log.access-file]
MODE = file
LEVEL = Info
FILE_NAME = access.log
LOG_ROTATE = false
`

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// StartGitea builds (once) and starts Gitea in dir.
func StartGitea(ctx context.Context, dir string) (*Gitea, error) {
	bin, err := Upstreams("gitea")
	if err != nil {
		return nil, err
	}
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	static := filepath.Join(strings.TrimSpace(string(modcache)), "code.gitea.io", "gitea@v1.26.0")
	if _, err := os.Stat(filepath.Join(static, "templates")); err != nil {
		return nil, fmt.Errorf("gitea templates not in the module cache (%s): %w", static, err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "gitea")
	for _, d := range []string{"data", "repos", "log", "home"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(work, "app.ini")
	jwt := randHex(32)
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(giteaConfig, u.Username, work, port, static, randHex(32), jwt)), 0o600); err != nil {
		return nil, err
	}
	g := &Gitea{URL: fmt.Sprintf("http://127.0.0.1:%d", port), bin: filepath.Join(bin, "gitea-v1.26.0"), config: cfg, dir: work,
		env: append(os.Environ(), "HOME="+filepath.Join(work, "home"), "GITEA_WORK_DIR="+work)}
	if _, err := g.CLI(ctx, "migrate"); err != nil {
		return nil, err
	}
	cmd := exec.Command(g.bin, "web", "--config", cfg, "--work-path", work)
	logPath := filepath.Join(dir, "gitea.log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr, cmd.Env = f, f, g.env
	p, err := startCmd("gitea", cmd, f, logPath)
	if err != nil {
		return nil, err
	}
	g.Proc = p
	if err := WaitHTTP(ctx, p, g.URL+"/api/v1/version", "", http.DefaultClient, 60*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return g, nil
}

// CLI runs a gitea admin command against this instance's config.
func (g *Gitea) CLI(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"--config", g.config, "--work-path", g.dir}, args...)
	cmd := exec.CommandContext(ctx, g.bin, full...)
	cmd.Env = g.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gitea %s: %w: %s %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// User creates a user and returns a token with the given scopes.
func (g *Gitea) User(ctx context.Context, name string, admin bool, scopes string) (string, error) {
	args := []string{"admin", "user", "create", "--username", name, "--password", "pw-" + randHex(8), "--email", name + "@e2e.test", "--must-change-password=false"}
	if admin {
		args = append(args, "--admin")
	}
	if _, err := g.CLI(ctx, args...); err != nil {
		return "", err
	}
	// A token the CLI printed was once refused by the server with 401
	// "token is required" for a whole seeding (e2e/gitea), on one run in
	// many: each token is proved on /api/v1/user before it is handed out,
	// and made again if the server does not take it.
	var last error
	for try := 0; try < 4; try++ {
		out, err := g.CLI(ctx, "admin", "user", "generate-access-token", "--username", name, "--token-name", "e2e-"+randHex(4), "--scopes", scopes, "--raw")
		if err != nil {
			return "", err
		}
		// Gitea may print warnings first (running as root); the token is last.
		lines := strings.Split(out, "\n")
		tok := strings.TrimSpace(lines[len(lines)-1])
		if last = g.proveToken(ctx, name, tok); last == nil {
			return tok, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return "", fmt.Errorf("token for %s: %w", name, last)
}

// proveToken asks Gitea who tok belongs to: a token the server does not
// take at all is answered 401.
func (g *Gitea) proveToken(ctx context.Context, name, tok string) error {
	if len(tok) != 40 || strings.Trim(tok, "0123456789abcdef") != "" {
		return fmt.Errorf("the CLI printed no 40-hex token as its last line (%d characters)", len(tok))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/api/v1/user", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var who struct {
		Login string `json:"login"`
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusForbidden:
		// Known, but its scopes do not include read:user (a bot's
		// read:repository token): the server took it, which is all
		// this asks. The flake was 401, the token not taken at all.
		return nil
	default:
		return fmt.Errorf("GET /api/v1/user with the new token: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&who); err != nil || who.Login != name {
		return fmt.Errorf("GET /api/v1/user with the new token: login %q, want %q (%v)", who.Login, name, err)
	}
	return nil
}

// AccessLog returns Gitea's access log lines.
func (g *Gitea) AccessLog() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "log", "access.log"))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n"), nil
}

// Stop stops Gitea.
func (g *Gitea) Stop() { g.Proc.Stop() }

// Git runs the git CLI in dir as author ("Name <email>") at when (a date
// git accepts), with no system or user config.
func Git(ctx context.Context, dir, author, when string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	name, email, _ := strings.Cut(author, " <")
	email = strings.TrimSuffix(email, ">")
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME="+name, "GIT_AUTHOR_EMAIL="+email, "GIT_COMMITTER_NAME="+name, "GIT_COMMITTER_EMAIL="+email,
		"GIT_AUTHOR_DATE="+when, "GIT_COMMITTER_DATE="+when, "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
