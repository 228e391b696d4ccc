package readonly

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOnlyReadsLeave: the upstream sees the reads and the declared read
// POST, never a refused request.
func TestOnlyReadsLeave(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
	}))
	defer srv.Close()
	c := &http.Client{Transport: Transport(http.DefaultTransport, "/review")}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, "CONNECT"} {
		req, _ := http.NewRequest(m, srv.URL+"/write", strings.NewReader("{}"))
		_, err := c.Do(req)
		require.Error(t, err, m)
		assert.True(t, errors.Is(err, ErrRefused), m)
	}
	for _, req := range []*http.Request{
		must(http.NewRequest(http.MethodGet, srv.URL+"/read", nil)),
		must(http.NewRequest(http.MethodHead, srv.URL+"/read", nil)),
		must(http.NewRequest(http.MethodPost, srv.URL+"/review", strings.NewReader("{}"))),
	} {
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.Equal(t, []string{"GET /read", "HEAD /read", "POST /review"}, got)
}

func must(r *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return r
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\nfunc f() { c.Delete(x) }\nfunc g() { c.List(x) }\nfunc h() { c.Create(review) }\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a_test.go"), []byte("package a\nfunc t() { c.Delete(x) }\n"), 0o644))
	hits, files, err := Scan(dir, regexp.MustCompile(`\.(Create|Delete)\(`), regexp.MustCompile(`Create\(review\)`))
	require.NoError(t, err)
	assert.Equal(t, 1, files, "test files are not read")
	require.Len(t, hits, 1)
	assert.Contains(t, hits[0], "a.go:2: func f() { c.Delete(x) }")
}

// TestPathsThatAreNotReads: a GET that walks to another endpoint, or
// reaches a process, never leaves.
func TestPathsThatAreNotReads(t *testing.T) {
	refused := []string{
		"/api/v1/namespaces/web/pods/../../kube-system/secrets",
		"/api/v1/namespaces/web/pods/x%2F..%2F..%2Fsecrets",
		"/api/v1/namespaces/web/pods/x%2e%2e",
		"/api/v1/namespaces/web/pods/x%5Cy",
		"/api/v1/namespaces/web/pods/x/proxy/admin/flush",
		"/api/v1/namespaces/web/pods/x/exec",
		"/api/v1/namespaces/web/pods/x/attach",
		"/api/v1/namespaces/web/pods/x/portforward",
		"/api/v1/namespaces/web/services/x/proxy",
		"/api/v1/namespaces/web/services/https:x:443/proxy/",
		"/api/v1/nodes/n1/proxy/configz",
		"/k8s/api/v1/nodes/n1/proxy",
		"/api/v1/proxy/nodes/n1",
		"/v1.41/containers/abc/attach",
		"/v1.41/containers/abc/attach/ws",
		"/v1.41/containers/abc/export",
		"/v1.41/containers/abc/archive",
		"/v1.41/exec/abc/json",
		"/v1.41/images/busybox/get",
		"/v1.41/images/get",
		"/v1.41/distribution/registry.example/img/json",
		"/containers/abc/attach",
		"/v1.41/services/x/../../distribution/r/img/json",
	}
	for _, p := range refused {
		r := &http.Request{Method: http.MethodGet, URL: mustURL(t, "http://up"+p), Header: http.Header{}}
		err := Check(r)
		assert.ErrorIs(t, err, ErrRefused, p)
	}
	ws := &http.Request{Method: http.MethodGet, URL: mustURL(t, "http://up/api/v1/namespaces/web/pods"), Header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}}
	assert.ErrorIs(t, Check(ws), ErrRefused, "upgrade")

	allowed := []string{
		"/api/v1/namespaces/web/pods",
		"/api/v1/namespaces/web/pods/x/log",
		"/api/v1/namespaces/proxy/pods/exec",
		"/apis/apps/v1/namespaces/web/deployments/api",
		"/api/v1/repos/ops/proxy/contents/exec/attach.yaml",
		"/api/v1/repos/ops/infra/git/commits/3f9a1c0b",
		"/v1.41/containers/abc/logs",
		"/v1.41/services/shop_web",
		"/loki/api/v1/query_range",
	}
	for _, p := range allowed {
		r := &http.Request{Method: http.MethodGet, URL: mustURL(t, "http://up"+p), Header: http.Header{}}
		assert.NoError(t, Check(r), p)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
