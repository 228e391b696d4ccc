// Package tools declares mcp-gitea's tools: one table, each entry a name,
// a description, schemas derived from its input and output types, and a
// handler that parses input, asks Gitea (or a mirror), shapes output.
package tools

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/forge"
	"github.com/opsmcp/opsmcp/mcp-gitea/internal/names"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// TokenHeader carries a caller's own Gitea token in HTTP mode.
const TokenHeader = "X-Gitea-Token"

// Server holds what the handlers need.
type Server struct {
	Forge *forge.Forge
	// CallerTokens lets HTTP callers send their own Gitea token in
	// X-Gitea-Token, so each reads only what they may.
	CallerTokens bool
	// RequireCallerToken refuses a call that sends no X-Gitea-Token,
	// instead of falling back to the server's own (broader) token.
	RequireCallerToken bool

	maskOnce sync.Once
	masked   *maskCache

	blameOnce sync.Once
	// blameSlot holds the one blame that may run at a time, one left
	// running past its call's deadline included (go-git's blame cannot
	// be stopped).
	blameSlot chan struct{}
}

// maskBlob masks a file's text whole, from the cache when this blob was
// masked before.
func (s *Server) maskBlob(c *tool.Call, id plumbing.Hash, text string) string {
	if m, ok := s.cachedBlob(id); ok && m != binaryBlob {
		return m
	}
	m := c.Mask(text)
	s.masked.put(id, m)
	return m
}

// binaryBlob stands in the mask cache for a blob search skips as binary:
// no masked text is one NUL byte (a text with a NUL in its first 8000
// bytes is binary, and masking adds none).
const binaryBlob = "\x00"

// cachedBlob is what the mask cache holds for blob id: its masked text,
// or binaryBlob.
func (s *Server) cachedBlob(id plumbing.Hash) (string, bool) {
	s.maskOnce.Do(func() { s.masked = newMaskCache(maskCacheBytes) })
	return s.masked.get(id)
}

// Tools is the table of mcp-gitea's tools.
func (s *Server) Tools() []tool.Tool {
	return []tool.Tool{
		tool.New[ReposInput, ReposOutput]("gitea_repos", "List Gitea repositories",
			"Repositories this identity may see and the server allows: name, description, default branch, last update, language. Optional keyword search.",
			s.repos),
		tool.New[TreeInput, TreeOutput]("gitea_tree", "List files of a repository",
			"Directory listing, or the recursive tree, at a ref (branch, tag or commit; default the default branch), under a path prefix, filtered by a glob on the path or base name (e.g. *.tf, k8s/**.yaml is not supported: use k8s/*.yaml or recursive with *.yaml).",
			s.tree),
		tool.New[FileInput, FileOutput]("gitea_file", "Read a file from a repository",
			"A file's content at any ref (branch, tag or commit), optionally a line range; long files are cut with a cursor to continue; binary files are described (size, type), not dumped. Secrets committed in files come back masked.",
			s.file),
		tool.New[CommitsInput, CommitsOutput]("gitea_commits", "List commits",
			"History at a ref, newest first, optionally only commits touching a path, by an author (name or email substring) and within since/until.",
			s.commits),
		tool.New[DiffInput, DiffOutput]("gitea_diff", "Show a diff",
			"The changes of one commit, of a pull request, or between base...head (from their merge base, like git diff base...head). detail=files lists files with +/- counts; detail=patch (default) returns each file's patch as raw unified diff text. Paged per file; path glob filter.",
			s.diff),
		tool.New[BlameInput, BlameOutput]("gitea_blame", "Blame lines of a file",
			"Which commit last changed each line of a file at a ref, as ranges with commit, author, date and summary; optionally only a line range.",
			s.blame),
		tool.New[RefsInput, RefsOutput]("gitea_refs", "List branches, tags and releases",
			"Branches (with their head commit), tags and releases of a repository.",
			s.refs),
		tool.New[PullsInput, PullsOutput]("gitea_pulls", "List or read pull requests",
			"Without number: pull requests by state (open, closed, all). With number: the pull request with its description, reviews (state, reviewer), review comments (file, line) and comments.",
			s.pulls),
		tool.New[IssuesInput, IssuesOutput]("gitea_issues", "List or read issues",
			"Without number: issues by state and label. With number: the issue with its body and comments.",
			s.issues),
		tool.New[SearchInput, SearchOutput]("gitea_search", "Search code",
			"Searches file contents across the allowed repositories (or some of them) at a ref, literal or RE2, served from read-only mirrors (no Gitea indexer needed). Returns repository, path, line number and line.",
			s.search),
		tool.New[IaCInput, IaCOutput]("gitea_iac", "Inventory and review infrastructure code",
			"Finds and summarizes infrastructure code at a ref: Kubernetes manifests (kind, name, namespace, images, resources), Kustomize and Flux objects, Helm charts (version, dependencies, values keys), Terraform (providers, modules, resources), CI pipelines (Gitea/GitHub Actions jobs, steps and actions; Jenkinsfile stages), docker-compose services. Flags problems with file and line: unpinned or :latest images, missing requests/limits, privileged containers, hostPath, plain-text secrets (masked).",
			s.iac),
	}
}

// callerToken is the caller's own Gitea token, when allowed and sent.
// With RequireCallerToken a call that sends none is refused: it would
// otherwise read with the server's broader token.
func (s *Server) callerToken(c *tool.Call) (string, error) {
	if !s.CallerTokens && !s.RequireCallerToken {
		return "", nil
	}
	tok := ""
	if c.Header != nil {
		tok = strings.TrimSpace(c.Header.Get(TokenHeader))
	}
	if tok == "" && s.RequireCallerToken {
		return "", tool.Deniedf("this server reads Gitea only with each caller's own token: send yours in the %s header (a Gitea access token with read:repository and read:issue)", TokenHeader)
	}
	if len(tok) > 4096 || strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return "", tool.Argf("the %s header is not a Gitea access token (printable ASCII, no spaces)", TokenHeader)
	}
	return tok, nil
}

// repoRef is an allowed repository for one call, as Gitea names it.
type repoRef struct {
	Owner, Name   string
	Full          string
	ID            int64
	DefaultBranch string
}

// target checks a repository argument by Gitea's naming rules, against
// the allowlist and the caller's policy (scope "repos"), then asks Gitea
// for the repository (with the caller's own token when given, which also
// checks that this caller may read it, because mirrors are shared) and
// checks Gitea's own name for it again: a case variant, a renamed or a
// transferred repository is judged by the name it really has.
func (s *Server) target(ctx context.Context, c *tool.Call, full string) (repoRef, error) {
	owner, name, err := names.FullName(full)
	if err != nil {
		return repoRef{}, tool.Argf("repo %q: %v", full, err)
	}
	if err := s.allowed(c, owner+"/"+name); err != nil {
		return repoRef{}, err
	}
	tok, err := s.callerToken(c)
	if err != nil {
		return repoRef{}, err
	}
	gr, err := s.Forge.Resolve(ctx, tok, owner, name)
	if err != nil {
		return repoRef{}, apiErr(fmt.Sprintf("repo %s/%s", owner, name), err)
	}
	if err := s.allowed(c, gr.FullName); err != nil {
		return repoRef{}, err
	}
	return repoRef{Owner: gr.Owner, Name: gr.Name, Full: gr.FullName, ID: gr.ID, DefaultBranch: gr.DefaultBranch}, nil
}

// allowed checks a repository name against the allowlist and the policy.
func (s *Server) allowed(c *tool.Call, full string) error {
	if !s.Forge.Allowed(full) {
		return tool.Argf("repo %s is %v (%s); see gitea_repos", full, forge.ErrNotAllowed, strings.Join(s.Forge.Allowlist(), ", "))
	}
	if !c.Allows("repos", full) {
		return tool.Deniedf("your role may not read %s", full)
	}
	return nil
}

func (s *Server) client(ctx context.Context, c *tool.Call) (*gitea.Client, error) {
	tok, err := s.callerToken(c)
	if err != nil {
		return nil, err
	}
	return s.Forge.Client(ctx, tok)
}

// mirror opens the repository's mirror for this call; Release the handle
// when done.
func (s *Server) mirror(ctx context.Context, c *tool.Call, r repoRef) (*git.Repository, *forge.Handle, error) {
	tok, err := s.callerToken(c)
	if err != nil {
		return nil, nil, err
	}
	repo, h, _, err := s.Forge.Mirrors.Open(ctx, forge.Identity{FullName: r.Full, ID: r.ID}, s.Forge.Token(tok))
	if err != nil {
		return nil, nil, fmt.Errorf("Gitea (git fetch): %w", err)
	}
	return repo, h, nil
}

// apiErr turns a Gitea error into a message that says what to fix.
func apiErr(what string, err error) error {
	if tool.IsUpstream(err) {
		// Gitea down, slow or cut: its text (a URL with the caller's
		// names in it) must not be read for a status.
		return fmt.Errorf("%s: %w", what, err)
	}
	var status int
	var ge *gitea.ErrUnknownVersion
	// The SDK reports statuses only in its error text ("404 Not Found",
	// "not found", "403 Forbidden").
	msg := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &ge):
		return fmt.Errorf("%s: %w", what, err)
	case strings.Contains(msg, "404") || strings.Contains(msg, "not found") || strings.Contains(msg, "does not exist"):
		status = http.StatusNotFound
	case strings.Contains(msg, "403") || strings.Contains(msg, "forbidden"):
		status = http.StatusForbidden
	case strings.Contains(msg, "401") || strings.Contains(msg, "unauthorized"):
		status = http.StatusUnauthorized
	}
	switch status {
	case http.StatusNotFound:
		return tool.Argf("%s: not found (or not visible to this identity)", what)
	case http.StatusForbidden, http.StatusUnauthorized:
		return tool.Deniedf("%s: Gitea refused this identity (%v)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkRef checks an optional ref argument (branch, tag, commit, HEAD).
func checkRef(arg, ref string) error {
	if ref == "" {
		return nil
	}
	if err := names.Ref(ref); err != nil {
		return tool.Argf("%s %q: %v", arg, ref, err)
	}
	return nil
}

// checkPath checks an optional path argument.
func checkPath(arg, p string) error {
	if p == "" {
		return nil
	}
	if err := names.Path(p); err != nil {
		return tool.Argf("%s %q: %v", arg, p, err)
	}
	return nil
}

// checkNumber checks an optional pull request or issue number.
func checkNumber(arg string, n int64) error {
	if n == 0 {
		return nil
	}
	if err := names.Number(n); err != nil {
		return tool.Argf("%s: %v", arg, err)
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time; use 2026-03-01 or 2026-03-01T10:00:00Z", s)
}

func limit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	return min(n, max)
}
