package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
	git  http.Handler // git's smart HTTP for /owner/name.git, when set
}

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
		case g.git != nil && strings.Contains(p, ".git/"):
			g.git.ServeHTTP(w, r)
		case p == "/api/v1/repos/ops/moved":
			http.Redirect(w, r, "/api/v1/repos/secret/vault", http.StatusMovedPermanently)
		case p == "/api/v1/repos/secret/vault":
			json.NewEncoder(w).Encode(map[string]any{"id": 9, "full_name": "secret/vault", "name": "vault", "owner": map[string]any{"login": "secret"}, "default_branch": "main"})
		case p == "/api/v1/repos/search":
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "data": []map[string]any{{"id": 7, "full_name": "ops/infra", "name": "infra", "owner": map[string]any{"login": "ops"}, "default_branch": "main"}}})
		case p == "/api/v1/repos/ops/infra" || p == "/api/v1/repos/OPS/Infra":
			json.NewEncoder(w).Encode(map[string]any{"id": 7, "full_name": "ops/infra", "name": "infra", "owner": map[string]any{"login": "ops"}, "default_branch": "main"})
		case p == "/api/v1/repos/ops/infra/issues":
			json.NewEncoder(w).Encode([]map[string]any{{"number": 3, "title": "Rotate the DB password", "body": "it leaked: password: Issue-Probe-77\nrotate it", "state": "open"}})
		case p == "/api/v1/repos/ops/infra/raw/big.txt":
			line := []byte(strings.Repeat("a", 1023) + "\n")
			for i := 0; i < 17<<10; i++ {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		case strings.HasPrefix(p, "/api/v1/repos/ops/infra/raw/"):
			w.Write([]byte(pemFile()))
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

// TestMirrorToolsMaskWholeFiles: a long key whose middle line changed.
// The diff's hunk holds neither the BEGIN nor the END line, so a patch
// masked on its own would show the body lines around the change; the
// patch is cut from masked file contents instead. Blame and search read
// the masked file too.
func TestMirrorToolsMaskWholeFiles(t *testing.T) {
	root := t.TempDir()
	long := func(changed string) string {
		body := []string{}
		for i := 0; i < 16; i++ {
			body = append(body, fmt.Sprintf("MIIE%02dLongKeyBodyLine%s", i, strings.Repeat("Zm9v", 10)))
		}
		if changed != "" {
			body[8] = changed
		}
		return "-----BEGIN EC PRIVATE KEY-----\n" + strings.Join(body, "\n") + "\n-----END EC PRIVATE KEY-----\nafter: 1\n"
	}
	shas := bareRepo(t, root, "ops/infra", []map[string]string{
		{"README.md": "# infra\n", "key.pem": long("")},
		{"key.pem": long("MIIE08ChangedLine" + strings.Repeat("Y", 40))},
	})
	g := newFakeGitea(t)
	g.git = gitBackend(t, root)
	s := testServer(t, g)
	var all strings.Builder
	for _, args := range []map[string]any{
		{"repo": "ops/infra", "commit": shas[1]},
		{"repo": "ops/infra", "commit": shas[0]},
		{"repo": "ops/infra", "base": shas[0], "head": "main"},
	} {
		res, err := run(t, s, "gitea_diff", args, nil)
		require.NoError(t, err, "%v", args)
		out := res.Data.(DiffOutput)
		require.NotEmpty(t, out.Items)
		for _, f := range out.Items {
			all.WriteString(f.Patch)
		}
		if args["base"] != nil || args["commit"] == shas[1] {
			assert.Equal(t, []int{1, 1}, []int{out.Additions, out.Deletions}, "%v: counts are the patch's", args)
			assert.Contains(t, out.Items[0].Patch, "@@ -7,7 +7,7 @@", "the hunk is where the change is (file line 10)")
		}
	}
	res, err := run(t, s, "gitea_blame", map[string]any{"repo": "ops/infra", "path": "key.pem", "start_line": 5, "end_line": 19}, nil)
	require.NoError(t, err)
	for _, it := range res.Data.(BlameOutput).Items {
		all.WriteString(strings.Join(it.Lines, "\n"))
	}
	bl := res.Data.(BlameOutput).Items
	assert.Equal(t, "after: 1", bl[len(bl)-1].Lines[len(bl[len(bl)-1].Lines)-1], "blame lines stay aligned")
	for _, q := range []string{"LongKeyBody", "ChangedLine", "MIIE0"} {
		res, err := run(t, s, "gitea_search", map[string]any{"query": q}, nil)
		require.NoError(t, err)
		assert.Empty(t, res.Data.(SearchOutput).Items, q)
	}
	text := all.String()
	assert.NotContains(t, text, "LongKeyBodyLine")
	assert.NotContains(t, text, "ChangedLine")
	assert.Contains(t, text, "[MASKED:private-key:")
}

// TestRenamedOutOfScope: a name inside the allowlist and the caller's
// scope that Gitea resolves (by a rename or transfer redirect) to a
// repository outside them is refused by the name Gitea gives it; nothing
// of that repository is read.
func TestRenamedOutOfScope(t *testing.T) {
	g := newFakeGitea(t)
	f, err := forge.New(t.Context(), forge.Options{URL: g.srv.URL, MirrorDir: t.TempDir(), Repos: []string{"ops/*"}})
	require.NoError(t, err)
	s := &Server{Forge: f}
	_, err = run(t, s, "gitea_file", map[string]any{"repo": "ops/moved", "path": "README.md"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "repo secret/vault is not in this server's repository allowlist")
	for _, r := range g.requests() {
		assert.NotContains(t, r, "/raw/", "nothing read")
	}
}

// TestCallerTokenShape: a header that cannot be a token is refused before
// it is put into a request.
func TestCallerTokenShape(t *testing.T) {
	g := newFakeGitea(t)
	s := testServer(t, g)
	s.CallerTokens = true
	for _, bad := range []string{"a b", "tok\x00en", "tok\u00e9n", strings.Repeat("a", 4097)} {
		_, err := run(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "README.md"}, http.Header{"X-Gitea-Token": {bad}})
		require.Error(t, err)
		assert.True(t, errors.Is(err, tool.ErrArgs), "%q: %v", bad, err)
	}
	assert.Empty(t, g.requests())
}

// TestFileTooLarge: a file over the cap is refused after reading just
// past the cap, not read whole into memory.
func TestFileTooLarge(t *testing.T) {
	g := newFakeGitea(t)
	s := testServer(t, g)
	_, err := run(t, s, "gitea_file", map[string]any{"repo": "ops/infra", "path": "big.txt"}, nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, tool.ErrArgs))
	assert.Contains(t, err.Error(), "over 16 MiB")
}

// TestIssueQueryProbe: the keyword of gitea_issues matches masked text
// here; sent to Gitea, whose search reads the clear text, which issues
// match would confirm a guessed secret.
func TestIssueQueryProbe(t *testing.T) {
	g := newFakeGitea(t)
	s := testServer(t, g)
	count := func(q string) int {
		res, err := run(t, s, "gitea_issues", map[string]any{"repo": "ops/infra", "query": q}, nil)
		require.NoError(t, err)
		return len(res.Data.(IssuesOutput).Items)
	}
	for _, probe := range []string{"Issue-Probe-77", "issue-probe", "Probe-7", "password: I"} {
		assert.Zero(t, count(probe), probe)
	}
	assert.Equal(t, 1, count("rotate"))
	assert.Equal(t, 1, count("password: [masked"), "the keyword sees the masked text")
	for _, r := range g.requests() {
		assert.NotContains(t, strings.ToLower(r), "probe", "the keyword never went to Gitea: %s", r)
	}
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

// gitBackend serves the bare repositories under root as git's smart HTTP.
func gitBackend(t *testing.T, root string) http.Handler {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git is not installed: %v", err)
	}
	return &cgi.Handler{Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
}

// bareRepo makes root/full.git with one commit per file set on main and
// returns the commits' ids.
func bareRepo(t *testing.T, root, full string, commits []map[string]string) []string {
	t.Helper()
	work := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "HOME="+work, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	var shas []string
	for i, files := range commits {
		for name, body := range files {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(work, name), []byte(body), 0o644))
		}
		git("add", "-A")
		git("commit", "-q", "-m", fmt.Sprintf("step %d", i+1))
		shas = append(shas, git("rev-parse", "HEAD"))
	}
	dst := filepath.Join(root, full+".git")
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	git("clone", "-q", "--bare", work, dst)
	return shas
}
