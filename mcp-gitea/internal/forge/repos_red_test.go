package forge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReposNeverAnswersACallerFromTheServersList (red team): the server's
// own token's list is kept for the TTL, but a call with a caller's token
// asks Gitea with that token every time, gets that token's answer only,
// and never replaces the kept list with it (a caller's narrower list
// would hide repositories from everyone; a wider one would widen the
// server's). Calls of both kinds at once stay apart (go test -race).
func TestReposNeverAnswersACallerFromTheServersList(t *testing.T) {
	var searches atomic.Int32
	lists := map[string]string{
		"token server-token": `[{"id":1,"full_name":"ops/app","name":"app","owner":{"login":"ops"}},{"id":2,"full_name":"ops/vault","name":"vault","owner":{"login":"ops"}}]`,
		"token caller-token": `[{"id":1,"full_name":"ops/app","name":"app","owner":{"login":"ops"}}]`,
		"token other-caller": `[{"id":3,"full_name":"dev/tool","name":"tool","owner":{"login":"dev"}}]`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/version":
			w.Write([]byte(`{"version":"1.26.0"}`))
		case "/api/v1/repos/search":
			searches.Add(1)
			list, ok := lists[r.Header.Get("Authorization")]
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, `{"ok":true,"data":%s}`, list)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	}))
	defer srv.Close()
	f, err := New(t.Context(), Options{URL: srv.URL, Token: "server-token", MirrorDir: t.TempDir(), MirrorTTL: time.Hour})
	require.NoError(t, err)
	names := func(rs []*gitea.Repository) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.FullName)
		}
		return out
	}
	server := []string{"ops/app", "ops/vault"}

	got, err := f.Repos(t.Context(), "", false)
	require.NoError(t, err)
	assert.Equal(t, server, names(got))
	assert.EqualValues(t, 1, searches.Load())

	got, err = f.Repos(t.Context(), "caller-token", false)
	require.NoError(t, err)
	assert.Equal(t, []string{"ops/app"}, names(got), "a caller's token gets its own list, not the kept one")
	assert.EqualValues(t, 2, searches.Load(), "a caller's token is asked every time")

	got, err = f.Repos(t.Context(), "", false)
	require.NoError(t, err)
	assert.Equal(t, server, names(got), "the caller's answer did not replace the server's list")
	assert.EqualValues(t, 2, searches.Load(), "the server's list is kept for the TTL")

	_, err = f.Repos(t.Context(), "revoked", false)
	assert.Error(t, err, "a refused caller token is refused, not answered from the kept list")

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			tok, want := "", server
			switch i % 3 {
			case 1:
				tok, want = "caller-token", []string{"ops/app"}
			case 2:
				tok, want = "other-caller", []string{"dev/tool"}
			}
			got, err := f.Repos(t.Context(), tok, i%4 == 0)
			if assert.NoError(t, err) {
				assert.Equal(t, want, names(got), "token %q", tok)
			}
		})
	}
	wg.Wait()
}
