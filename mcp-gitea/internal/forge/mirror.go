package forge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/names"
)

// Mirrors are bare copies of repositories, cached on disk: cloned on first
// use, fetched again when older than the TTL. This package only ever
// clones and fetches; it has no push.
//
// A mirror's identity is the repository as Gitea names it (the API's
// full_name and id, never the caller's spelling) together with the
// normalised Gitea URL, and its directory is a hash of that identity: the
// letter-case variants of a name share one mirror, names that differ only
// in separators cannot share a directory, and a changed --gitea-url or a
// repository deleted and made again under the same name gets a new one.
// The mirrors' total size is bounded: past the budget the least recently
// used ones are removed.
type Mirrors struct {
	dir      string
	ttl      time.Duration
	base     string // the Gitea URL clones and fetches go to
	identity string // base, normalised, for mirror identities
	maxBytes int64  // 0: no budget
	log      *slog.Logger

	mu    sync.Mutex
	repos map[string]*mirror // by directory name
}

type mirror struct {
	mu sync.Mutex // held while deciding to clone or fetch, and doing it
	// use is held shared by every call reading the repository and
	// exclusively by a clone or fetch: refs rewritten under a reader
	// would make branches vanish for it mid-call.
	use     sync.RWMutex
	repo    *git.Repository
	fetched time.Time

	// Guarded by Mirrors.mu.
	refs     int // calls using the mirror now: never evicted then
	lastUsed time.Time
	size     int64
}

// Identity names one repository of one Gitea for its mirror.
type Identity struct {
	// FullName is Gitea's full_name for the repository (owner/name as
	// Gitea spells it), not the caller's spelling.
	FullName string
	// ID is Gitea's repository id: a repository deleted and made again
	// under the same name is another repository.
	ID int64
}

// Stats says what Open did, for benchmarks and logs.
type Stats struct {
	Cloned, Fetched bool
	Evicted         int
}

// MirrorOptions configure the mirror cache.
type MirrorOptions struct {
	Dir      string
	TTL      time.Duration
	MaxBytes int64 // total size budget; 0 for none
	Log      *slog.Logger
}

// NewMirrors returns the mirror cache of the Gitea at base. Directories a
// previous run left in opts.Dir count toward the budget (and are evicted
// first, by their modification time).
func NewMirrors(base string, opts MirrorOptions) (*Mirrors, error) {
	installGitTransport()
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("mirror dir %s: %w", opts.Dir, err)
	}
	ttl := opts.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mirrors{dir: opts.Dir, ttl: ttl, base: strings.TrimRight(base, "/"), identity: NormalizeURL(base), maxBytes: opts.MaxBytes, log: log, repos: map[string]*mirror{}}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("mirror dir %s: %w", opts.Dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		m.repos[e.Name()] = &mirror{lastUsed: info.ModTime(), size: dirSize(filepath.Join(opts.Dir, e.Name()))}
	}
	return m, nil
}

// NormalizeURL is a Gitea base URL in one form: scheme and host in lower
// case, default port dropped, no trailing slash, no user info, query or
// fragment.
func NormalizeURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.ToLower(strings.TrimSpace(raw)), "/")
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	port := u.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// DirName is the directory of a mirror: a hash of the Gitea URL and the
// repository's identity, so no two identities share one and no name can
// pick a path.
func (m *Mirrors) DirName(id Identity) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d", m.identity, strings.ToLower(id.FullName), id.ID)
	return hex.EncodeToString(h.Sum(nil)[:16]) + ".git"
}

// Handle is one call's use of a mirror: the mirror is neither evicted
// nor fetched into while a handle is held. Release it when done.
type Handle struct {
	m        *Mirrors
	mr       *mirror
	remote   string
	token    string
	once     sync.Once
	released bool
}

// Release ends the call's use of the mirror.
func (h *Handle) Release() {
	h.once.Do(func() {
		h.released = true
		h.mr.use.RUnlock()
		h.m.mu.Lock()
		h.mr.refs--
		h.m.mu.Unlock()
	})
}

// refreshFloor is how soon after a fetch Refresh fetches again.
const refreshFloor = 5 * time.Second

// Refresh fetches the mirror again now (a commit or branch newer than the
// mirror was asked for), unless it was fetched in the last few seconds: a
// caller asking for refs that do not exist cannot make every call a
// fetch. The handle's repository sees what was fetched.
func (h *Handle) Refresh(ctx context.Context) error {
	if h.released {
		return errors.New("mirror: refresh after release")
	}
	// Step out of the shared use for the fetch's exclusive one, and back.
	h.mr.use.RUnlock()
	defer h.mr.use.RLock()
	h.mr.mu.Lock()
	defer h.mr.mu.Unlock()
	if h.mr.repo == nil || time.Since(h.mr.fetched) < refreshFloor {
		return nil
	}
	h.mr.use.Lock()
	defer h.mr.use.Unlock()
	if _, err := fetch(ctx, h.mr, h.remote, &githttp.BasicAuth{Username: "opsmcp", Password: h.token}); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	return nil
}

// Open returns the mirror of a repository, cloning or refreshing it first
// when needed, with token for authentication, and the call's handle on it.
func (m *Mirrors) Open(ctx context.Context, id Identity, token string) (*git.Repository, *Handle, Stats, error) {
	var st Stats
	// The clone URL is built from Gitea's own name, which is upstream text
	// too: it must be a name Gitea could have made.
	owner, name, err := names.FullName(id.FullName)
	if err != nil || strings.HasSuffix(id.FullName, ".git") {
		return nil, nil, st, fmt.Errorf("mirror: Gitea named the repository %q, which is not an owner/name: %v", id.FullName, err)
	}
	remote := m.base + "/" + owner + "/" + name + ".git"
	key := m.DirName(id)
	dir := filepath.Join(m.dir, key)

	m.mu.Lock()
	mr, ok := m.repos[key]
	if !ok {
		mr = &mirror{}
		m.repos[key] = mr
	}
	mr.refs++
	mr.lastUsed = time.Now()
	m.mu.Unlock()

	repo, changed, err := m.open(ctx, mr, dir, remote, token, &st)
	if err != nil {
		m.mu.Lock()
		mr.refs--
		m.mu.Unlock()
		return nil, nil, st, fmt.Errorf("mirror %s: %w", id.FullName, err)
	}
	mr.use.RLock()
	h := &Handle{m: m, mr: mr, remote: remote, token: token}
	now := time.Now()
	os.Chtimes(dir, now, now) // the LRU order survives a restart
	if changed {
		size := dirSize(dir)
		m.mu.Lock()
		mr.size = size
		st.Evicted = m.evictLocked(key)
		m.mu.Unlock()
	}
	return repo, h, st, nil
}

// open clones, opens or fetches one mirror; changed says its size may
// have changed.
func (m *Mirrors) open(ctx context.Context, mr *mirror, dir, remote, token string, st *Stats) (*git.Repository, bool, error) {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	auth := &githttp.BasicAuth{Username: "opsmcp", Password: token}
	if mr.repo == nil {
		if r, err := git.PlainOpen(dir); err == nil && originIs(r, remote) {
			mr.repo = r
		} else {
			// Absent, broken, or cloned from another URL: start over.
			mr.use.Lock()
			defer mr.use.Unlock()
			os.RemoveAll(dir)
			r, err := git.PlainCloneContext(ctx, dir, true, &git.CloneOptions{URL: remote, Auth: auth, Mirror: true})
			if err != nil {
				os.RemoveAll(dir)
				return nil, false, err
			}
			mr.repo, mr.fetched, st.Cloned = r, time.Now(), true
			return r, true, nil
		}
	}
	if time.Since(mr.fetched) <= m.ttl {
		return mr.repo, false, nil
	}
	mr.use.Lock()
	defer mr.use.Unlock()
	changed, err := fetch(ctx, mr, remote, auth)
	if err != nil {
		return nil, false, err
	}
	st.Fetched = true
	return mr.repo, changed, nil
}

// fetch brings branches, tags and pull request heads up to date; mr.mu
// and mr.use (exclusively) are held.
func fetch(ctx context.Context, mr *mirror, remote string, auth *githttp.BasicAuth) (bool, error) {
	err := mr.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteURL: remote,
		RefSpecs:  []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+refs/pull/*/head:refs/pull/*/head"},
		Auth:      auth, Force: true, Prune: true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return false, fmt.Errorf("refresh: %w", err)
	}
	mr.fetched = time.Now()
	return err == nil, nil
}

// originIs reports whether r was cloned from url.
func originIs(r *git.Repository, url string) bool {
	rem, err := r.Remote("origin")
	if err != nil {
		return false
	}
	urls := rem.Config().URLs
	return len(urls) == 1 && urls[0] == url
}

// evictLocked removes least recently used mirrors not in use, other than
// keep, until the total is within the budget; m.mu is held (so no Open
// of an evicted mirror can start meanwhile). It returns how many went.
func (m *Mirrors) evictLocked(keep string) int {
	if m.maxBytes <= 0 {
		return 0
	}
	var total int64
	keys := make([]string, 0, len(m.repos))
	for k, mr := range m.repos {
		total += mr.size
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m.repos[keys[i]].lastUsed.Before(m.repos[keys[j]].lastUsed) })
	n := 0
	for _, k := range keys {
		if total <= m.maxBytes {
			break
		}
		mr := m.repos[k]
		if k == keep || mr.refs > 0 {
			continue
		}
		if err := os.RemoveAll(filepath.Join(m.dir, k)); err != nil {
			m.log.Warn("evict mirror", "dir", k, "err", err)
			continue
		}
		delete(m.repos, k)
		total -= mr.size
		n++
		m.log.Info("evicted mirror", "dir", k, "bytes", mr.size, "total", total, "budget", m.maxBytes)
	}
	return n
}

// Count is how many mirrors are cached (on disk or being made).
func (m *Mirrors) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.repos)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// Commit resolves ref (branch, tag, full or short commit id, HEAD) in r.
func Commit(r *git.Repository, ref string) (*object.Commit, error) {
	if ref == "" {
		ref = "HEAD"
	}
	h, err := r.ResolveRevision(plumbing.Revision(ref))
	if err != nil {
		// Branch and tag names first, as git would.
		for _, full := range []string{"refs/heads/" + ref, "refs/tags/" + ref} {
			if h2, err2 := r.ResolveRevision(plumbing.Revision(full)); err2 == nil {
				h = h2
				err = nil
				break
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ref %q: not a branch, tag or commit of this repository", ref)
	}
	c, err := r.CommitObject(*h)
	if err != nil {
		// An annotated tag points to a tag object.
		if tag, terr := r.TagObject(*h); terr == nil {
			return tag.Commit()
		}
		return nil, fmt.Errorf("ref %q: %w", ref, err)
	}
	return c, nil
}
