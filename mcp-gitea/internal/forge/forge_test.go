package forge

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

// TestNoWriteCalls scans mcp-gitea's sources: no SDK call that creates,
// edits or deletes, and no git push.
func TestNoWriteCalls(t *testing.T) {
	bad := regexp.MustCompile(`\.(Create|Edit|Delete|Update|Merge|Transfer|Migrate|Submit|Dismiss)[A-Z]\w*\(|\.Push(Context)?\(|http\.Method(Post|Put|Patch|Delete)|receive-pack`)
	// Allowed: names that only look like writes, comments, and the git
	// transport's own guard lines (which refuse receive-pack and declare
	// upload-pack's POST a read).
	allowed := regexp.MustCompile(`MergeBase|SetContext|SetToken|SetHTTPClient|SetGiteaVersion|^\s*//|, "receive-pack"\) \{$|git receive-pack is a push"|^\s*if r\.Method == http\.MethodPost && strings\.HasSuffix\(r\.URL\.Path, "/git-upload-pack"\) \{$`)
	hits, files, err := readonly.Scan("../..", bad, allowed)
	require.NoError(t, err)
	assert.Empty(t, hits, "write calls")
	assert.Greater(t, files, 5)
}

func TestAllowlist(t *testing.T) {
	f := &Forge{allow: []string{"ops/*", "web/api"}}
	for repo, want := range map[string]bool{"ops/infra": true, "OPS/Infra": true, "web/api": true, "web/site": false, "other/x": false} {
		assert.Equal(t, want, f.Allowed(repo), repo)
	}
	assert.True(t, (&Forge{}).Allowed("any/repo"), "no allowlist: what the token sees")
}

// TestUsesReadOnlyTransport: the client's requests go through the shared
// read-only transport (tested in shared/readonly), so a write never leaves.
func TestUsesReadOnlyTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/version" {
			w.Write([]byte(`{"version":"1.26.0"}`))
			return
		}
		t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
	}))
	defer srv.Close()
	f, err := New(t.Context(), Options{URL: srv.URL, MirrorDir: t.TempDir()})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/repos/o/r", nil)
	_, err = f.http.Do(req)
	assert.ErrorIs(t, err, readonly.ErrRefused)
	cl, err := f.Client(t.Context(), "")
	require.NoError(t, err)
	_, err = cl.DeleteRepo("o", "r") // a write through the SDK never reaches the server
	assert.ErrorIs(t, err, readonly.ErrRefused)
}

// TestRedirectStaysAtGitea: an answer that redirects elsewhere is not
// followed (no request, and no token, leaves for the other host).
func TestRedirectStaysAtGitea(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other host got %s %s (Authorization %q)", r.Method, r.URL, r.Header.Get("Authorization"))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/version":
			w.Write([]byte(`{"version":"1.26.0"}`))
		case "/api/v1/repos/ops/old":
			http.Redirect(w, r, "/api/v1/repos/ops/new", http.StatusMovedPermanently)
		case "/api/v1/repos/ops/new":
			w.Write([]byte(`{"id":3,"full_name":"ops/new","default_branch":"main"}`))
		default:
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		}
	}))
	defer srv.Close()
	f, err := New(t.Context(), Options{URL: srv.URL, Token: "server-token", MirrorDir: t.TempDir()})
	require.NoError(t, err)
	r, err := f.Resolve(t.Context(), "", "ops", "old")
	require.NoError(t, err, "a redirect within Gitea (a renamed repository) is followed")
	assert.Equal(t, "ops/new", r.FullName)
	_, err = f.Resolve(t.Context(), "", "ops", "elsewhere")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not followed")
}

// TestGitTransportOnlyFetches: the mirrors' git traffic passes the same
// read-only rules, with a fetch's POST to git-upload-pack the only write
// method let through; a push (receive-pack) never leaves, not even its
// GET advertisement.
func TestGitTransportOnlyFetches(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI())
	}))
	defer srv.Close()
	tr := gitTransport{next: http.DefaultTransport}
	do := func(method, path string) error {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		res, err := tr.RoundTrip(req)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	assert.NoError(t, do(http.MethodGet, "/ops/infra.git/info/refs?service=git-upload-pack"))
	assert.NoError(t, do(http.MethodPost, "/ops/infra.git/git-upload-pack"))
	for _, bad := range [][2]string{
		{http.MethodPost, "/ops/infra.git/git-receive-pack"},
		{http.MethodGet, "/ops/infra.git/info/refs?service=git-receive-pack"},
		{http.MethodPost, "/api/v1/repos/ops/infra/git-upload-pack/../../../admin"},
		{http.MethodPost, "/ops/infra.git/other"},
		{http.MethodPut, "/ops/infra.git/git-upload-pack"},
	} {
		assert.ErrorIs(t, do(bad[0], bad[1]), readonly.ErrRefused, "%v", bad)
	}
	assert.Equal(t, []string{"GET /ops/infra.git/info/refs?service=git-upload-pack", "POST /ops/infra.git/git-upload-pack"}, got)
}
