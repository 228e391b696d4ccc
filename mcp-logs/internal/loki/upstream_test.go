package loki

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// TestLokiFailuresAreLokis (issue 17): Loki refusing the server's
// credentials or failing is Loki's error, named with its address; a 400
// (the query) stays a Loki answer about the query.
func TestLokiFailuresAreLokis(t *testing.T) {
	for _, tc := range []struct {
		status   int
		upstream bool
		want     string
	}{
		{401, true, "401 unauthorized"},
		{403, true, "403 forbidden"},
		{503, true, "server error (HTTP 503)"},
		{400, false, "parse error"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "parse error at line 1", tc.status)
		}))
		c, err := New(Options{URL: srv.URL})
		require.NoError(t, err)
		_, err = c.FormatQuery(context.Background(), "{a=")
		srv.Close()
		require.Error(t, err)
		assert.Equal(t, tc.upstream, tool.IsUpstream(err), "%d: %v", tc.status, err)
		assert.Contains(t, err.Error(), tc.want)
		var le *Error
		assert.True(t, errors.As(err, &le), "the Loki answer stays reachable: %v", err)
		if tc.upstream {
			assert.Contains(t, err.Error(), "Loki at "+srv.URL)
		}
	}
	// Down: refused, named.
	c, err := New(Options{URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	err = c.Ready(context.Background())
	assert.True(t, tool.IsUpstream(err))
	assert.Contains(t, err.Error(), "Loki at http://127.0.0.1:1 is unreachable: connection refused")
}

// TestLokiErrorBodyCutDropsPartialWord: Loki's error body is kept to 4 KiB
// before it is masked, so a token the cut goes through must not come back
// as its first half, which no masking rule recognises.
func TestLokiErrorBodyCutDropsPartialWord(t *testing.T) {
	token := "ghp_" + strings.Repeat("Ab1", 12)
	for _, status := range []int{400, 503} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, strings.Repeat("x ", 2040)+"near "+token+" end") // the token spans byte 4096
		}))
		c, err := New(Options{URL: srv.URL})
		require.NoError(t, err)
		_, err = c.FormatQuery(context.Background(), "{a=")
		srv.Close()
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "ghp_", "%d: half a token came back", status)
		if status == 400 {
			assert.Contains(t, err.Error(), "x near …", "the whole words before the cut stay")
		}
	}
}
