package tools

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/forge"
	"github.com/opsmcp/opsmcp/mcp-gitea/internal/names"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// DiffInput are gitea_diff's arguments.
type DiffInput struct {
	Repo   string `json:"repo" jsonschema:"owner/name"`
	Commit string `json:"commit,omitempty" jsonschema:"one commit: its changes against its parent"`
	Pull   int64  `json:"pull,omitempty" jsonschema:"a pull request number"`
	Base   string `json:"base,omitempty" jsonschema:"with head: compare base...head (from their merge base)"`
	Head   string `json:"head,omitempty" jsonschema:"with base"`
	Detail string `json:"detail,omitempty" jsonschema:"patch (default: each file's unified diff) or files (paths with +/- counts)"`
	Path   string `json:"path,omitempty" jsonschema:"only files whose path or base name matches this glob"`
}

// DiffFile is one file of a diff.
type DiffFile struct {
	Path      string `json:"path"`
	OldPath   string `json:"old_path,omitempty"`
	Status    string `json:"status" jsonschema:"added, deleted, modified, renamed, binary, or too large (over 1 MiB a side, or past 16 MiB in all: no patch; read it with gitea_file)"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
	Patch     string `json:"patch,omitempty"`
}

// DiffOutput is gitea_diff's structured result.
type DiffOutput struct {
	Repo      string     `json:"repo"`
	What      string     `json:"what" jsonschema:"what was compared"`
	Files     int        `json:"files"`
	Additions int        `json:"additions"`
	Deletions int        `json:"deletions"`
	Items     []DiffFile `json:"items"`
}

func (s *Server) diff(ctx context.Context, c *tool.Call, in DiffInput) (*tool.Result, error) {
	if in.Commit != "" {
		if err := names.SHA(in.Commit); err != nil {
			return nil, tool.Argf("commit %q: %v", in.Commit, err)
		}
	}
	if err := checkNumber("pull", in.Pull); err != nil {
		return nil, err
	}
	if err := checkRef("base", in.Base); err != nil {
		return nil, err
	}
	if err := checkRef("head", in.Head); err != nil {
		return nil, err
	}
	set := 0
	for _, ok := range []bool{in.Commit != "", in.Pull > 0, in.Base != "" || in.Head != ""} {
		if ok {
			set++
		}
	}
	if set != 1 || (in.Base != "") != (in.Head != "") {
		return nil, tool.Argf("give exactly one of: commit, pull, or base and head")
	}
	switch in.Detail {
	case "", "patch", "files":
	default:
		return nil, tool.Argf("detail %q: use patch or files", in.Detail)
	}
	if in.Path != "" {
		if _, err := path.Match(in.Path, ""); err != nil {
			return nil, tool.Argf("path glob %q: %v", in.Path, err)
		}
	}
	r, err := s.target(ctx, c, in.Repo)
	if err != nil {
		return nil, err
	}
	// Every patch is made from the mirror, from masked file contents
	// (maskedPatch): Gitea's own patches are text already cut into hunks.
	repo, h, err := s.mirror(ctx, c, r)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	var from, to *object.Commit
	var what string
	switch {
	case in.Commit != "":
		if to, err = s.commit(ctx, h, repo, in.Commit); err != nil {
			return nil, tool.Argf("commit: %v", err)
		}
		if to.NumParents() > 0 {
			// Against the first parent, as Gitea shows a merge.
			if from, err = to.Parent(0); err != nil {
				return nil, fmt.Errorf("parent of %s: %w", to.Hash, err)
			}
		}
		what = "commit " + in.Commit
	case in.Pull > 0:
		if from, to, err = s.pullRange(ctx, c, h, r, repo, in.Pull); err != nil {
			return nil, err
		}
		what = fmt.Sprintf("pull request #%d", in.Pull)
	default:
		if from, to, err = s.mergeBase(ctx, h, repo, in.Base, in.Head); err != nil {
			return nil, err
		}
		what = in.Base + "..." + in.Head
	}
	raw, skipped, err := maskedPatch(ctx, c, repo, from, to)
	if err != nil {
		return nil, fmt.Errorf("diff %s of %s: %w", what, r.Full, err)
	}
	out := DiffOutput{Repo: r.Full, What: what, Items: []DiffFile{}}
	// Files too large for a patch are listed after the others, with no
	// patch and no counts.
	for _, f := range append(ParseDiff(raw), skipped...) {
		if in.Path != "" {
			ok1, _ := path.Match(in.Path, f.Path)
			ok2, _ := path.Match(in.Path, path.Base(f.Path))
			if !ok1 && !ok2 {
				continue
			}
		}
		out.Files++
		out.Additions += f.Additions
		out.Deletions += f.Deletions
		if in.Detail == "files" {
			f.Patch = ""
		} else {
			// Masked again whole per file (idempotent): a second net for
			// what the per-file contents did not show as a secret.
			f.Patch = c.Mask(f.Patch)
		}
		out.Items = append(out.Items, f)
	}
	return &tool.Result{Data: out, Render: renderDiff}, nil
}

// commit resolves ref in the mirror, fetching once more when it is not
// there yet (newer than the mirror's last fetch).
func (s *Server) commit(ctx context.Context, h *forge.Handle, repo *git.Repository, ref string) (*object.Commit, error) {
	cm, err := forge.Commit(repo, ref)
	if err == nil {
		return cm, nil
	}
	if ferr := h.Refresh(ctx); ferr != nil {
		return nil, fmt.Errorf("%v (and Gitea (git fetch): %v)", err, ferr)
	}
	return forge.Commit(repo, ref)
}

// mergeBase resolves base and head and their merge base (git diff
// base...head).
func (s *Server) mergeBase(ctx context.Context, h *forge.Handle, repo *git.Repository, base, head string) (*object.Commit, *object.Commit, error) {
	b, err := s.commit(ctx, h, repo, base)
	if err != nil {
		return nil, nil, tool.Argf("base: %v", err)
	}
	hd, err := s.commit(ctx, h, repo, head)
	if err != nil {
		return nil, nil, tool.Argf("head: %v", err)
	}
	bases, err := b.MergeBase(hd)
	if err != nil || len(bases) == 0 {
		return nil, nil, tool.Argf("%s and %s have no common history", base, head)
	}
	return bases[0], hd, nil
}

// pullRange is what a pull request changes: from its merge base to its
// head (refs/pull/N/head, which Gitea keeps and the mirror fetches).
func (s *Server) pullRange(ctx context.Context, c *tool.Call, h *forge.Handle, r repoRef, repo *git.Repository, number int64) (*object.Commit, *object.Commit, error) {
	cl, err := s.client(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	p, _, err := cl.GetPullRequest(r.Owner, r.Name, number)
	if err != nil {
		return nil, nil, apiErr(fmt.Sprintf("pull request #%d in %s", number, r.Full), err)
	}
	head, err := s.commit(ctx, h, repo, fmt.Sprintf("refs/pull/%d/head", number))
	if err != nil {
		return nil, nil, fmt.Errorf("pull request #%d in %s: its head is not in the mirror: %w", number, r.Full, err)
	}
	// Gitea records the merge base (it stays right after a merge); else
	// compute it against the base branch. Both are upstream text: checked.
	if names.SHA(p.MergeBase) == nil {
		if mb, err := forge.Commit(repo, p.MergeBase); err == nil {
			return mb, head, nil
		}
	}
	if p.Base == nil || names.Ref(p.Base.Ref) != nil {
		return nil, nil, fmt.Errorf("pull request #%d in %s: Gitea gave no usable base branch", number, r.Full)
	}
	base, err := s.commit(ctx, h, repo, p.Base.Ref)
	if err != nil {
		return nil, nil, fmt.Errorf("pull request #%d in %s: base %s: %w", number, r.Full, p.Base.Ref, err)
	}
	bases, err := base.MergeBase(head)
	if err != nil || len(bases) == 0 {
		return nil, nil, fmt.Errorf("pull request #%d in %s: no common history with %s", number, r.Full, p.Base.Ref)
	}
	return bases[0], head, nil
}

// renderDiff writes patches as raw unified diff text (or the file list
// when there are none), never escaped.
func renderDiff(d map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v files, +%v -%v\n", tool.Str(d["what"]), d["files"], d["additions"], d["deletions"])
	items, _ := d["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		if p := tool.Str(m["patch"]); p != "" {
			b.WriteString(p)
			if !strings.HasSuffix(p, "\n") {
				b.WriteByte('\n')
			}
			continue
		}
		name := tool.Str(m["path"])
		if old := tool.Str(m["old_path"]); old != "" && old != name {
			name = old + " => " + name
		}
		fmt.Fprintf(&b, "%-9s +%-5v -%-5v %s\n", tool.Str(m["status"]), m["additions"], m["deletions"], name)
	}
	return b.String()
}

// ParseDiff splits a unified git diff into files with their status and
// line counts.
func ParseDiff(raw string) []DiffFile {
	var out []DiffFile
	var cur *DiffFile
	var patch strings.Builder
	flush := func() {
		if cur != nil {
			cur.Patch = patch.String()
			out = append(out, *cur)
		}
		patch.Reset()
	}
	inHunk := false
	for _, line := range strings.SplitAfter(raw, "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "diff --git ") {
			flush()
			cur = &DiffFile{Status: "modified"}
			inHunk = false
			a, bpath := splitGitPaths(strings.TrimSpace(strings.TrimPrefix(line, "diff --git ")))
			cur.Path, cur.OldPath = bpath, a
			patch.WriteString(line)
			continue
		}
		if cur == nil {
			continue
		}
		patch.WriteString(line)
		t := strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(t, "@@"):
			inHunk = true
		case !inHunk && strings.HasPrefix(t, "new file mode"):
			cur.Status = "added"
		case !inHunk && strings.HasPrefix(t, "deleted file mode"):
			cur.Status = "deleted"
		case !inHunk && strings.HasPrefix(t, "rename from "):
			cur.Status, cur.OldPath = "renamed", strings.TrimPrefix(t, "rename from ")
		case !inHunk && strings.HasPrefix(t, "rename to "):
			cur.Path = strings.TrimPrefix(t, "rename to ")
		case !inHunk && strings.HasPrefix(t, "Binary files "):
			cur.Status = "binary"
		case !inHunk && strings.HasPrefix(t, "+++ "):
			if p := strings.TrimPrefix(t, "+++ "); p != "/dev/null" {
				cur.Path = strings.TrimPrefix(p, "b/")
			}
		case !inHunk && strings.HasPrefix(t, "--- "):
		case inHunk && strings.HasPrefix(t, "+"):
			cur.Additions++
		case inHunk && strings.HasPrefix(t, "-"):
			cur.Deletions++
		}
	}
	flush()
	for i := range out {
		if out[i].OldPath == out[i].Path {
			out[i].OldPath = ""
		}
	}
	return out
}

// splitGitPaths splits "a/x b/y" of a diff --git line (paths without
// spaces, or the two halves when they are equal).
func splitGitPaths(s string) (string, string) {
	if i := strings.Index(s, " b/"); i >= 0 && strings.HasPrefix(s, "a/") {
		return s[2:i], s[i+3:]
	}
	return s, s
}
