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
	Skipped  int        `json:"skipped,omitempty" jsonschema:"candidate files left out: past the total this call reads (narrow it with path)"`
	Findings int        `json:"findings"`
	Items    []iac.Item `json:"items"`
}

// maxIaCFile skips larger files: generated bundles, not hand-written code.
const maxIaCFile = 512 << 10

// maxIaCTotal bounds what one call reads and analyses: one blob named at
// thousands of paths packs into kilobytes and would otherwise be held
// (and parsed) once per path.
const maxIaCTotal = 16 << 20

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
	total, skipped := int64(0), 0
	err = iter.ForEach(func(f *object.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if prefix != "" && !strings.HasPrefix(f.Name, prefix+"/") {
			return nil
		}
		if !iac.Candidate(f.Name) && !strings.HasSuffix(f.Name, "values.yaml") || f.Size > maxIaCFile {
			return nil
		}
		if total+f.Size > maxIaCTotal {
			skipped++
			return nil
		}
		total += f.Size
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
	out := IaCOutput{Repo: r.Full, Ref: refName(in.Ref), Files: len(files), Skipped: skipped, Items: []iac.Item{}}
	// The analysis cannot be stopped (each file runs under its own time
	// limit); the call does not wait for it past its deadline.
	done := make(chan []iac.Item, 1)
	failed := make(chan struct{})
	go func() {
		// Out of the binder's recover: a panic here would end the process.
		defer func() {
			if recover() != nil {
				close(failed)
			}
		}()
		done <- iac.Analyze(files)
	}()
	var items []iac.Item
	select {
	case items = <-done:
	case <-failed:
		return nil, fmt.Errorf("analyse %s: the analyser failed on these files", r.Full)
	case <-ctx.Done():
		return nil, fmt.Errorf("analyse %s: %w (narrow it with path)", r.Full, ctx.Err())
	}
	for _, it := range items {
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
		if n, _ := d["skipped"].(float64); n > 0 {
			head += fmt.Sprintf("(%v more files not read: over the %d MiB one call reads; narrow it with path)\n", n, maxIaCTotal>>20)
		}
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
