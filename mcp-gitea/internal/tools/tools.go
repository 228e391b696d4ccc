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
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-git/v5"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/forge"
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
func (s *Server) callerToken(c *tool.Call) string {
	if !s.CallerTokens || c.Header == nil {
		return ""
	}
	return strings.TrimSpace(c.Header.Get(TokenHeader))
}

// repoRef is an allowed repository for one call.
type repoRef struct {
	Owner, Name string
	Full        string
}

// target checks a repository argument against the allowlist and the
// caller's policy (scope "repos"); with the caller's own token it also
// asks Gitea whether that token can read the repository, because mirrors
// are shared.
func (s *Server) target(ctx context.Context, c *tool.Call, full string) (repoRef, error) {
	owner, name, ok := strings.Cut(strings.TrimSuffix(full, ".git"), "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return repoRef{}, tool.Argf("repo %q: use owner/name, e.g. ops/infra (see gitea_repos)", full)
	}
	r := repoRef{Owner: owner, Name: name, Full: owner + "/" + name}
	if !s.Forge.Allowed(r.Full) {
		return repoRef{}, tool.Argf("repo %s is %v (%s); see gitea_repos", r.Full, forge.ErrNotAllowed, strings.Join(s.Forge.Allowlist(), ", "))
	}
	if !c.Allows("repos", r.Full) {
		return repoRef{}, tool.Deniedf("your role may not read %s", r.Full)
	}
	if tok := s.callerToken(c); tok != "" {
		cl, err := s.Forge.Client(ctx, tok)
		if err != nil {
			return repoRef{}, err
		}
		if _, _, err := cl.GetRepo(owner, name); err != nil {
			return repoRef{}, apiErr(fmt.Sprintf("repo %s", r.Full), err)
		}
	}
	return r, nil
}

func (s *Server) client(ctx context.Context, c *tool.Call) (*gitea.Client, error) {
	return s.Forge.Client(ctx, s.callerToken(c))
}

// mirror opens the repository's mirror for this call.
func (s *Server) mirror(ctx context.Context, c *tool.Call, r repoRef) (*git.Repository, error) {
	repo, _, err := s.Forge.Mirrors.Open(ctx, r.Full, s.Forge.Token(s.callerToken(c)))
	return repo, err
}

// apiErr turns a Gitea error into a message that says what to fix.
func apiErr(what string, err error) error {
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
