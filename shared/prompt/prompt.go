// Package prompt is the table of MCP prompts a server offers, as
// shared/tool is the table of its tools: each prompt is a static template
// of ours with typed, validated arguments, naming the tools it relies on.
// Clients show prompts as slash commands.
package prompt

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// Kind is what an argument holds; it fixes the characters and length
// accepted, since the value ends up in the prompt's text.
type Kind int

const (
	// Name is an object, repository or label name: letters, digits and
	// . _ - / : (a Kubernetes name, owner/repo, a service name).
	Name Kind = iota
	// Time is an RFC 3339 time or a relative duration such as 2h.
	Time
	// Number is a small decimal number (a pull request index).
	Number
)

// limits per kind: the pattern a value must match whole, the longest
// value, and what to tell a caller who got it wrong.
var kinds = map[Kind]struct {
	re   *regexp.Regexp
	max  int
	want string
}{
	Name:   {regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`), 253, "letters, digits and . _ : / - (starting with a letter or digit)"},
	Time:   {regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})|\d{1,4}[smhd])$`), 40, "an RFC 3339 time (2026-07-28T14:05:00Z) or a duration ago (30m, 2h, 1d)"},
	Number: {regexp.MustCompile(`^[1-9][0-9]{0,8}$`), 9, "a positive whole number"},
}

// Arg is one typed argument of a prompt.
type Arg struct {
	Name        string
	Description string
	Kind        Kind
	Required    bool
}

// Prompt is one entry of a server's prompt table.
type Prompt struct {
	Name        string
	Title       string
	Description string
	// Tools are the tools the investigation relies on; they are named in
	// the text and must all be in the server's tool table.
	Tools []string
	Args  []Arg
	// Text renders the prompt from validated arguments (a missing
	// optional argument is "").
	Text func(args map[string]string) string
}

// Check reports what is wrong with a prompt table for a server whose
// tools are named tools: duplicate names, a tool not offered, an argument
// without a description.
func Check(ps []Prompt, tools []string) error {
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Name == "" || p.Text == nil || p.Description == "" || len(p.Tools) == 0 {
			return fmt.Errorf("prompt %q: needs a name, a description, its tools and a text", p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("prompt %q declared twice", p.Name)
		}
		seen[p.Name] = true
		for _, t := range p.Tools {
			if !slices.Contains(tools, t) {
				return fmt.Errorf("prompt %q relies on tool %q, which this server does not offer", p.Name, t)
			}
		}
		for _, a := range p.Args {
			if _, ok := kinds[a.Kind]; !ok || a.Name == "" || a.Description == "" {
				return fmt.Errorf("prompt %q: argument %q needs a name, a description and a known kind", p.Name, a.Name)
			}
		}
	}
	return nil
}

// Validate checks a caller's arguments against p, and returns them with
// every declared argument present ("" when optional and not given). The
// error says what to fix, in tool.Argf's form.
func (p Prompt) Validate(in map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(p.Args))
	var unknown []string
	for k := range in {
		if !slices.ContainsFunc(p.Args, func(a Arg) bool { return a.Name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(p.Args))
		for _, a := range p.Args {
			names = append(names, a.Name)
		}
		return nil, tool.Argf("prompt %s: unknown argument %s; it takes %s", p.Name, quoteList(unknown), strings.Join(names, ", "))
	}
	for _, a := range p.Args {
		v := strings.TrimSpace(in[a.Name])
		if v == "" {
			if a.Required {
				return nil, tool.Argf("prompt %s: argument %s is required (%s)", p.Name, a.Name, a.Description)
			}
			out[a.Name] = ""
			continue
		}
		k := kinds[a.Kind]
		if !utf8.ValidString(v) || len(v) > k.max || !k.re.MatchString(v) {
			// The value is not echoed: it may be anything, of any size.
			return nil, tool.Argf("prompt %s: argument %s must be %s, at most %d characters", p.Name, a.Name, k.want, k.max)
		}
		out[a.Name] = v
	}
	return out, nil
}

// quoteList quotes at most a few names, each cut short: they are the
// caller's, of any size.
func quoteList(names []string) string {
	if len(names) > 3 {
		names = append(names[:3:3], "…")
	}
	q := make([]string, len(names))
	for i, n := range names {
		if len(n) > 40 {
			n = n[:40] + "…"
		}
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// Render validates in and returns the prompt's text, ending with the
// tools it relies on.
func (p Prompt) Render(in map[string]string) (string, error) {
	args, err := p.Validate(in)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(p.Text(args)) + "\n\nTools to use: " + strings.Join(p.Tools, ", ") + ".", nil
}

// Register adds every prompt of ps to srv.
func Register(srv *mcp.Server, ps []Prompt) {
	for _, p := range ps {
		mp := &mcp.Prompt{Name: p.Name, Title: p.Title, Description: p.Description + " Relies on: " + strings.Join(p.Tools, ", ") + "."}
		for _, a := range p.Args {
			mp.Arguments = append(mp.Arguments, &mcp.PromptArgument{Name: a.Name, Description: a.Description + " (" + kinds[a.Kind].want + ")", Required: a.Required})
		}
		srv.AddPrompt(mp, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			text, err := p.Render(req.Params.Arguments)
			if err != nil {
				return nil, err
			}
			return &mcp.GetPromptResult{
				Description: p.Title,
				Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
			}, nil
		})
	}
}

// timeSuggestions are the relative times offered for a Time argument.
var timeSuggestions = []string{"15m", "30m", "1h", "2h", "6h", "1d"}

// Complete answers completion/complete for the arguments of ps: a Time
// argument is offered the relative times that start with what was typed;
// names and numbers live upstream, so none are offered. A reference to
// anything else (another prompt, a resource) is an argument error naming
// what exists.
func Complete(ps []Prompt) func(context.Context, *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	return func(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
		ref := req.Params.Ref
		if ref == nil || ref.Type != "ref/prompt" {
			return nil, tool.Argf("completion: this server completes prompt arguments only (ref/prompt); it has no resources")
		}
		i := slices.IndexFunc(ps, func(p Prompt) bool { return p.Name == ref.Name })
		if i < 0 {
			names := make([]string, len(ps))
			for j, p := range ps {
				names[j] = p.Name
			}
			return nil, tool.Argf("completion: unknown prompt %s; prompts are %s", quoteList([]string{ref.Name}), strings.Join(names, ", "))
		}
		p := ps[i]
		j := slices.IndexFunc(p.Args, func(a Arg) bool { return a.Name == req.Params.Argument.Name })
		if j < 0 {
			return nil, tool.Argf("completion: prompt %s has no argument %s", p.Name, quoteList([]string{req.Params.Argument.Name}))
		}
		values := []string{}
		if p.Args[j].Kind == Time {
			for _, s := range timeSuggestions {
				if strings.HasPrefix(s, req.Params.Argument.Value) {
					values = append(values, s)
				}
			}
		}
		return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: values, Total: len(values)}}, nil
	}
}
