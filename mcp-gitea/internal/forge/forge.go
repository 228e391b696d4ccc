// Package forge is mcp-gitea's read-only access to one Gitea: the SDK for
// the REST API over a transport that sends only GET, a repository
// allowlist, and bare git mirrors (fetch only) for what the API cannot
// answer: blame, code search, trees and diffs at any revision.
package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

// Options configure access to Gitea.
type Options struct {
	URL       string
	Token     string // the server's own token (flag file or GITEA_TOKEN)
	Repos     []string
	MirrorDir string
	MirrorTTL time.Duration
	Timeout   time.Duration
}

// Forge is one Gitea.
type Forge struct {
	url     string
	token   string
	http    *http.Client
	version string
	allow   []string
	Mirrors *Mirrors
}

// ErrNotAllowed is returned for a repository outside the allowlist.
var ErrNotAllowed = errors.New("not in this server's repository allowlist")

// New checks the options and asks Gitea its version once, so later
// per-call clients need no round trip of their own.
func New(ctx context.Context, o Options) (*Forge, error) {
	if o.URL == "" {
		return nil, errors.New("--gitea-url (or GITEA_URL) is required")
	}
	for _, p := range o.Repos {
		owner, name, ok := strings.Cut(p, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("--repos %q: use owner/name or owner/*", p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("--repos %q: %w", p, err)
		}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	f := &Forge{
		url:   strings.TrimRight(o.URL, "/"),
		token: o.Token,
		http:  &http.Client{Transport: readonly.Transport(http.DefaultTransport), Timeout: timeout},
		allow: o.Repos,
	}
	c, err := gitea.NewClient(f.url, gitea.SetHTTPClient(f.http), gitea.SetToken(o.Token), gitea.SetContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("connect to Gitea at %s: %w", f.url, err)
	}
	v, _, err := c.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("Gitea version: %w", err)
	}
	f.version = v
	dir := o.MirrorDir
	if dir == "" {
		dir = defaultMirrorDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--mirror-dir %s: %w", dir, err)
	}
	ttl := o.MirrorTTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	f.Mirrors = &Mirrors{dir: dir, ttl: ttl, base: f.url}
	return f, nil
}

func defaultMirrorDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d + "/opsmcp/gitea-mirrors"
	}
	return os.TempDir() + "/opsmcp-gitea-mirrors"
}

// Version is Gitea's version.
func (f *Forge) Version() string { return f.version }

// URL is Gitea's base URL.
func (f *Forge) URL() string { return f.url }

// Client returns an API client for one call: with the caller's own token
// when given (HTTP mode), else the server's.
func (f *Forge) Client(ctx context.Context, callerToken string) (*gitea.Client, error) {
	tok := f.token
	if callerToken != "" {
		tok = callerToken
	}
	return gitea.NewClient(f.url, gitea.SetHTTPClient(f.http), gitea.SetToken(tok), gitea.SetContext(ctx), gitea.SetGiteaVersion(f.version))
}

// Token is the token a call uses for git fetches.
func (f *Forge) Token(callerToken string) string {
	if callerToken != "" {
		return callerToken
	}
	return f.token
}

// Allowed reports whether owner/name is in the allowlist (an empty
// allowlist allows what the identity can see).
func (f *Forge) Allowed(fullName string) bool {
	if len(f.allow) == 0 {
		return true
	}
	for _, p := range f.allow {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(fullName)); ok {
			return true
		}
	}
	return false
}

// Allowlist is the configured allowlist.
func (f *Forge) Allowlist() []string { return append([]string(nil), f.allow...) }
