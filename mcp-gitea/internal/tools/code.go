package tools

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/forge"
	"github.com/opsmcp/opsmcp/mcp-gitea/internal/names"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// maxBlameLines bounds the files blamed: go-git's blame diffs each
// version of the file against the next, at a cost that grows with the
// square of the lines when they are all rewritten (60,000 lines: 15 s a
// version), with an hour's timeout and no context.
const maxBlameLines = 10000

// blameWait is how long a blame waits for the one running before it.
const blameWait = 10 * time.Second

// boundedBlame runs go-git's blame, returning at ctx's deadline. It
// cannot be stopped, so one left running holds the server's only blame
// slot until it ends: a history built to be slow costs one core at most,
// never one per call.
func (s *Server) boundedBlame(ctx context.Context, commit *object.Commit, path string) (*git.BlameResult, error) {
	s.blameOnce.Do(func() { s.blameSlot = make(chan struct{}, 1) })
	// An ordinary blame takes moments: wait for the slot a while, and
	// say a busy server as such (the server's state, not the caller's
	// mistake nor Gitea's failure).
	wait := time.NewTimer(blameWait)
	defer wait.Stop()
	select {
	case s.blameSlot <- struct{}{}:
	case <-wait.C:
		return nil, fmt.Errorf("another blame is still running on this server (a long history is finished in the background): retry in a moment: %w", memory.ErrBusy)
	case <-ctx.Done():
		return nil, fmt.Errorf("another blame is still running on this server (a long history is finished in the background): retry in a moment: %w", memory.ErrBusy)
	}
	type result struct {
		res *git.BlameResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		func() {
			// Out of the binder's recover: a panic here would end the process.
			defer func() {
				if p := recover(); p != nil {
					r = result{err: fmt.Errorf("git blame failed on this file's history")}
				}
			}()
			res, err := git.Blame(commit, path)
			r = result{res, err}
		}()
		// The slot is free before the caller hears the result, so the
		// caller's next blame is never refused by its own last one.
		<-s.blameSlot
		done <- r
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, tool.Argf("%v", r.err)
		}
		return r.res, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("the file's history is too long to blame within the call's time (%w); it is finished in the background, and blame is refused until then", ctx.Err())
	}
}

// BlameInput are gitea_blame's arguments.
type BlameInput struct {
	Repo      string `json:"repo" jsonschema:"owner/name"`
	Path      string `json:"path" jsonschema:"file path"`
	Ref       string `json:"ref,omitempty" jsonschema:"branch, tag or commit (default: the default branch)"`
	StartLine int    `json:"start_line,omitempty" jsonschema:"first line (1-based)"`
	EndLine   int    `json:"end_line,omitempty" jsonschema:"last line (inclusive)"`
}

// BlameRange is consecutive lines last changed by one commit.
type BlameRange struct {
	Start   int      `json:"start"`
	End     int      `json:"end"`
	Commit  string   `json:"commit"`
	Author  string   `json:"author"`
	Email   string   `json:"email,omitempty"`
	Date    string   `json:"date"`
	Summary string   `json:"summary"`
	Lines   []string `json:"lines"`
}

// BlameOutput is gitea_blame's structured result.
type BlameOutput struct {
	Repo  string       `json:"repo"`
	Ref   string       `json:"ref"`
	Path  string       `json:"path"`
	Items []BlameRange `json:"items"`
}

func (s *Server) blame(ctx context.Context, c *tool.Call, in BlameInput) (*tool.Result, error) {
	if in.Path == "" {
		return nil, tool.Argf("path is required")
	}
	if err := checkPath("path", in.Path); err != nil {
		return nil, err
	}
	if err := checkRef("ref", in.Ref); err != nil {
		return nil, err
	}
	r, err := s.target(ctx, c, in.Repo)
	if err != nil {
		return nil, err
	}
	repo, h, err := s.mirror(ctx, c, r)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	commit, err := s.commit(ctx, h, repo, refName(in.Ref))
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	file, err := commit.File(in.Path)
	if err != nil {
		return nil, tool.Argf("blame %s at %s: %v", in.Path, refName(in.Ref), err)
	}
	if file.Size > maxFile {
		return nil, tool.Argf("%s at %s is over %d MiB, more than this server blames", in.Path, refName(in.Ref), maxFile>>20)
	}
	contents, err := file.Contents()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", in.Path, refName(in.Ref), err)
	}
	if n := strings.Count(contents, "\n"); n > maxBlameLines {
		return nil, tool.Argf("%s at %s has %d lines, more than the %d this server blames (its line diffs grow with the square of the lines); read it with gitea_file, and its history with gitea_commits path", in.Path, refName(in.Ref), n, maxBlameLines)
	}
	res, err := s.boundedBlame(ctx, commit, in.Path)
	if err != nil {
		return nil, fmt.Errorf("blame %s at %s: %w", in.Path, refName(in.Ref), err)
	}
	// The file is masked whole, then its lines are put beside blame's: a
	// multi-line secret is never shown line by line.
	masked := maskedLines(c, contents)
	if len(masked) != len(res.Lines) {
		return nil, fmt.Errorf("blame %s at %s: %d lines blamed for %d in the file", in.Path, refName(in.Ref), len(res.Lines), len(masked))
	}
	start, end := max(in.StartLine, 1), in.EndLine
	if end <= 0 || end > len(res.Lines) {
		end = len(res.Lines)
	}
	if start > end {
		return nil, tool.Argf("lines %d-%d: the file has %d lines", in.StartLine, in.EndLine, len(res.Lines))
	}
	out := BlameOutput{Repo: r.Full, Ref: refName(in.Ref), Path: in.Path, Items: []BlameRange{}}
	summaries := map[string]string{}
	for i := start; i <= end; i++ {
		l := res.Lines[i-1]
		text := strings.TrimSuffix(masked[i-1], "\n")
		h := l.Hash.String()
		if n := len(out.Items); n > 0 && out.Items[n-1].Commit == h {
			out.Items[n-1].End = i
			out.Items[n-1].Lines = append(out.Items[n-1].Lines, text)
			continue
		}
		sum, ok := summaries[h]
		if !ok {
			if cm, err := repo.CommitObject(l.Hash); err == nil {
				sum = firstLine(c, cm.Message)
			}
			summaries[h] = sum
		}
		out.Items = append(out.Items, BlameRange{Start: i, End: i, Commit: h, Author: l.AuthorName, Email: l.Author, Date: tool.Date(l.Date), Summary: sum, Lines: []string{text}})
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			var b strings.Builder
			fmt.Fprintf(&b, "L%v-%v %.10s %s %s  %s", m["start"], m["end"], tool.Str(m["commit"]), tool.Str(m["author"]), tool.Str(m["date"]), tool.Str(m["summary"]))
			lines, _ := m["lines"].([]any)
			for _, l := range lines {
				b.WriteString("\n  | " + tool.Str(l))
			}
			return b.String()
		})
	}}, nil
}

func refName(ref string) string {
	if ref == "" {
		return "HEAD"
	}
	return ref
}

// SearchInput are gitea_search's arguments.
type SearchInput struct {
	Query      string   `json:"query" jsonschema:"text to find (literal unless regex is true)"`
	Regex      bool     `json:"regex,omitempty" jsonschema:"query is an RE2 regular expression"`
	IgnoreCase bool     `json:"ignore_case,omitempty"`
	Repos      []string `json:"repos,omitempty" jsonschema:"only these repositories (owner/name or owner/*), within the allowed ones"`
	Ref        string   `json:"ref,omitempty" jsonschema:"branch, tag or commit (default: each repository's default branch)"`
	Path       string   `json:"path,omitempty" jsonschema:"only files whose path or base name matches this glob, e.g. *.tf"`
	Limit      int      `json:"limit,omitempty" jsonschema:"most matching lines (default 100, at most 1000)"`
}

// SearchHit is one matching line.
type SearchHit struct {
	Repo string `json:"repo"`
	Path string `json:"path"`
	Line int    `json:"line"`
	Text string `json:"text"`
}

// SearchOutput is gitea_search's structured result.
type SearchOutput struct {
	Repos   int         `json:"repos" jsonschema:"repositories searched"`
	Files   int         `json:"files" jsonschema:"files read"`
	Limited bool        `json:"limited,omitempty" jsonschema:"true when the limit stopped the search"`
	Items   []SearchHit `json:"items"`
}

// maxSearchFile skips larger files: generated or vendored, rarely code.
const maxSearchFile = 1 << 20

func (s *Server) search(ctx context.Context, c *tool.Call, in SearchInput) (*tool.Result, error) {
	if in.Query == "" {
		return nil, tool.Argf("query is required")
	}
	expr := in.Query
	if !in.Regex {
		expr = regexp.QuoteMeta(expr)
	}
	if in.IgnoreCase {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, tool.Argf("query is not a valid RE2 expression: %v", err)
	}
	if in.Path != "" {
		if _, err := path.Match(in.Path, ""); err != nil {
			return nil, tool.Argf("path glob %q: %v", in.Path, err)
		}
	}
	for _, p := range in.Repos {
		if _, err := path.Match(p, ""); err != nil || !strings.Contains(p, "/") {
			return nil, tool.Argf("repos entry %q: use owner/name or owner/*", p)
		}
	}
	if err := checkRef("ref", in.Ref); err != nil {
		return nil, err
	}
	repos, err := s.visible(ctx, c, "", false)
	if err != nil {
		return nil, err
	}
	n := limit(in.Limit, 100, 1000)
	out := SearchOutput{Items: []SearchHit{}}
	for _, rp := range repos {
		if len(in.Repos) > 0 && !matchAny(in.Repos, rp.FullName) {
			continue
		}
		if rp.Empty {
			continue
		}
		gr, err := forge.RepoOf(rp)
		if err != nil {
			return nil, fmt.Errorf("Gitea: %w", err)
		}
		stop, err := s.searchRepo(ctx, c, repoRef{Owner: gr.Owner, Name: gr.Name, Full: gr.FullName, ID: gr.ID, DefaultBranch: gr.DefaultBranch}, in, re, n, &out)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	sort.SliceStable(out.Items, func(i, j int) bool {
		a, b := out.Items[i], out.Items[j]
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			return fmt.Sprintf("%s:%s:%v: %s", tool.Str(m["repo"]), tool.Str(m["path"]), m["line"], tool.Str(m["text"]))
		})
	}}, nil
}

// searchRepo searches one repository's mirror into out; stop says the
// limit was reached.
func (s *Server) searchRepo(ctx context.Context, c *tool.Call, r repoRef, in SearchInput, re *regexp.Regexp, n int, out *SearchOutput) (bool, error) {
	ref := in.Ref
	if ref == "" {
		ref = r.DefaultBranch
		if names.Ref(ref) != nil {
			return false, nil // not a branch name git could have: nothing to search
		}
	}
	repo, h, err := s.mirror(ctx, c, r)
	if err != nil {
		return false, err
	}
	defer h.Release()
	commit, err := forge.Commit(repo, ref)
	if err != nil {
		if in.Ref != "" {
			return false, nil // this repository has no such ref
		}
		return false, err
	}
	out.Repos++
	files, err := commit.Files()
	if err != nil {
		return false, fmt.Errorf("files of %s: %w", r.Full, err)
	}
	err = files.ForEach(func(f *object.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if in.Path != "" {
			ok1, _ := path.Match(in.Path, f.Name)
			ok2, _ := path.Match(in.Path, path.Base(f.Name))
			if !ok1 && !ok2 {
				return nil
			}
		}
		if f.Size > maxSearchFile {
			return nil
		}
		// A blob searched before is known by its id: binary, or its
		// masked text, in which a query that does not match needs no
		// read of the blob (inflating every blob again was most of a
		// warm search).
		cached, known := s.cachedBlob(f.Hash)
		if known && cached == binaryBlob {
			return nil
		}
		if known && !re.MatchString(cached) {
			out.Files++
			return nil
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		body, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			return err
		}
		// go-git's IsBinary: a NUL in the first 8000 bytes (read here
		// from the body already read, not from a second inflate).
		if bytes.IndexByte(body[:min(len(body), 8000)], 0) >= 0 {
			s.masked.put(f.Hash, binaryBlob)
			return nil
		}
		out.Files++
		// The query only ever sees masked text: its hits (and their
		// count) cannot tell a masked value apart, one character at a
		// time or otherwise.
		text := string(body)
		masked := s.maskBlob(c, f.Hash, text)
		if !re.MatchString(masked) {
			return nil
		}
		for i, line := range alignLines(text, masked) {
			line = strings.TrimSuffix(line, "\n")
			if re.MatchString(line) {
				if len(out.Items) >= n {
					out.Limited = true
					return io.EOF
				}
				out.Items = append(out.Items, SearchHit{Repo: r.Full, Path: f.Name, Line: i + 1, Text: cutLine(line, 400)})
			}
		}
		return nil
	})
	if err == io.EOF {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("search %s: %w", r.Full, err)
	}
	return false, nil
}

func matchAny(pats []string, s string) bool {
	for _, p := range pats {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(s)); ok {
			return true
		}
	}
	return false
}

// cutLine shortens a long line at a separator, so a token is not split.
func cutLine(s string, n int) string {
	if len(s) <= n {
		return s
	}
	end := n
	if i := strings.LastIndexAny(s[:n], " ,;\t"); i > n/2 {
		end = i
	}
	return s[:end] + fmt.Sprintf(" …[line cut: %d bytes]", len(s))
}
