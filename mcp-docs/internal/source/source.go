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
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
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
	// Skipped lists the files left out, and why.
	Skipped []Skip
}

// Skip is a file a read left out.
type Skip struct {
	Path   string
	Reason string
}

// Default budgets of a Reader.
const (
	DefaultMaxSourceBytes = 512 << 20
	DefaultMirrorBudget   = 4 << 30
)

// Reader reads sources; git mirrors live under CacheDir.
type Reader struct {
	CacheDir string
	// MaxSourceBytes is the most one source may hold in memory: files
	// past it are skipped (default DefaultMaxSourceBytes).
	MaxSourceBytes int64
	// MirrorBudget is the most the git mirrors may take on disk; past
	// it, mirrors no configured source uses are removed, least recently
	// used first (default DefaultMirrorBudget).
	MirrorBudget int64
	// Keep lists the configured sources, whose mirrors are never evicted.
	Keep []Source
	Log  *slog.Logger
}

func (r *Reader) maxSourceBytes() int64 {
	if r.MaxSourceBytes > 0 {
		return r.MaxSourceBytes
	}
	return DefaultMaxSourceBytes
}

func (r *Reader) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// budget counts a source's bytes against MaxSourceBytes.
type budget struct {
	left, total int64
}

// take reserves n bytes, or says why it cannot.
func (b *budget) take(n int64) string {
	if n > b.left {
		return fmt.Sprintf("the source is past its size budget of %d MiB (--max-source-bytes)", b.total>>20)
	}
	b.left -= n
	return ""
}

// Read returns the source's current files.
func (r *Reader) Read(ctx context.Context, s Source) (*Snapshot, error) {
	if s.Git != "" {
		return r.readGit(ctx, s)
	}
	return r.readFolder(ctx, s)
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

// beforeOpen, when set (tests), runs between a file's lstat and its
// open: where a swap of the file would happen.
var beforeOpen func(rel string)

// readFolder walks a local folder inside an os.Root, so no path, link or
// renamed folder leads out of it. Only regular files with one link are
// read, from the handle whose fstat was checked against the walk's lstat
// (a file swapped for a symlink, FIFO or device in between is refused),
// and at most the size that fstat gave. A file's version is its
// modification time and content hash; the folder's is the hash of all
// of them.
func (r *Reader) readFolder(ctx context.Context, s Source) (*Snapshot, error) {
	abs, err := filepath.Abs(s.Path)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("source %s: %s is not a readable folder: %w", s.Name, s.Path, err)
	}
	defer root.Close()
	snap := &Snapshot{}
	all := sha256.New()
	b := &budget{left: r.maxSourceBytes(), total: r.maxSourceBytes()}
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			if rel == "." {
				return err
			}
			// One unreadable entry (a folder swapped for a link out of the
			// root, say) is skipped, not the whole source.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			snap.Skipped = append(snap.Skipped, Skip{Path: rel, Reason: "could not be read: " + err.Error()})
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if rel != "." && strings.HasPrefix(d.Name(), ".") && d.Name() != ".gitea" && d.Name() != ".github" && d.Name() != ".forgejo" && d.Name() != ".woodpecker" {
				return fs.SkipDir
			}
			return nil
		}
		if !s.Wanted(rel) {
			return nil
		}
		f, why := readChecked(root, rel, s.maxBytes(), b)
		if why != "" {
			snap.Skipped = append(snap.Skipped, Skip{Path: rel, Reason: why})
			return nil
		}
		snap.Files = append(snap.Files, f)
		fmt.Fprintf(all, "%s\x00%s\n", rel, f.Hash)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	snap.Version = "sha256:" + hex.EncodeToString(all.Sum(nil))[:12]
	return snap, nil
}

// readChecked reads one file of a folder, or says why it will not: no
// file's trouble stops the read of the others.
func readChecked(root *os.Root, rel string, maxBytes int64, b *budget) (File, string) {
	lst, err := root.Lstat(rel)
	if err != nil {
		return File{}, "gone while being read"
	}
	switch m := lst.Mode(); {
	case m&fs.ModeSymlink != 0:
		return File{}, "a symlink: not followed"
	case !m.IsRegular():
		return File{}, "not a regular file (" + m.Type().String() + ")"
	case lst.Size() > maxBytes:
		return File{}, fmt.Sprintf("larger than %d bytes (max_file_bytes)", maxBytes)
	}
	if beforeOpen != nil {
		beforeOpen(rel)
	}
	// O_NONBLOCK: a FIFO swapped in opens at once instead of waiting for
	// a writer; O_NOFOLLOW: a symlink swapped in is not opened.
	fh, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is the caller's already
		}
		return File{}, "could not be opened: " + err.Error()
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return File{}, "could not be opened: " + err.Error()
	}
	if !st.Mode().IsRegular() || !os.SameFile(lst, st) {
		return File{}, "changed while being read (swapped for another file)"
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink > 1 {
		// Another name of the same file may be outside the folder: a hard
		// link is how a file from elsewhere gets in.
		return File{}, fmt.Sprintf("has %d hard links: only files with one name are read", sys.Nlink)
	}
	size := st.Size()
	if size > maxBytes {
		return File{}, fmt.Sprintf("larger than %d bytes (max_file_bytes)", maxBytes)
	}
	if why := b.take(size); why != "" {
		return File{}, why
	}
	// At most the size fstat gave: a file still growing is read as it was.
	data, err := io.ReadAll(io.LimitReader(fh, size))
	if err != nil {
		return File{}, "could not be read: " + err.Error()
	}
	h := hashOf(data)
	mt := st.ModTime().UTC().Truncate(time.Second)
	return File{Path: rel, Data: data, Hash: h, ModTime: mt, Version: mt.Format(time.RFC3339) + "/" + h[:12]}, ""
}

// MirrorKey names a source's mirror folder: a hash of the source's name
// and its normalised URL, so two names never share a folder (team/private
// and team_private) and a source re-pointed at another repository gets a
// new mirror instead of fetching the old one.
func MirrorKey(s Source) string {
	h := sha256.Sum256([]byte(s.Name + "\x00" + NormalizeURL(s.Git)))
	return hex.EncodeToString(h[:16])
}

// NormalizeURL is a repository URL without credentials, with scheme and
// host lower-cased and no trailing slash or .git.
func NormalizeURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(raw), "/"), ".git")
	}
	u.User = nil
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	return u.String()
}

func (r *Reader) mirrorDir(s Source) string {
	return filepath.Join(r.CacheDir, "git", MirrorKey(s)+".git")
}

// openMirror opens the source's mirror if it exists and follows exactly
// s.Git (a URL whose credentials changed, or a mirror someone else wrote,
// is cloned afresh: fetching would send the token to the URL it holds).
func openMirror(dir, want string) *git.Repository {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return nil
	}
	rem, err := repo.Remote("origin")
	if err != nil || len(rem.Config().URLs) != 1 || rem.Config().URLs[0] != want {
		return nil
	}
	return repo
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
	dir := r.mirrorDir(s)
	repo := openMirror(dir, s.Git)
	if repo == nil {
		os.RemoveAll(dir)
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return nil, fmt.Errorf("source %s: mirror folder: %w", s.Name, err)
		}
		var err error
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
	now := time.Now()
	os.Chtimes(dir, now, now) // last used, for eviction
	r.evict()
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
	b := &budget{left: r.maxSourceBytes(), total: r.maxSourceBytes()}
	err = files.ForEach(func(f *object.File) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !s.Wanted(f.Name) {
			return nil
		}
		if !f.Mode.IsFile() {
			if f.Mode == filemode.Symlink {
				snap.Skipped = append(snap.Skipped, Skip{Path: f.Name, Reason: "a symlink: not followed"})
			}
			return nil
		}
		if f.Size > s.maxBytes() {
			snap.Skipped = append(snap.Skipped, Skip{Path: f.Name, Reason: fmt.Sprintf("larger than %d bytes (max_file_bytes)", s.maxBytes())})
			return nil
		}
		if why := b.take(f.Size); why != "" {
			snap.Skipped = append(snap.Skipped, Skip{Path: f.Name, Reason: why})
			return nil
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(rd, f.Size))
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

// evict removes mirrors no configured source uses, least recently used
// first, while all mirrors together are over MirrorBudget. A mirror in
// use is never removed; mirrors in use alone over the budget are logged.
func (r *Reader) evict() {
	budgetBytes := r.MirrorBudget
	if budgetBytes <= 0 {
		budgetBytes = DefaultMirrorBudget
	}
	base := filepath.Join(r.CacheDir, "git")
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, s := range r.Keep {
		if s.Git != "" {
			keep[MirrorKey(s)+".git"] = true
		}
	}
	type mirror struct {
		name string
		size int64
		used time.Time
	}
	var unused []mirror
	var total int64
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		size := dirSize(filepath.Join(base, e.Name()))
		total += size
		if !keep[e.Name()] {
			info, err := e.Info()
			if err != nil {
				continue
			}
			unused = append(unused, mirror{e.Name(), size, info.ModTime()})
		}
	}
	sort.Slice(unused, func(i, j int) bool { return unused[i].used.Before(unused[j].used) })
	for _, m := range unused {
		if total <= budgetBytes {
			break
		}
		if err := os.RemoveAll(filepath.Join(base, m.name)); err != nil {
			r.log().Warn("evict git mirror", "mirror", m.name, "err", err)
			continue
		}
		total -= m.size
		r.log().Info("evicted unused git mirror", "mirror", m.name, "bytes", m.size)
	}
	if total > budgetBytes {
		r.log().Warn("git mirrors in use are over the mirror budget", "bytes", total, "budget", budgetBytes)
	}
}

// dirSize is the bytes of the regular files under dir (symlinks not
// followed).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
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

// redact drops credentials from a URL before it is logged or returned.
func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if at := strings.LastIndex(u[i+3:], "@"); at >= 0 {
			return u[:i+3] + "***@" + u[i+3+at+1:]
		}
	}
	return u
}
