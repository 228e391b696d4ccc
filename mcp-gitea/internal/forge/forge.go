// Package forge is mcp-gitea's read-only access to one Gitea: the SDK for
// the REST API over a transport that sends only GET, a repository
// allowlist, and bare git mirrors (fetch only) for what the API cannot
// answer: blame, code search, trees and diffs at any revision.
package forge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/names"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/readonly"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Options configure access to Gitea.
type Options struct {
	URL       string
	Token     string // the server's own token (flag file or GITEA_TOKEN)
	Repos     []string
	MirrorDir string
	MirrorTTL time.Duration
	// MirrorMaxBytes is the mirrors' total size budget (0: none).
	MirrorMaxBytes int64
	Timeout        time.Duration
	Log            *slog.Logger
}

// Forge is one Gitea.
type Forge struct {
	url     string
	token   string
	http    *http.Client
	version string
	allow   []string
	Mirrors *Mirrors

	ttl      time.Duration
	mu       sync.Mutex
	resolved map[string]resolved // by lower-case owner/name, for the server's token
	listing  listing             // the server's token's repository list
}

// listing is a repository list and when Gitea gave it.
type listing struct {
	repos []*gitea.Repository
	at    time.Time
}

// Repo is a repository as Gitea names it.
type Repo struct {
	Owner, Name   string
	FullName      string // Gitea's full_name
	ID            int64
	DefaultBranch string
	Empty         bool
}

// Identity is the repository's mirror identity.
func (r Repo) Identity() Identity { return Identity{FullName: r.FullName, ID: r.ID} }

type resolved struct {
	repo Repo
	at   time.Time
}

// ErrNotAllowed is returned for a repository outside the allowlist.
var ErrNotAllowed = errors.New("not in this server's repository allowlist")

// Upstream is how errors and /readyz name Gitea.
const Upstream = "Gitea"

// New checks the options. It does not reach Gitea: the server starts
// while Gitea is down, and Gitea's version is asked on the first call
// that finds it up (then kept, so later per-call clients need no round
// trip of their own).
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
		allow: o.Repos,
	}
	// What a call reads is held against the memory for answers (the
	// call's memory.Hold, in the context the SDK's requests carry).
	f.http = &http.Client{Transport: readonly.Transport(serverTokenRefused{f: f, next: memory.Counted(tool.UpstreamTransport(Upstream, f.url, http.DefaultTransport))}),
		Timeout: timeout, CheckRedirect: sameOrigin(o.URL)}
	var err error
	dir := o.MirrorDir
	if dir == "" {
		dir = defaultMirrorDir()
	}
	ttl := o.MirrorTTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	f.ttl = ttl
	if f.Mirrors, err = NewMirrors(f.url, MirrorOptions{Dir: dir, TTL: ttl, MaxBytes: o.MirrorMaxBytes, Log: o.Log}); err != nil {
		return nil, fmt.Errorf("--mirror-dir: %w", err)
	}
	return f, nil
}

// Resolve asks Gitea for the repository owner/name: its own full_name
// (Gitea resolves names case-insensitively and follows renames and
// transfers), id and default branch. With the caller's own token it asks
// every time, as a check that this caller may read it; with the server's
// token the answer is kept for the mirror TTL.
func (f *Forge) Resolve(ctx context.Context, callerToken, owner, name string) (Repo, error) {
	key := strings.ToLower(owner + "/" + name)
	if callerToken == "" {
		f.mu.Lock()
		r, ok := f.resolved[key]
		f.mu.Unlock()
		if ok && time.Since(r.at) < f.ttl {
			return r.repo, nil
		}
	}
	cl, err := f.Client(ctx, callerToken)
	if err != nil {
		return Repo{}, err
	}
	gr, _, err := cl.GetRepo(owner, name)
	if err != nil {
		return Repo{}, err
	}
	r, err := repoOf(gr)
	if err != nil {
		return Repo{}, err
	}
	if callerToken == "" {
		f.mu.Lock()
		if f.resolved == nil {
			f.resolved = map[string]resolved{}
		}
		f.resolved[key] = resolved{repo: r, at: time.Now()}
		f.mu.Unlock()
	}
	return r, nil
}

// Repository lists bound what one listing reads: MaxRepoPages pages of
// RepoPageSize.
const (
	RepoPageSize = 50
	MaxRepoPages = 100
)

// Repos lists the repositories the token may see, in Gitea's order, at
// most MaxRepoPages pages. With the caller's own token it asks every
// time: the answer is that caller's permission. With the server's token
// a list younger than the mirror TTL is reused unless fresh is set
// (fresh asks and keeps the answer): the server's view changes only by
// an operator's hand, every caller's allowlist and policy are applied
// to it on every call, and the mirrors it leads to are as old as that
// already. A caller can never reach the cached list by sending a token.
func (f *Forge) Repos(ctx context.Context, callerToken string, fresh bool) ([]*gitea.Repository, error) {
	if callerToken == "" && !fresh {
		f.mu.Lock()
		l := f.listing
		f.mu.Unlock()
		if l.repos != nil && time.Since(l.at) < f.ttl {
			return l.repos, nil
		}
	}
	cl, err := f.Client(ctx, callerToken)
	if err != nil {
		return nil, err
	}
	at := time.Now()
	out := []*gitea.Repository{}
	for page := 1; page <= MaxRepoPages; page++ {
		repos, _, err := cl.SearchRepos(gitea.SearchRepoOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: RepoPageSize}})
		if err != nil {
			return nil, err
		}
		out = append(out, repos...)
		if len(repos) < RepoPageSize {
			break
		}
	}
	if callerToken == "" {
		f.mu.Lock()
		f.listing = listing{repos: out, at: at}
		f.mu.Unlock()
	}
	return out, nil
}

// RepoOf checks what Gitea said about a repository (upstream text: its
// name goes into clone URLs) and keeps what mirrors need.
func RepoOf(gr *gitea.Repository) (Repo, error) { return repoOf(gr) }

func repoOf(gr *gitea.Repository) (Repo, error) {
	if gr == nil {
		return Repo{}, errors.New("Gitea answered no repository")
	}
	owner, name, err := names.FullName(gr.FullName)
	if err != nil || strings.HasSuffix(gr.FullName, ".git") || gr.ID <= 0 {
		return Repo{}, fmt.Errorf("Gitea answered a repository named %q (id %d), which is not an owner/name: %v", gr.FullName, gr.ID, err)
	}
	return Repo{Owner: owner, Name: name, FullName: gr.FullName, ID: gr.ID, DefaultBranch: gr.DefaultBranch, Empty: gr.Empty}, nil
}

// sameOrigin follows a redirect (a renamed repository) only within the
// configured Gitea: an upstream answer must not send this client, or its
// token, anywhere else.
func sameOrigin(base string) func(*http.Request, []*http.Request) error {
	want := ""
	if u, err := url.Parse(base); err == nil {
		want = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("Gitea redirected more than 5 times")
		}
		if got := strings.ToLower(req.URL.Scheme + "://" + req.URL.Host); got != want {
			return fmt.Errorf("Gitea redirected to %s, outside %s: not followed", got, want)
		}
		return nil
	}
}

func defaultMirrorDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d + "/opsmcp/gitea-mirrors"
	}
	return os.TempDir() + "/opsmcp-gitea-mirrors"
}

// serverTokenRefused makes Gitea's 401 or 403 to a request made with the
// server's own token Gitea's failure (a revoked token, a missing scope:
// the operator's to fix), not the caller's. A caller's own token
// refused stays the caller's denial.
type serverTokenRefused struct {
	f    *Forge
	next http.RoundTripper
}

func (t serverTokenRefused) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	if t.f.token == "" || req.Header.Get("Authorization") != "token "+t.f.token {
		return resp, nil
	}
	resp.Body.Close()
	return nil, tool.UpstreamStatus(Upstream, t.f.url, resp.StatusCode,
		fmt.Errorf("Gitea refused the server's own token (--gitea-token-file or GITEA_TOKEN) with %s", resp.Status))
}

// Version is Gitea's version, "" until a call has reached Gitea.
func (f *Forge) Version() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}

// ensureVersion asks Gitea its version once it answers; until then every
// call fails here with Gitea's error, and the first call after Gitea
// comes up learns it.
func (f *Forge) ensureVersion(ctx context.Context) (string, error) {
	if v := f.Version(); v != "" {
		return v, nil
	}
	c, err := gitea.NewClient(f.url, gitea.SetHTTPClient(f.http), gitea.SetToken(f.token), gitea.SetContext(ctx), gitea.SetGiteaVersion(""))
	if err != nil {
		return "", tool.Upstream(Upstream, f.url, err)
	}
	v, resp, err := c.ServerVersion()
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 {
			return "", tool.UpstreamStatus(Upstream, f.url, resp.StatusCode, err)
		}
		return "", tool.Upstream(Upstream, f.url, err)
	}
	f.mu.Lock()
	f.version = v
	f.mu.Unlock()
	return v, nil
}

// URL is Gitea's base URL.
func (f *Forge) URL() string { return f.url }

// Client returns an API client for one call: with the caller's own token
// when given (HTTP mode), else the server's.
func (f *Forge) Client(ctx context.Context, callerToken string) (*gitea.Client, error) {
	tok := f.token
	if callerToken != "" {
		tok = callerToken
	}
	v, err := f.ensureVersion(ctx)
	if err != nil {
		return nil, err
	}
	return gitea.NewClient(f.url, gitea.SetHTTPClient(f.http), gitea.SetToken(tok), gitea.SetContext(ctx), gitea.SetGiteaVersion(v))
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
