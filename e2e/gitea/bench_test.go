package gitea_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"code.gitea.io/sdk/gitea"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func benchCall(b *testing.B, s *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil || res.IsError {
		b.Fatalf("%s: %v %v", name, err, res)
	}
	return res
}

// warmCalls times tool calls over one stdio session, after a first call
// that warms the server (and its mirror).
func warmCalls(b *testing.B, name string, args map[string]any) {
	s, _ := session(b)
	benchCall(b, s, name, args)
	for b.Loop() {
		benchCall(b, s, name, args)
	}
}

func readerClient(b *testing.B) *gitea.Client {
	c, err := gitea.NewClient(forge.URL, gitea.SetToken(readerToken))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// localClone is a plain git clone of ops/infra: the "direct git" side of
// the mirror benchmarks.
var localClone = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(workDir, "bench-clone")
	_, err := git(context.Background(), workDir, alice, "2026-01-01T00:00:00Z", "clone", "-q", "--mirror", remote("infra"), dir)
	return dir, err
})

// BenchmarkGiteaFile: one file at a tag through mcp-gitea (which also
// resolves the repository against allowlist and policy, masks and
// audits) beside the SDK's GetFile.
func BenchmarkGiteaFile(b *testing.B) {
	b.Run("mcp-stdio", func(b *testing.B) {
		warmCalls(b, "gitea_file", map[string]any{"repo": "ops/infra", "path": "k8s/deployment.yaml", "ref": "v1.0.0"})
	})
	b.Run("sdk", func(b *testing.B) {
		c := readerClient(b)
		for b.Loop() {
			if _, _, err := c.GetFile("ops", "infra", "v1.0.0", "k8s/deployment.yaml"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGiteaDiff: a commit's diff (API) and a base...head comparison
// (mirror) beside the SDK's GetCommitDiff and git diff on a local clone.
func BenchmarkGiteaDiff(b *testing.B) {
	b.Run("commit/mcp-stdio", func(b *testing.B) {
		warmCalls(b, "gitea_diff", map[string]any{"repo": "ops/infra", "commit": fx.commitB})
	})
	b.Run("commit/sdk", func(b *testing.B) {
		c := readerClient(b)
		for b.Loop() {
			if _, _, err := c.GetCommitDiff("ops", "infra", fx.commitB); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compare/mcp-stdio-warm-mirror", func(b *testing.B) {
		warmCalls(b, "gitea_diff", map[string]any{"repo": "ops/infra", "base": "v1.0.0", "head": "feature/scale"})
	})
	b.Run("compare/git-diff-local-clone", func(b *testing.B) {
		dir, err := localClone()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if out, err := exec.Command("git", "-C", dir, "diff", "v1.0.0...feature/scale").Output(); err != nil || len(out) == 0 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGiteaSearch: a literal over all allowed repositories. Warm: the
// mirrors exist and are fresh. Cold: a new server with an empty mirror
// directory, so the call clones every repository first (process start
// included). git grep on a local clone is the floor.
func BenchmarkGiteaSearch(b *testing.B) {
	args := map[string]any{"query": "replicas:"}
	b.Run("mcp-stdio-warm-mirror", func(b *testing.B) {
		warmCalls(b, "gitea_search", args)
	})
	b.Run("mcp-stdio-cold-mirror", func(b *testing.B) {
		for b.Loop() {
			s, _ := session(b)
			benchCall(b, s, "gitea_search", args)
			s.Close()
		}
	})
	b.Run("git-grep-local-clone", func(b *testing.B) {
		dir, err := localClone()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if out, err := exec.Command("git", "-C", dir, "grep", "-n", "-F", "replicas:", "main").Output(); err != nil || len(out) == 0 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLargePullBytes makes a pull request touching 120 files of 60
// lines and reports what a model receives: the file list, the first page
// of patches within the default budget, beside the raw diff.
func BenchmarkLargePullBytes(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(workDir, "large-src")
	if _, err := git(ctx, workDir, alice, "2026-03-01T00:00:00Z", "clone", "-q", remote("infra"), dir); err != nil {
		b.Fatal(err)
	}
	if _, err := git(ctx, dir, alice, "2026-03-01T00:00:00Z", "checkout", "-q", "-b", "feature/large"); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "generated"), 0o755)
	for i := 0; i < 120; i++ {
		var body strings.Builder
		for l := 0; l < 60; l++ {
			fmt.Fprintf(&body, "key_%03d_%02d: value %d for service %d\n", i, l, l*i, i)
		}
		os.WriteFile(filepath.Join(dir, "generated", fmt.Sprintf("svc-%03d.yaml", i)), []byte(body.String()), 0o644)
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "Generate 120 service configs"}, {"push", "-q", remote("infra"), "feature/large"}} {
		if _, err := git(ctx, dir, alice, "2026-03-01T00:00:00Z", args...); err != nil {
			b.Fatal(err)
		}
	}
	admin, err := gitea.NewClient(forge.URL, gitea.SetToken(adminToken))
	if err != nil {
		b.Fatal(err)
	}
	if err := waitPushed(ctx, admin, "infra", 3); err != nil {
		b.Fatal(err)
	}
	pr, _, err := admin.CreatePullRequest("ops", "infra", gitea.CreatePullRequestOption{Head: "feature/large", Base: "main", Title: "Large generated change"})
	if err != nil {
		b.Fatal(err)
	}
	raw, _, err := readerClient(b).GetPullRequestDiff("ops", "infra", pr.Index, gitea.PullRequestDiffOptions{})
	if err != nil {
		b.Fatal(err)
	}
	s, _ := session(b)
	var filesBytes, patchBytes, shown int
	for b.Loop() {
		res := benchCall(b, s, "gitea_diff", map[string]any{"repo": "ops/infra", "pull": pr.Index, "detail": "files"})
		filesBytes = len(res.Content[0].(*mcp.TextContent).Text)
		res = benchCall(b, s, "gitea_diff", map[string]any{"repo": "ops/infra", "pull": pr.Index})
		patchBytes = len(res.Content[0].(*mcp.TextContent).Text)
		sc, _ := json.Marshal(res.StructuredContent)
		var d struct {
			Shown int `json:"shown"`
		}
		json.Unmarshal(sc, &d)
		shown = d.Shown
	}
	b.ReportMetric(float64(len(raw)), "raw-diff-bytes")
	b.ReportMetric(float64(filesBytes), "mcp-files-text-bytes")
	b.ReportMetric(float64(patchBytes), "mcp-patch-page-text-bytes")
	b.ReportMetric(float64(shown), "files-in-first-page")
}
