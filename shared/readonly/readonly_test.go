package readonly

import (
	"errors"
	"net/http"
	"net/http/httptest"
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
