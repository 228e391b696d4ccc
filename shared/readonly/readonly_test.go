package readonly

import (
	"errors"
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
