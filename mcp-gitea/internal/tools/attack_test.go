package tools

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-gitea/internal/forge"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// fakeGitea answers the few API calls the handlers make and records every
// request, so a test can say that an attack sent none.
type fakeGitea struct {
	mu   sync.Mutex
	reqs []string
	srv  *httptest.Server
}

const pemPatch = "diff --git a/deploy/key.yaml b/deploy/key.yaml\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/deploy/key.yaml\n@@ -0,0 +1,8 @@\n"

func newFakeGitea(t *testing.T) *fakeGitea {
	g := &fakeGitea{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if p == "/api/v1/version" {
			w.Write([]byte(`{"version":"1.26.0"}`))
			return
		}
		g.mu.Lock()
		g.reqs = append(g.reqs, r.Method+" "+r.URL.RequestURI())
		g.mu.Unlock()
		switch {
		case p == "/api/v1/repos/ops/infra" || p == "/api/v1/repos/OPS/Infra":
			json.NewEncoder(w).Encode(map[string]any{"id": 7, "full_name": "ops/infra", "name": "infra", "owner": map[string]any{"login": "ops"}, "default_branch": "main"})
		case strings.HasPrefix(p, "/api/v1/repos/ops/infra/raw/"):
			w.Write([]byte(pemFile()))
		case strings.HasPrefix(p, "/api/v1/repos/ops/infra/git/commits/") && strings.HasSuffix(p, ".diff"):
			var b strings.Builder
			b.WriteString(pemPatch)
			for _, l := range splitLines(pemFile()) {
				b.WriteString("+" + l)
			}
			w.Write([]byte(b.String()))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitea) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.reqs...)
}

func testServer(t *testing.T, g *fakeGitea) *Server {
	f, err := forge.New(t.Context(), forge.Options{URL: g.srv.URL, MirrorDir: t.TempDir()})
	require.NoError(t, err)
	return &Server{Forge: f}
}

// run calls one tool's handler as the binder would (without masking the
// result: the test sees what the handler itself lets out).
func run(t *testing.T, s *Server, name string, args map[string]any, header http.Header) (*tool.Result, error) {
	t.Helper()
	raw, err := json.Marshal(args)
	require.NoError(t, err)
	for _, tl := range s.Tools() {
		if tl.Name == name {
			return tl.Handler(context.Background(), &tool.Call{Tool: name, Args: raw, Header: header})
		}
	}
	t.Fatalf("no tool %s", name)
	return nil, nil
}

// TestPathAttacksSendNothing: every caller value that would reach a URL or
// a ref is checked by Gitea's and git's rules first; a refused one is an
// argument error that says what to fix, and no request leaves.
func TestPathAttacksSendNothing(t *testing.T) {
	g := newFakeGitea(t)
	s := testServer(t, g)
	attacks := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"gitea_file", map[string]any{"repo": "../../admin/users", "path": "x"}, "owner/name"},
		{"gitea_file", map[string]any{"repo": "ops/..", "path": "x"}, "reserved"},
		{"gitea_file", map[string]any{"repo": "ops/infra%2F..%2F..", "path": "x"}, "letters, digits"},
		{"gitea_file", map[string]any{"repo": "ops/infra.wiki", "path": "Home.md"}, ".wiki"},
		{"gitea_file", map[string]any{"repo": "o--ps/infra", "path": "x"}, "owner"},
		{"gitea_file", map[string]any{"repo": "ops/infra", "path": "../../../../api/v1/admin/users"}, `".." segments`},
		{"gitea_file", map[string]any{"repo": "ops/infra", "path": "/etc/passwd"}, "leading /"},
		{"gitea_file", map[string]any{"repo": "ops/infra", "path": "k8s/%2e%2e/%2e%2e/x"}, "%"},
		{"gitea_file", map[string]any{"repo": "ops/infra", "path": "a\x00b"}, "control"},
		{"gitea_file", map[string]any{"repo": "ops/infra", "path": "README.md", "ref": "../../../admin"}, "ref"},
		{"gitea_file", map[string]any{"repo": "ops/infra", "path": "README.md", "ref": "main?x=1"}, "ref"},
		{"gitea_tree", map[string]any{"repo": "ops/infra", "ref": "..%2F..%2Fadmin"}, "ref"},
		{"gitea_tree", map[string]any{"repo": "ops/infra", "path": "../x"}, "path"},
		{"gitea_commits", map[string]any{"repo": "ops/infra", "ref": "HEAD@{0}"}, "ref"},
		{"gitea_commits", map[string]any{"repo": "ops/infra", "path": "a/../../b"}, "path"},
		{"gitea_diff", map[string]any{"repo": "ops/infra", "commit": "../../../admin/users"}, "hex"},
		{"gitea_diff", map[string]any{"repo": "ops/infra", "commit": "abcd1234.patch?x="}, "hex"},
		{"gitea_diff", map[string]any{"repo": "ops/infra", "pull": -1}, "start at 1"},
		{"gitea_diff", map[string]any{"repo": "ops/infra", "base": "main", "head": "x..y"}, "head"},
		{"gitea_blame", map[string]any{"repo": "ops/infra", "path": "../x"}, "path"},
		{"gitea_blame", map[string]any{"repo": "ops/infra", "path": "x", "ref": "-x"}, "ref"},
		{"gitea_pulls", map[string]any{"repo": "ops/infra", "number": -5}, "start at 1"},
		{"gitea_issues", map[string]any{"repo": "ops/infra", "number": -5}, "start at 1"},
		{"gitea_refs", map[string]any{"repo": "ops/infra/../x"}, "owner/name"},
		{"gitea_iac", map[string]any{"repo": "ops/infra", "ref": "a b"}, "ref"},
		{"gitea_iac", map[string]any{"repo": "ops/infra", "path": "/k8s"}, "path"},
		{"gitea_search", map[string]any{"query": "x", "ref": "..", "repos": []string{"ops/infra"}}, "ref"},
	}
	for _, a := range attacks {
		_, err := run(t, s, a.tool, a.args, nil)
		require.Error(t, err, "%s %v", a.tool, a.args)
		assert.True(t, errors.Is(err, tool.ErrArgs), "%s %v: an argument error, got %v", a.tool, a.args, err)
		assert.Contains(t, err.Error(), a.want, "%s %v", a.tool, a.args)
	}
	assert.Empty(t, g.requests(), "no attack reached Gitea")
}

// TestFileRangeMasksWholeFile: a private key's body lines, each harmless
// alone, never come back from a line range of gitea_file.
func TestFileRangeMasksWholeFile(t *testing.T) {
	g := newFakeGitea(t)
	s := testServer(t, g)
	for _, rng := range [][2]int{{0, 0}, {5, 6}, {4, 8}, {6, 6}} {
		res, err := run(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "deploy/key.yaml", "start_line": rng[0], "end_line": rng[1]}, nil)
		require.NoError(t, err)
		out := res.Data.(FileOutput)
		for _, l := range pemBody {
			assert.NotContains(t, out.Content, l, "lines %v", rng)
		}
		assert.NotContains(t, out.Content, "Hunter2-planted-Pw")
		assert.Equal(t, 11, out.Lines)
	}
	res, err := run(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "deploy/key.yaml", "start_line": 9, "end_line": 9}, nil)
	require.NoError(t, err)
	assert.Equal(t, "after: 1\n", res.Data.(FileOutput).Content, "line numbers still point at the same lines")
}

// TestDiffMasksWholePatch: a key added in a commit is masked in the patch
// as a whole, not line by line.
func TestDiffMasksWholePatch(t *testing.T) {
	g := newFakeGitea(t)
	s := testServer(t, g)
	res, err := run(t, s, "gitea_diff", map[string]any{"repo": "ops/infra", "commit": "0123456789abcdef0123456789abcdef01234567"}, nil)
	require.NoError(t, err)
	out := res.Data.(DiffOutput)
	require.Len(t, out.Items, 1)
	for _, l := range pemBody {
		assert.NotContains(t, out.Items[0].Patch, l)
	}
	assert.Equal(t, 11, out.Additions, "counts are the patch's lines")
	assert.Contains(t, out.Items[0].Patch, "+after: 1\n")
}

// TestRequireCallerToken: with RequireCallerToken a call without its own
// X-Gitea-Token is refused before any request, instead of falling back to
// the server's broader token.
func TestRequireCallerToken(t *testing.T) {
	g := newFakeGitea(t)
	s := testServer(t, g)
	s.CallerTokens, s.RequireCallerToken = true, true
	for _, h := range []http.Header{nil, {}, {"X-Gitea-Token": {"  "}}} {
		for _, name := range []string{"gitea_repos", "gitea_file", "gitea_search"} {
			_, err := run(t, s, name, map[string]any{"repo": "ops/infra", "path": "README.md", "query": "x"}, h)
			require.Error(t, err, name)
			assert.True(t, errors.Is(err, tool.ErrDenied), "%s: %v", name, err)
			assert.Contains(t, err.Error(), "X-Gitea-Token", name)
		}
	}
	assert.Empty(t, g.requests(), "nothing went to Gitea with the server's token")
	_, err := run(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "README.md"}, http.Header{"X-Gitea-Token": {"callers-own"}})
	require.NoError(t, err)
}
