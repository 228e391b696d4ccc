package tools

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/names"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// maxRepos bounds how many repositories one call lists or searches.
const maxRepos = 500

// ReposInput are gitea_repos' arguments.
type ReposInput struct {
	Query string `json:"query,omitempty" jsonschema:"keyword in the name or description (case-insensitive)"`
}

// RepoInfo is one repository.
type RepoInfo struct {
	Name          string `json:"name" jsonschema:"owner/name"`
	Description   string `json:"description,omitempty"`
	DefaultBranch string `json:"default_branch"`
	Updated       string `json:"updated"`
	Language      string `json:"language,omitempty"`
	Private       bool   `json:"private,omitempty"`
	Archived      bool   `json:"archived,omitempty"`
}

// ReposOutput is gitea_repos' structured result.
type ReposOutput struct {
	Items []RepoInfo `json:"items"`
}

// visible lists the repositories the identity may see, the allowlist
// allows and the caller's policy lets it read, sorted by name. fresh asks
// Gitea even when the server's own token's list is recent (see
// forge.Repos); the callers' own tokens are asked every time.
func (s *Server) visible(ctx context.Context, c *tool.Call, keyword string, fresh bool) ([]*gitea.Repository, error) {
	tok, err := s.callerToken(c)
	if err != nil {
		return nil, err
	}
	repos, err := s.Forge.Repos(ctx, tok, fresh)
	if err != nil {
		return nil, apiErr("search repositories", err)
	}
	var out []*gitea.Repository
	for _, r := range repos {
		if len(out) >= maxRepos {
			break
		}
		// The keyword is matched here on masked names and descriptions,
		// not by Gitea on the clear text (see issues).
		if keyword != "" && !strings.Contains(strings.ToLower(c.Mask(r.FullName+"\n"+r.Description)), strings.ToLower(keyword)) {
			continue
		}
		if s.Forge.Allowed(r.FullName) && c.Allows("repos", r.FullName) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName < out[j].FullName })
	return out, nil
}

func (s *Server) repos(ctx context.Context, c *tool.Call, in ReposInput) (*tool.Result, error) {
	list, err := s.visible(ctx, c, in.Query, true)
	if err != nil {
		return nil, err
	}
	out := ReposOutput{Items: make([]RepoInfo, 0, len(list))}
	for _, r := range list {
		out.Items = append(out.Items, RepoInfo{Name: r.FullName, Description: r.Description, DefaultBranch: r.DefaultBranch,
			Updated: tool.Date(r.Updated), Language: r.Language, Private: r.Private, Archived: r.Archived})
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			return fmt.Sprintf("%s  [%s]  %s  updated %s  %s", tool.Str(m["name"]), tool.Str(m["default_branch"]), tool.Str(m["language"]), tool.Str(m["updated"]), tool.Str(m["description"]))
		})
	}}, nil
}

// TreeInput are gitea_tree's arguments.
type TreeInput struct {
	Repo      string `json:"repo" jsonschema:"owner/name"`
	Ref       string `json:"ref,omitempty" jsonschema:"branch, tag or commit (default: the default branch)"`
	Path      string `json:"path,omitempty" jsonschema:"directory prefix, e.g. k8s/base"`
	Glob      string `json:"glob,omitempty" jsonschema:"keep paths (or base names) matching this glob, e.g. *.yaml"`
	Recursive bool   `json:"recursive,omitempty" jsonschema:"the whole subtree instead of one directory"`
}

// TreeEntry is one file or directory.
type TreeEntry struct {
	Path string `json:"path"`
	Type string `json:"type" jsonschema:"blob (file), tree (directory) or commit (submodule)"`
	Size int64  `json:"size,omitempty"`
}

// TreeOutput is gitea_tree's structured result.
type TreeOutput struct {
	Repo  string      `json:"repo"`
	Ref   string      `json:"ref"`
	Items []TreeEntry `json:"items"`
}

func (s *Server) tree(ctx context.Context, c *tool.Call, in TreeInput) (*tool.Result, error) {
	if in.Glob != "" {
		if _, err := path.Match(in.Glob, ""); err != nil {
			return nil, tool.Argf("glob %q: %v", in.Glob, err)
		}
	}
	if err := checkPath("path", in.Path); err != nil {
		return nil, err
	}
	r, cl, ref, err := s.at(ctx, c, in.Repo, in.Ref)
	if err != nil {
		return nil, err
	}
	// The trees endpoint takes the ref as one path segment, where a "/"
	// of a branch name would be an encoded separator: ask by commit id.
	treeish := ref
	if strings.Contains(ref, "/") {
		list, _, err := cl.ListRepoCommits(r.Owner, r.Name, gitea.ListCommitOptions{ListOptions: gitea.ListOptions{Page: 1, PageSize: 1}, SHA: ref})
		if err != nil {
			return nil, apiErr(fmt.Sprintf("ref %s of %s", ref, r.Full), err)
		}
		if len(list) == 0 || names.SHA(list[0].SHA) != nil {
			return nil, tool.Argf("ref %q: not a branch, tag or commit of %s", ref, r.Full)
		}
		treeish = list[0].SHA
	}
	prefix := strings.TrimSuffix(in.Path, "/")
	out := TreeOutput{Repo: r.Full, Ref: ref, Items: []TreeEntry{}}
	for page := 1; page < 100; page++ {
		t, _, err := cl.GetTrees(r.Owner, r.Name, gitea.ListTreeOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 1000}, Ref: treeish, Recursive: in.Recursive || prefix != ""})
		if err != nil {
			return nil, apiErr(fmt.Sprintf("tree of %s at %s", r.Full, ref), err)
		}
		for _, e := range t.Entries {
			p := e.Path
			if prefix != "" {
				if !strings.HasPrefix(p, prefix+"/") {
					continue
				}
				rest := strings.TrimPrefix(p, prefix+"/")
				if !in.Recursive && strings.Contains(rest, "/") {
					continue
				}
			}
			if in.Glob != "" {
				ok1, _ := path.Match(in.Glob, p)
				ok2, _ := path.Match(in.Glob, path.Base(p))
				if !ok1 && !ok2 {
					continue
				}
			}
			out.Items = append(out.Items, TreeEntry{Path: p, Type: e.Type, Size: e.Size})
		}
		if !t.Truncated || len(t.Entries) == 0 {
			break
		}
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			if m["type"] == "tree" {
				return tool.Str(m["path"]) + "/"
			}
			return fmt.Sprintf("%s  %v", tool.Str(m["path"]), m["size"])
		})
	}}, nil
}

// at resolves the repository (allowlist, policy, caller access), an API
// client for this call and the ref (the default branch when empty).
func (s *Server) at(ctx context.Context, c *tool.Call, repo, ref string) (repoRef, *gitea.Client, string, error) {
	if err := checkRef("ref", ref); err != nil {
		return repoRef{}, nil, "", err
	}
	r, err := s.target(ctx, c, repo)
	if err != nil {
		return r, nil, "", err
	}
	cl, err := s.client(ctx, c)
	if err != nil {
		return r, nil, "", err
	}
	if ref == "" {
		ref = r.DefaultBranch
		// Upstream text that becomes part of a URL: it must be a ref.
		if err := names.Ref(ref); err != nil {
			return r, nil, "", fmt.Errorf("Gitea gave %s a default branch %q that is not a ref: %v", r.Full, ref, err)
		}
	}
	return r, cl, ref, nil
}

// FileInput are gitea_file's arguments.
type FileInput struct {
	Repo      string `json:"repo" jsonschema:"owner/name"`
	Path      string `json:"path" jsonschema:"file path in the repository"`
	Ref       string `json:"ref,omitempty" jsonschema:"branch, tag or commit (default: the default branch)"`
	StartLine int    `json:"start_line,omitempty" jsonschema:"first line (1-based)"`
	EndLine   int    `json:"end_line,omitempty" jsonschema:"last line (inclusive)"`
}

// FileOutput is gitea_file's structured result.
type FileOutput struct {
	Repo        string `json:"repo"`
	Ref         string `json:"ref"`
	Path        string `json:"path"`
	Size        int    `json:"size"`
	Lines       int    `json:"lines,omitempty" jsonschema:"lines in the whole file"`
	StartLine   int    `json:"start_line,omitempty"`
	EndLine     int    `json:"end_line,omitempty"`
	Binary      bool   `json:"binary,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Content     string `json:"content,omitempty"`
}

func (s *Server) file(ctx context.Context, c *tool.Call, in FileInput) (*tool.Result, error) {
	if in.Path == "" {
		return nil, tool.Argf("path is required (see gitea_tree)")
	}
	if err := checkPath("path", in.Path); err != nil {
		return nil, err
	}
	r, cl, ref, err := s.at(ctx, c, in.Repo, in.Ref)
	if err != nil {
		return nil, err
	}
	// A file's text is masked whole, cut into lines and shaped twice:
	// read at FileCost bytes of the memory for answers a byte.
	memory.HoldFrom(ctx).SetCost(FileCost)
	rd, _, err := cl.GetFileReader(r.Owner, r.Name, ref, in.Path)
	if err != nil {
		return nil, apiErr(fmt.Sprintf("%s at %s in %s", in.Path, ref, r.Full), err)
	}
	// Read at most maxFile (+1 to know it is more): a huge file must not
	// take the server's memory.
	raw, err := io.ReadAll(io.LimitReader(rd, maxFile+1))
	rd.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s in %s from Gitea: %w", in.Path, ref, r.Full, err)
	}
	if len(raw) > maxFile {
		return nil, tool.Argf("%s at %s is over %d MiB, more than this server reads; see gitea_search for what it holds", in.Path, ref, maxFile>>20)
	}
	out := FileOutput{Repo: r.Full, Ref: ref, Path: in.Path, Size: len(raw)}
	if isBinary(raw) {
		out.Binary = true
		out.ContentType = http.DetectContentType(raw)
		return &tool.Result{Data: out, Text: fmt.Sprintf("%s at %s: binary file, %d bytes, %s; not shown", in.Path, ref, len(raw), out.ContentType)}, nil
	}
	// Masked whole before it is cut into lines, so a line range never
	// shows the inside of a multi-line secret.
	lines := maskedLines(c, string(raw))
	text := strings.Join(lines, "")
	out.Lines = len(lines)
	if in.StartLine > 0 || in.EndLine > 0 {
		start, end := max(in.StartLine, 1), in.EndLine
		if end <= 0 || end > len(lines) {
			end = len(lines)
		}
		if start > len(lines) || start > end {
			return nil, tool.Argf("lines %d-%d: the file has %d lines", in.StartLine, in.EndLine, len(lines))
		}
		text = strings.Join(lines[start-1:end], "")
		out.StartLine, out.EndLine = start, end
	}
	out.Content = text
	return &tool.Result{Data: out, Render: func(d map[string]any) string { return tool.Str(d["content"]) }}, nil
}

// maxFile is the largest file gitea_file and gitea_blame read.
const maxFile = 16 << 20

// The memory, in bytes, one byte Gitea sends takes while a call holds it
// (shared/memory). FileCost: a 6 MiB token-dense file read by gitea_file
// peaked at 221 MiB, eight at once at 848 MiB, under a 512 MiB limit (red
// team). MemoryCost is the server's default, for API answers.
const (
	FileCost   = 32
	MemoryCost = 8
)

// isBinary: a NUL byte in the first 8000 bytes, as git decides.
func isBinary(b []byte) bool {
	n := min(len(b), 8000)
	for _, c := range b[:n] {
		if c == 0 {
			return true
		}
	}
	return false
}

// CommitsInput are gitea_commits' arguments.
type CommitsInput struct {
	Repo   string `json:"repo" jsonschema:"owner/name"`
	Ref    string `json:"ref,omitempty" jsonschema:"branch, tag or commit to start from (default: the default branch)"`
	Path   string `json:"path,omitempty" jsonschema:"only commits touching this file or directory"`
	Author string `json:"author,omitempty" jsonschema:"only commits whose author name or email contains this"`
	Since  string `json:"since,omitempty" jsonschema:"only commits at or after this date (2026-03-01 or RFC 3339)"`
	Until  string `json:"until,omitempty" jsonschema:"only commits before this date"`
	Limit  int    `json:"limit,omitempty" jsonschema:"most commits (default 30, at most 500)"`
}

// CommitInfo is one commit.
type CommitInfo struct {
	SHA     string `json:"sha"`
	Author  string `json:"author"`
	Email   string `json:"email,omitempty"`
	Date    string `json:"date"`
	Summary string `json:"summary"`
}

// CommitsOutput is gitea_commits' structured result.
type CommitsOutput struct {
	Repo  string       `json:"repo"`
	Ref   string       `json:"ref"`
	Items []CommitInfo `json:"items"`
}

func (s *Server) commits(ctx context.Context, c *tool.Call, in CommitsInput) (*tool.Result, error) {
	var since, until time.Time
	var err error
	if in.Since != "" {
		if since, err = parseTime(in.Since); err != nil {
			return nil, tool.Argf("since: %v", err)
		}
	}
	if in.Until != "" {
		if until, err = parseTime(in.Until); err != nil {
			return nil, tool.Argf("until: %v", err)
		}
	}
	n := limit(in.Limit, 30, 500)
	if err := checkPath("path", in.Path); err != nil {
		return nil, err
	}
	r, cl, ref, err := s.at(ctx, c, in.Repo, in.Ref)
	if err != nil {
		return nil, err
	}
	out := CommitsOutput{Repo: r.Full, Ref: ref, Items: []CommitInfo{}}
	author := strings.ToLower(in.Author)
	// History is walked newest first; a page older than since ends it.
	for page := 1; len(out.Items) < n && page <= 50; page++ {
		list, _, err := cl.ListRepoCommits(r.Owner, r.Name, gitea.ListCommitOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 50}, SHA: ref, Path: in.Path})
		if err != nil {
			return nil, apiErr(fmt.Sprintf("commits of %s at %s", r.Full, ref), err)
		}
		old := 0
		for _, cm := range list {
			if cm.RepoCommit == nil || cm.RepoCommit.Author == nil {
				continue
			}
			a := cm.RepoCommit.Author
			t, _ := time.Parse(time.RFC3339, a.Date)
			if !since.IsZero() && t.Before(since) {
				old++
				continue
			}
			if !until.IsZero() && !t.Before(until) {
				continue
			}
			if author != "" && !strings.Contains(strings.ToLower(a.Name+" "+a.Email), author) {
				continue
			}
			out.Items = append(out.Items, CommitInfo{SHA: cm.SHA, Author: a.Name, Email: a.Email, Date: tool.Date(t), Summary: firstLine(c, cm.RepoCommit.Message)})
			if len(out.Items) >= n {
				break
			}
		}
		if len(list) < 50 || old == len(list) {
			break
		}
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			sha := tool.Str(m["sha"])
			return fmt.Sprintf("%.10s %s %s  %s", sha, tool.Str(m["date"]), tool.Str(m["author"]), tool.Str(m["summary"]))
		})
	}}, nil
}

// RefsInput are gitea_refs' arguments.
type RefsInput struct {
	Repo string `json:"repo" jsonschema:"owner/name"`
	Kind string `json:"kind,omitempty" jsonschema:"branches, tags, releases, or all (default)"`
}

// RefInfo is one branch, tag or release.
type RefInfo struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Title   string `json:"title,omitempty" jsonschema:"commit summary, tag message or release title"`
	Default bool   `json:"default,omitempty"`
}

// RefsOutput is gitea_refs' structured result.
type RefsOutput struct {
	Repo  string    `json:"repo"`
	Items []RefInfo `json:"items"`
}

func (s *Server) refs(ctx context.Context, c *tool.Call, in RefsInput) (*tool.Result, error) {
	r, err := s.target(ctx, c, in.Repo)
	if err != nil {
		return nil, err
	}
	kind := in.Kind
	switch kind {
	case "":
		kind = "all"
	case "all", "branches", "tags", "releases":
	default:
		return nil, tool.Argf("kind %q: use branches, tags, releases or all", in.Kind)
	}
	cl, err := s.client(ctx, c)
	if err != nil {
		return nil, err
	}
	out := RefsOutput{Repo: r.Full, Items: []RefInfo{}}
	if kind == "all" || kind == "branches" {
		bs, _, err := cl.ListRepoBranches(r.Owner, r.Name, gitea.ListRepoBranchesOptions{ListOptions: gitea.ListOptions{PageSize: 100}})
		if err != nil {
			return nil, apiErr("branches of "+r.Full, err)
		}
		for _, b := range bs {
			ri := RefInfo{Kind: "branch", Name: b.Name, Default: b.Name == r.DefaultBranch}
			if b.Commit != nil {
				ri.Commit, ri.Date = b.Commit.ID, tool.Date(b.Commit.Timestamp)
				ri.Title = firstLine(c, b.Commit.Message)
			}
			out.Items = append(out.Items, ri)
		}
	}
	if kind == "all" || kind == "tags" {
		ts, _, err := cl.ListRepoTags(r.Owner, r.Name, gitea.ListRepoTagsOptions{ListOptions: gitea.ListOptions{PageSize: 100}})
		if err != nil {
			return nil, apiErr("tags of "+r.Full, err)
		}
		for _, t := range ts {
			ri := RefInfo{Kind: "tag", Name: t.Name}
			if t.Commit != nil {
				ri.Commit = t.Commit.SHA
			}
			ri.Title = firstLine(c, strings.TrimSpace(t.Message))
			out.Items = append(out.Items, ri)
		}
	}
	if kind == "all" || kind == "releases" {
		rs, _, err := cl.ListReleases(r.Owner, r.Name, gitea.ListReleasesOptions{ListOptions: gitea.ListOptions{PageSize: 50}})
		if err != nil {
			return nil, apiErr("releases of "+r.Full, err)
		}
		for _, rl := range rs {
			out.Items = append(out.Items, RefInfo{Kind: "release", Name: rl.TagName, Date: tool.Date(rl.PublishedAt), Title: rl.Title})
		}
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			def := ""
			if m["default"] == true {
				def = " (default)"
			}
			return fmt.Sprintf("%-8s %s%s  %.10s %s  %s", tool.Str(m["kind"]), tool.Str(m["name"]), def, tool.Str(m["commit"]), tool.Str(m["date"]), tool.Str(m["title"]))
		})
	}}, nil
}
