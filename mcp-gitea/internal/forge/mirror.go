package forge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Mirrors are bare copies of repositories, one per repository, cached on
// disk: cloned on first use, fetched again when older than the TTL. This
// package only ever clones and fetches; it has no push.
type Mirrors struct {
	dir  string
	ttl  time.Duration
	base string

	mu    sync.Mutex
	repos map[string]*mirror
}

type mirror struct {
	mu      sync.Mutex
	repo    *git.Repository
	fetched time.Time
}

// Stats says what Open did, for benchmarks and logs.
type Stats struct {
	Cloned, Fetched bool
}

// Open returns the mirror of owner/name, cloning or refreshing it first
// when needed, with token for authentication.
func (m *Mirrors) Open(ctx context.Context, fullName, token string) (*git.Repository, Stats, error) {
	var st Stats
	m.mu.Lock()
	if m.repos == nil {
		m.repos = map[string]*mirror{}
	}
	mr, ok := m.repos[fullName]
	if !ok {
		mr = &mirror{}
		m.repos[fullName] = mr
	}
	m.mu.Unlock()

	mr.mu.Lock()
	defer mr.mu.Unlock()
	auth := &githttp.BasicAuth{Username: "opsmcp", Password: token}
	dir := filepath.Join(m.dir, strings.ReplaceAll(fullName, "/", "__")+".git")
	if mr.repo == nil {
		if r, err := git.PlainOpen(dir); err == nil {
			mr.repo = r
		} else {
			os.RemoveAll(dir)
			r, err := git.PlainCloneContext(ctx, dir, true, &git.CloneOptions{URL: m.base + "/" + fullName + ".git", Auth: auth, Mirror: true})
			if err != nil {
				os.RemoveAll(dir)
				return nil, st, fmt.Errorf("mirror %s: %w", fullName, err)
			}
			mr.repo, mr.fetched, st.Cloned = r, time.Now(), true
			return r, st, nil
		}
	}
	if time.Since(mr.fetched) > m.ttl {
		err := mr.repo.FetchContext(ctx, &git.FetchOptions{
			RefSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"},
			Auth:     auth, Force: true, Prune: true,
		})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil, st, fmt.Errorf("refresh mirror %s: %w", fullName, err)
		}
		mr.fetched, st.Fetched = time.Now(), true
	}
	return mr.repo, st, nil
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
