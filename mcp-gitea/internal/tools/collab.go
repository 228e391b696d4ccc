package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"code.gitea.io/sdk/gitea"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// PullsInput are gitea_pulls' arguments.
type PullsInput struct {
	Repo   string `json:"repo" jsonschema:"owner/name"`
	Number int64  `json:"number,omitempty" jsonschema:"one pull request, with its reviews and comments"`
	State  string `json:"state,omitempty" jsonschema:"open (default), closed or all, when listing"`
	Limit  int    `json:"limit,omitempty" jsonschema:"most pull requests listed (default 30, at most 200)"`
}

// Entry is one pull request or issue in a list, or one event of one: a
// review, a review comment on a line, or a comment.
type Entry struct {
	Kind    string   `json:"kind" jsonschema:"pull, issue, review, review_comment or comment"`
	Number  int64    `json:"number,omitempty"`
	Title   string   `json:"title,omitempty"`
	State   string   `json:"state,omitempty" jsonschema:"open/closed/merged, or a review's state (APPROVED, REQUEST_CHANGES, COMMENT)"`
	Author  string   `json:"author,omitempty"`
	Date    string   `json:"date,omitempty"`
	Head    string   `json:"head,omitempty"`
	Base    string   `json:"base,omitempty"`
	Labels  []string `json:"labels,omitempty"`
	Path    string   `json:"path,omitempty" jsonschema:"a review comment's file"`
	Line    uint64   `json:"line,omitempty" jsonschema:"a review comment's line"`
	Body    string   `json:"body,omitempty"`
	Comment int      `json:"comments,omitempty"`
}

// PullsOutput is gitea_pulls' structured result: a list of pull requests,
// or one (in the header fields) with its reviews and comments as items.
type PullsOutput struct {
	Repo  string  `json:"repo"`
	Pull  *Entry  `json:"pull,omitempty"`
	Items []Entry `json:"items"`
}

// maxIssueScan bounds how many issues a keyword query reads to match.
const maxIssueScan = 1000

// pageSize is how many entries one API page asks for.
const pageSize = 50

// pages collects up to n entries from a paged list endpoint.
func pages[T any](n int, fetch func(gitea.ListOptions) ([]T, error)) ([]T, error) {
	var out []T
	for page := 1; len(out) < n; page++ {
		list, err := fetch(gitea.ListOptions{Page: page, PageSize: pageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(list) < pageSize {
			break
		}
	}
	return out[:min(len(out), n)], nil
}

func stateArg(s string) (gitea.StateType, error) {
	switch s {
	case "", "open":
		return gitea.StateOpen, nil
	case "closed":
		return gitea.StateClosed, nil
	case "all":
		return gitea.StateAll, nil
	}
	return "", tool.Argf("state %q: use open, closed or all", s)
}

func user(u *gitea.User) string {
	if u == nil {
		return ""
	}
	return u.UserName
}

func pullEntry(p *gitea.PullRequest) Entry {
	e := Entry{Kind: "pull", Number: p.Index, Title: p.Title, State: string(p.State), Author: user(p.Poster), Comment: p.Comments, Body: p.Body}
	if p.HasMerged {
		e.State = "merged"
	}
	if p.Created != nil {
		e.Date = tool.Date(*p.Created)
	}
	if p.Head != nil {
		e.Head = p.Head.Ref
	}
	if p.Base != nil {
		e.Base = p.Base.Ref
	}
	for _, l := range p.Labels {
		e.Labels = append(e.Labels, l.Name)
	}
	return e
}

func (s *Server) pulls(ctx context.Context, c *tool.Call, in PullsInput) (*tool.Result, error) {
	if err := checkNumber("number", in.Number); err != nil {
		return nil, err
	}
	r, err := s.target(ctx, c, in.Repo)
	if err != nil {
		return nil, err
	}
	cl, err := s.client(ctx, c)
	if err != nil {
		return nil, err
	}
	out := PullsOutput{Repo: r.Full, Items: []Entry{}}
	if in.Number == 0 {
		state, err := stateArg(in.State)
		if err != nil {
			return nil, err
		}
		list, err := pages(limit(in.Limit, 30, 200), func(o gitea.ListOptions) ([]*gitea.PullRequest, error) {
			l, _, err := cl.ListRepoPullRequests(r.Owner, r.Name, gitea.ListPullRequestsOptions{ListOptions: o, State: state})
			return l, err
		})
		if err != nil {
			return nil, apiErr("pull requests of "+r.Full, err)
		}
		for _, p := range list {
			e := pullEntry(p)
			e.Body = ""
			out.Items = append(out.Items, e)
		}
		return &tool.Result{Data: out, Render: renderEntries}, nil
	}
	p, _, err := cl.GetPullRequest(r.Owner, r.Name, in.Number)
	if err != nil {
		return nil, apiErr(fmt.Sprintf("pull request #%d of %s", in.Number, r.Full), err)
	}
	head := pullEntry(p)
	out.Pull = &head
	reviews, _, err := cl.ListPullReviews(r.Owner, r.Name, in.Number, gitea.ListPullReviewsOptions{ListOptions: gitea.ListOptions{PageSize: 50}})
	if err != nil {
		return nil, apiErr("reviews", err)
	}
	for _, rv := range reviews {
		out.Items = append(out.Items, Entry{Kind: "review", State: string(rv.State), Author: user(rv.Reviewer), Date: tool.Date(rv.Submitted), Body: rv.Body})
		if rv.CodeCommentsCount == 0 {
			continue
		}
		cms, _, err := cl.ListPullReviewComments(r.Owner, r.Name, in.Number, rv.ID)
		if err != nil {
			return nil, apiErr("review comments", err)
		}
		for _, cm := range cms {
			line := cm.LineNum
			if line == 0 {
				line = cm.OldLineNum
			}
			out.Items = append(out.Items, Entry{Kind: "review_comment", Author: user(cm.Reviewer), Date: tool.Date(cm.Created), Path: cm.Path, Line: line, Body: cm.Body})
		}
	}
	comments, err := s.comments(cl, r, in.Number)
	if err != nil {
		return nil, err
	}
	out.Items = append(out.Items, comments...)
	sort.SliceStable(out.Items, func(i, j int) bool { return out.Items[i].Date < out.Items[j].Date })
	return &tool.Result{Data: out, Render: renderEntries}, nil
}

func (s *Server) comments(cl *gitea.Client, r repoRef, number int64) ([]Entry, error) {
	list, _, err := cl.ListIssueComments(r.Owner, r.Name, number, gitea.ListIssueCommentOptions{ListOptions: gitea.ListOptions{PageSize: 100}})
	if err != nil {
		return nil, apiErr("comments", err)
	}
	out := make([]Entry, 0, len(list))
	for _, cm := range list {
		out = append(out, Entry{Kind: "comment", Author: user(cm.Poster), Date: tool.Date(cm.Created), Body: cm.Body})
	}
	return out, nil
}

// IssuesInput are gitea_issues' arguments.
type IssuesInput struct {
	Repo   string   `json:"repo" jsonschema:"owner/name"`
	Number int64    `json:"number,omitempty" jsonschema:"one issue, with its comments"`
	State  string   `json:"state,omitempty" jsonschema:"open (default), closed or all, when listing"`
	Labels []string `json:"labels,omitempty" jsonschema:"only issues with these labels"`
	Query  string   `json:"query,omitempty" jsonschema:"keyword in title or body (case-insensitive substring of the masked text; the newest 1000 issues are searched)"`
	Limit  int      `json:"limit,omitempty" jsonschema:"most issues listed (default 30, at most 200)"`
}

// IssuesOutput is gitea_issues' structured result.
type IssuesOutput struct {
	Repo  string  `json:"repo"`
	Issue *Entry  `json:"issue,omitempty"`
	Items []Entry `json:"items"`
}

func issueEntry(is *gitea.Issue) Entry {
	e := Entry{Kind: "issue", Number: is.Index, Title: is.Title, State: string(is.State), Author: user(is.Poster), Date: tool.Date(is.Created), Comment: is.Comments, Body: is.Body}
	for _, l := range is.Labels {
		e.Labels = append(e.Labels, l.Name)
	}
	return e
}

func (s *Server) issues(ctx context.Context, c *tool.Call, in IssuesInput) (*tool.Result, error) {
	if err := checkNumber("number", in.Number); err != nil {
		return nil, err
	}
	r, err := s.target(ctx, c, in.Repo)
	if err != nil {
		return nil, err
	}
	cl, err := s.client(ctx, c)
	if err != nil {
		return nil, err
	}
	out := IssuesOutput{Repo: r.Full, Items: []Entry{}}
	if in.Number == 0 {
		state, err := stateArg(in.State)
		if err != nil {
			return nil, err
		}
		n := limit(in.Limit, 30, 200)
		scan := n
		if in.Query != "" {
			// The keyword is matched here, on masked titles and bodies,
			// not by Gitea's search on the clear text: which issues match
			// would otherwise tell a masked value apart, guess by guess.
			scan = maxIssueScan
		}
		list, err := pages(scan, func(o gitea.ListOptions) ([]*gitea.Issue, error) {
			l, _, err := cl.ListRepoIssues(r.Owner, r.Name, gitea.ListIssueOption{ListOptions: o, State: state, Type: gitea.IssueTypeIssue, Labels: in.Labels})
			return l, err
		})
		if err != nil {
			return nil, apiErr("issues of "+r.Full, err)
		}
		q := strings.ToLower(in.Query)
		for _, is := range list {
			if len(out.Items) >= n {
				break
			}
			if q != "" && !strings.Contains(strings.ToLower(c.Mask(is.Title+"\n"+is.Body)), q) {
				continue
			}
			e := issueEntry(is)
			e.Body = ""
			out.Items = append(out.Items, e)
		}
		return &tool.Result{Data: out, Render: renderEntries}, nil
	}
	is, _, err := cl.GetIssue(r.Owner, r.Name, in.Number)
	if err != nil {
		return nil, apiErr(fmt.Sprintf("issue #%d of %s", in.Number, r.Full), err)
	}
	head := issueEntry(is)
	out.Issue = &head
	if out.Items, err = s.comments(cl, r, in.Number); err != nil {
		return nil, err
	}
	return &tool.Result{Data: out, Render: renderEntries}, nil
}

func renderEntry(b *strings.Builder, m map[string]any) {
	switch m["kind"] {
	case "pull", "issue":
		fmt.Fprintf(b, "#%v [%s] %s  by %s %s", m["number"], tool.Str(m["state"]), tool.Str(m["title"]), tool.Str(m["author"]), tool.Str(m["date"]))
		if h := tool.Str(m["head"]); h != "" {
			fmt.Fprintf(b, "  %s -> %s", h, tool.Str(m["base"]))
		}
		if ls, ok := m["labels"].([]any); ok && len(ls) > 0 {
			fmt.Fprintf(b, "  labels %v", ls)
		}
	case "review":
		fmt.Fprintf(b, "review %s by %s %s", tool.Str(m["state"]), tool.Str(m["author"]), tool.Str(m["date"]))
	case "review_comment":
		fmt.Fprintf(b, "review comment by %s on %s:%v %s", tool.Str(m["author"]), tool.Str(m["path"]), m["line"], tool.Str(m["date"]))
	default:
		fmt.Fprintf(b, "comment by %s %s", tool.Str(m["author"]), tool.Str(m["date"]))
	}
	if body := tool.Str(m["body"]); body != "" {
		b.WriteString("\n  " + strings.ReplaceAll(strings.TrimSpace(body), "\n", "\n  "))
	}
}

func renderEntries(d map[string]any) string {
	var b strings.Builder
	for _, k := range []string{"pull", "issue"} {
		if h, ok := d[k].(map[string]any); ok {
			renderEntry(&b, h)
			b.WriteString("\n\n")
		}
	}
	items, _ := d["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		renderEntry(&b, m)
		b.WriteByte('\n')
	}
	return b.String()
}
