package forge

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadOnlyTransport: only GET leaves the API client's transport.
func TestReadOnlyTransport(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
	}))
	defer srv.Close()
	c := &http.Client{Transport: ReadOnly(http.DefaultTransport)}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, _ := http.NewRequest(m, srv.URL+"/api/v1/repos/o/r", nil)
		_, err := c.Do(req)
		require.Error(t, err, m)
	}
	resp, err := c.Get(srv.URL + "/api/v1/version")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"GET /api/v1/version"}, got)
}

// TestNoWriteCalls scans mcp-gitea's sources: no SDK call that creates,
// edits or deletes, and no git push.
func TestNoWriteCalls(t *testing.T) {
	bad := regexp.MustCompile(`\.(Create|Edit|Delete|Update|Merge|Transfer|Migrate|Submit|Dismiss)[A-Z]\w*\(|\.Push(Context)?\(|http\.Method(Post|Put|Patch|Delete)|receive-pack`)
	allowed := regexp.MustCompile(`MergeBase|SetContext|SetToken|SetHTTPClient|SetGiteaVersion|req\.Method != http\.MethodGet`)
	err := filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if bad.MatchString(line) && !allowed.MatchString(line) {
				t.Errorf("%s:%d: %s", p, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	require.NoError(t, err)
}

func TestAllowlist(t *testing.T) {
	f := &Forge{allow: []string{"ops/*", "web/api"}}
	for repo, want := range map[string]bool{"ops/infra": true, "OPS/Infra": true, "web/api": true, "web/site": false, "other/x": false} {
		assert.Equal(t, want, f.Allowed(repo), repo)
	}
	assert.True(t, (&Forge{}).Allowed("any/repo"), "no allowlist: what the token sees")
}
