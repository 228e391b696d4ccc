package tools

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/iac"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// IaCInput are gitea_iac's arguments.
type IaCInput struct {
	Repo string `json:"repo" jsonschema:"owner/name"`
	Ref  string `json:"ref,omitempty" jsonschema:"branch, tag or commit (default: the default branch)"`
	Path string `json:"path,omitempty" jsonschema:"only files under this directory"`
	Only string `json:"only,omitempty" jsonschema:"findings (problems only) or inventory (objects only); default both, findings first"`
}

// IaCOutput is gitea_iac's structured result.
type IaCOutput struct {
	Repo     string     `json:"repo"`
	Ref      string     `json:"ref"`
	Files    int        `json:"files" jsonschema:"files read"`
	Findings int        `json:"findings"`
	Items    []iac.Item `json:"items"`
}

// maxIaCFile skips larger files: generated bundles, not hand-written code.
const maxIaCFile = 512 << 10

func (s *Server) iac(ctx context.Context, c *tool.Call, in IaCInput) (*tool.Result, error) {
	switch in.Only {
	case "", "findings", "inventory":
	default:
		return nil, tool.Argf("only %q: use findings or inventory", in.Only)
	}
	if err := checkRef("ref", in.Ref); err != nil {
		return nil, err
	}
	if err := checkPath("path", in.Path); err != nil {
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
	prefix := strings.TrimSuffix(in.Path, "/")
	files := map[string][]byte{}
	iter, err := commit.Files()
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", r.Full, err)
	}
	err = iter.ForEach(func(f *object.File) error {
		if prefix != "" && !strings.HasPrefix(f.Name, prefix+"/") {
			return nil
		}
		if !iac.Candidate(f.Name) && !strings.HasSuffix(f.Name, "values.yaml") || f.Size > maxIaCFile {
			return nil
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		defer rd.Close()
		b, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		files[f.Name] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.Full, err)
	}
	out := IaCOutput{Repo: r.Full, Ref: refName(in.Ref), Files: len(files), Items: []iac.Item{}}
	for _, it := range iac.Analyze(files) {
		isFinding := it.Kind == "finding"
		if isFinding {
			out.Findings++
		}
		if in.Only == "findings" && !isFinding || in.Only == "inventory" && isFinding {
			continue
		}
		out.Items = append(out.Items, it)
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		head := fmt.Sprintf("%s at %s: %v files, %v findings\n", tool.Str(d["repo"]), tool.Str(d["ref"]), d["files"], d["findings"])
		return head + tool.Rows(d, func(m map[string]any) string {
			loc := fmt.Sprintf("%s:%v", tool.Str(m["path"]), m["line"])
			if m["kind"] == "finding" {
				return fmt.Sprintf("FINDING %-16s %s  %s", tool.Str(m["rule"]), loc, tool.Str(m["message"]))
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%-13s %s  %s %s", tool.Str(m["kind"]), loc, tool.Str(m["type"]), tool.Str(m["name"]))
			if ns := tool.Str(m["namespace"]); ns != "" {
				b.WriteString(" -n " + ns)
			}
			if ims, ok := m["images"].([]any); ok && len(ims) > 0 {
				fmt.Fprintf(&b, "  images %v", ims)
			}
			if ds, ok := m["details"].([]any); ok {
				for _, x := range ds {
					b.WriteString("\n    " + tool.Str(x))
				}
			}
			return b.String()
		})
	}}, nil
}
