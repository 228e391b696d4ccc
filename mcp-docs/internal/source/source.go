// Package source reads the documents of a configured source: a local
// folder, or a git repository at a branch or tag (a read-only, fetch-only
// bare mirror kept on disk with go-git). Every file comes with the
// source's version: the commit for git, the modification time and content
// hash for a folder.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"sigs.k8s.io/yaml"
)

// Source is one entry of the sources file.
type Source struct {
	Name string `json:"name"`
	// Path is a local folder; Git a repository URL (with Ref). One of them.
	Path string `json:"path,omitempty"`
	Git  string `json:"git,omitempty"`
	// Ref is a branch or tag (default: the remote's HEAD branch, main).
	Ref string `json:"ref,omitempty"`
	// TokenFile holds a token for HTTP(S) git (Gitea: a read-only token).
	TokenFile string `json:"token_file,omitempty"`
	// Include and Exclude are globs on the path inside the source (** for
	// any folders); with no Include, every file whose kind is known.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// MaxFileBytes skips larger files (default 20 MiB).
	MaxFileBytes int64 `json:"max_file_bytes,omitempty"`
}

// Kind is "git" or "folder".
func (s Source) Kind() string {
	if s.Git != "" {
		return "git"
	}
	return "folder"
}

// Config is the sources file.
type Config struct {
	Sources []Source `json:"sources"`
}

// Load reads and checks a sources file.
func Load(file string) (*Config, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read sources file: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		return nil, fmt.Errorf("sources file %s: %w", file, err)
	}
	if len(c.Sources) == 0 {
		return nil, fmt.Errorf("sources file %s: no sources; add a 'sources:' list of {name, path} or {name, git, ref}", file)
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		switch {
		case s.Name == "":
			return nil, fmt.Errorf("sources file %s: source %d has no name", file, i+1)
		case seen[s.Name]:
			return nil, fmt.Errorf("sources file %s: two sources named %q", file, s.Name)
		case (s.Path == "") == (s.Git == ""):
			return nil, fmt.Errorf("sources file %s: source %q needs exactly one of path (a folder) or git (a repository URL)", file, s.Name)
		}
		for _, g := range append(append([]string(nil), s.Include...), s.Exclude...) {
			if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
				return nil, fmt.Errorf("sources file %s: source %q: bad glob %q: %v", file, s.Name, g, err)
			}
		}
		seen[s.Name] = true
	}
	return &c, nil
}

// Find returns the source named name.
func (c *Config) Find(name string) (Source, bool) {
	for _, s := range c.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// File is one file of a source.
type File struct {
	Path    string // slash-separated, inside the source
	Data    []byte
	Hash    string // sha256 of Data
	Version string // the file's version as cited
	ModTime time.Time
}

// Snapshot is a source as read: its version and files.
type Snapshot struct {
	Version string
	Files   []File
	// Skipped counts files left out for their size.
	Skipped int
}

// Reader reads sources; git mirrors live under CacheDir.
type Reader struct {
	CacheDir string
}

// Read returns the source's current files.
func (r *Reader) Read(ctx context.Context, s Source) (*Snapshot, error) {
	if s.Git != "" {
		return r.readGit(ctx, s)
	}
	return readFolder(ctx, s)
}

func (s Source) maxBytes() int64 {
	if s.MaxFileBytes > 0 {
		return s.MaxFileBytes
	}
	return 20 << 20
}

// Wanted applies Include and Exclude to p.
func (s Source) Wanted(p string) bool {
	for _, g := range s.Exclude {
		if globMatch(g, p) {
			return false
		}
	}
	if len(s.Include) == 0 {
		return true
	}
	for _, g := range s.Include {
		if globMatch(g, p) {
			return true
		}
	}
	return false
}

// globMatch matches p against g, where ** spans folders and a glob
// without "/" also matches the base name.
func globMatch(g, p string) bool {
	if !strings.Contains(g, "/") {
		if ok, _ := path.Match(g, path.Base(p)); ok {
			return true
		}
	}
	if strings.Contains(g, "**") {
		prefix, rest, _ := strings.Cut(g, "**")
		if !strings.HasPrefix(p, prefix) {
			return false
		}
		rest = strings.TrimPrefix(rest, "/")
		tail := strings.TrimPrefix(p, prefix)
		for {
			if ok := globMatch(rest, tail); ok || rest == "" {
				return ok || rest == ""
			}
			i := strings.IndexByte(tail, '/')
			if i < 0 {
				return false
			}
			tail = tail[i+1:]
		}
	}
	ok, _ := path.Match(g, p)
	return ok
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readFolder walks a local folder; symlinks are not followed, so the
// index never reads outside it. A file's version is its modification
// time and content hash; the folder's is the hash of all of them.
func readFolder(ctx context.Context, s Source) (*Snapshot, error) {
	root, err := filepath.Abs(s.Path)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("source %s: %s is not a readable folder", s.Name, s.Path)
	}
	snap := &Snapshot{}
	all := sha256.New()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && strings.HasPrefix(d.Name(), ".") && d.Name() != ".gitea" && d.Name() != ".github" && d.Name() != ".forgejo" && d.Name() != ".woodpecker" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !s.Wanted(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > s.maxBytes() {
			snap.Skipped++
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		h := hashOf(data)
		mt := info.ModTime().UTC().Truncate(time.Second)
		snap.Files = append(snap.Files, File{Path: rel, Data: data, Hash: h, ModTime: mt,
			Version: mt.Format(time.RFC3339) + "/" + h[:12]})
		fmt.Fprintf(all, "%s\x00%s\n", rel, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	snap.Version = "sha256:" + hex.EncodeToString(all.Sum(nil))[:12]
	return snap, nil
}

// readGit fetches the mirror and reads the tree of the ref's commit. Git
// access is fetch-only: nothing is ever pushed.
func (r *Reader) readGit(ctx context.Context, s Source) (*Snapshot, error) {
	if r.CacheDir == "" {
		return nil, errors.New("git sources need a cache directory for their mirrors (--cache-dir)")
	}
	var auth *githttp.BasicAuth
	if s.TokenFile != "" {
		tok, err := os.ReadFile(s.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("source %s: read token file: %w", s.Name, err)
		}
		auth = &githttp.BasicAuth{Username: "opsmcp", Password: strings.TrimSpace(string(tok))}
	}
	dir := filepath.Join(r.CacheDir, "git", safeName(s.Name)+".git")
	repo, err := git.PlainOpen(dir)
	if err != nil {
		os.RemoveAll(dir)
		repo, err = git.PlainCloneContext(ctx, dir, true, &git.CloneOptions{URL: s.Git, Auth: authOrNil(auth), Mirror: true})
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("source %s: clone %s: %w", s.Name, redact(s.Git), err)
		}
	} else {
		err := repo.FetchContext(ctx, &git.FetchOptions{
			RefSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"},
			Auth:     authOrNil(auth), Force: true, Prune: true,
		})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil, fmt.Errorf("source %s: fetch %s: %w", s.Name, redact(s.Git), err)
		}
	}
	commit, err := resolve(repo, s.Ref)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	version := commit.Hash.String()[:12]
	snap := &Snapshot{Version: version}
	files, err := commit.Files()
	if err != nil {
		return nil, fmt.Errorf("source %s: read tree: %w", s.Name, err)
	}
	err = files.ForEach(func(f *object.File) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !f.Mode.IsFile() || !s.Wanted(f.Name) {
			return nil
		}
		if f.Size > s.maxBytes() {
			snap.Skipped++
			return nil
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		snap.Files = append(snap.Files, File{Path: f.Name, Data: data, Hash: hashOf(data), Version: version, ModTime: commit.Committer.When})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	sort.Slice(snap.Files, func(i, j int) bool { return snap.Files[i].Path < snap.Files[j].Path })
	return snap, nil
}

func authOrNil(a *githttp.BasicAuth) githttp.AuthMethod {
	if a == nil {
		return nil
	}
	return a
}

// resolve finds ref as a branch, then a tag; empty is the remote HEAD.
func resolve(repo *git.Repository, ref string) (*object.Commit, error) {
	var names []plumbing.ReferenceName
	if ref == "" {
		names = []plumbing.ReferenceName{plumbing.HEAD, "refs/heads/main", "refs/heads/master"}
	} else {
		names = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
	}
	for _, n := range names {
		r, err := repo.Reference(n, true)
		if err != nil {
			continue
		}
		h := r.Hash()
		if tag, err := repo.TagObject(h); err == nil { // annotated tag
			c, err := tag.Commit()
			if err != nil {
				return nil, fmt.Errorf("tag %s: %w", ref, err)
			}
			return c, nil
		}
		return repo.CommitObject(h)
	}
	return nil, fmt.Errorf("ref %q is neither a branch nor a tag of the repository", ref)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// redact drops credentials from a URL before it is logged or returned.
func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if at := strings.LastIndex(u[i+3:], "@"); at >= 0 {
			return u[:i+3] + "***@" + u[i+3+at+1:]
		}
	}
	return u
}
