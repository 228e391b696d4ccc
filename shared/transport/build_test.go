package transport

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
)

// TestSessionRequestsBuildNoServer (issue 21): the SDK asks for a server on
// every request only to read its protocol versions, and a server binds
// every tool (~870 KB for a 15-tool server). A request within a session
// must not build one: only initialize does, plus one version-only server
// for the handler's life. Calls still reach the session's own server, as
// its caller.
func TestSessionRequestsBuildNoServer(t *testing.T) {
	w := &whoami{}
	var builds atomic.Int64
	count := func(p auth.Principal, s string) *mcp.Server { builds.Add(1); return w.newServer(p, s) }
	toks, err := auth.ParseTokens([]byte(sessionTokens))
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(HTTPOptions{NewServer: count, Verifier: toks}))
	t.Cleanup(srv.Close)
	var sessions []*mcp.ClientSession
	for _, tok := range []string{"alice-tok", "bob-tok"} {
		sessions = append(sessions, connect(t, srv.URL, onBehalf{token: tok}))
	}
	before := builds.Load()
	var wg sync.WaitGroup
	for i, cs := range sessions {
		want := []string{"alice via ", "bob via "}[i]
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.Equal(t, want, callText(t, cs, context.Background()))
			}()
		}
	}
	wg.Wait()
	assert.LessOrEqual(t, builds.Load()-before, int64(1), "40 calls in two sessions built %d servers", builds.Load()-before)
	assert.Equal(t, 40, w.runs())
}
