package kubernetes_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// rt6NS is the red team's namespace of large ConfigMaps.
const rt6NS = "redteam6-mem"

// rt6Seed creates n ConfigMaps of 1 MB each in rt6NS (labelled g=i/3, so
// -l g=0 is 3 MB), deleted when the test ends.
func rt6Seed(t *testing.T, n int) {
	t.Helper()
	bigConfigMaps(t, rt6NS, n, func(i int) map[string]string { return map[string]string{"g": strconv.Itoa(i / 3)} })
}

// rt6Limited starts the HTTP server for a role limited to team-b and
// rt6NS (kubectl -A is answered one namespace at a time for it); its
// bearer token is "rt6-limited-token".
func rt6Limited(t *testing.T) *httpServer {
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("rt6-limited-token,mallory,limited\n"), 0o600))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte("roles:\n  limited:\n    tools: [\"*\"]\n    scopes:\n      namespaces: [\"team-b\", \""+rt6NS+"\"]\n"), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	audit := filepath.Join(dir, "audit.log")
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := harness.StartServer(t, &seen, dir, "mcp-kubernetes-rt6", url, binary, "--transport", "http",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", readerCfg, "--auth-tokens", tokens, "--policy", policy, "--audit-log", audit)
	return &httpServer{URL: url, Audit: audit, proc: p}
}

// rt6Session connects to srv with token.
func rt6Session(t *testing.T, srv *httpServer, token string) *mcp.ClientSession {
	t.Helper()
	return connect(t, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(token)})
}

// TestRedteam6MemoryGivenBackAfterEveryFailure: under GOMEMLIMIT=256MiB
// (128 MiB for answers, 16 MiB of answer at 8 bytes a byte) a 15 MB list
// takes nearly all of it. Calls that end every other way (refused as too
// large, kubectl's fatal error after the read, cancelled by the client
// mid-call, refused as busy beside seven others) must give back all they
// held: afterwards the same 15 MB list is answered again. A leak of even
// one call's partial read would leave the server refusing it as busy for
// good (a denial of service for every caller).
func TestRedteam6MemoryGivenBackAfterEveryFailure(t *testing.T) {
	rt6Seed(t, 24)
	t.Setenv("GOMEMLIMIT", "256MiB")
	srv := startHTTP(t)
	s := rt6Session(t, srv, sreToken)
	// g=i/3: fifteen of the 24 ConfigMaps.
	selected := "get configmaps -n " + rt6NS + " -l 'g in (0,1,2,3,4)'"
	full := map[string]any{"command": selected + " -o name"}

	r := call(t, s, "k8s_kubectl", full)
	require.False(t, r.IsError, r.Text)
	require.Equal(t, 15, strings.Count(r.Text, "configmap/cm-"), "the whole budget is free at the start")

	// Alone too large: a template that copies each item costs 17 a byte.
	r = call(t, s, "k8s_kubectl", map[string]any{"command": selected + " -o 'go-template={{range .items}}{{print .data}}{{end}}'"})
	assert.Contains(t, r.Text, "narrow the request")
	assert.NotContains(t, r.Text, "busy")

	// kubectl's sorter ends the process on an unsortable field: recovered
	// after the whole list was read.
	r = call(t, s, "k8s_kubectl", map[string]any{"command": selected + " -o name --sort-by=.data"})
	assert.True(t, r.IsError, r.Text)
	assert.Contains(t, r.Text, "could not complete this command")

	// Eight at once: each is answered or refused as busy, none as too large.
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := rt6Session(t, srv, sreToken)
			r := call(t, s, "k8s_kubectl", full)
			mu.Lock()
			defer mu.Unlock()
			if !r.IsError {
				answered++
				return
			}
			assert.Contains(t, r.Text, "retry in a moment", "refused only as busy")
		}()
	}
	wg.Wait()
	t.Logf("8 at once: %d answered", answered)

	// The client goes away while the server reads and prints.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "k8s_kubectl", Arguments: full})
	cancel()
	assert.Error(t, err, "cancelled by the client")

	// All given back: the whole list again (the cancelled call may still
	// be finishing its print for a moment).
	deadline := time.Now().Add(15 * time.Second)
	for tries := 1; ; tries++ {
		r = call(t, s, "k8s_kubectl", full)
		t.Logf("after: try %d answered: %v", tries, !r.IsError)
		if !r.IsError || time.Now().After(deadline) {
			break
		}
		require.Contains(t, r.Text, "retry in a moment", "refused only as busy")
		time.Sleep(500 * time.Millisecond)
	}
	require.False(t, r.IsError, "memory for answers was never given back: %s", r.Text)
	assert.Equal(t, 15, strings.Count(r.Text, "configmap/cm-"))
}
