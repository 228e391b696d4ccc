package gitea_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestKeptListingHoldsEachCallersScope (red team of the kept listing):
// once a call with the server's token has filled the kept repository list,
// a caller whose role narrows "repos" searches only what the role allows
// (answered from the kept list: Gitea's access log shows no listing for
// it), and a caller with her own Gitea token gets her own listing (one
// request to Gitea), never the kept one with the private repository in it.
func TestKeptListingHoldsEachCallersScope(t *testing.T) {
	url, _ := httpServer(t, "mcp-gitea-kept", "sre-9a1e,alice,sre\ncarol-4c7d,carol,sre\nweb-3b8f,walt,web\n",
		"roles:\n  sre:\n    tools: [\"*\"]\n  web:\n    tools: [\"gitea_*\"]\n    scopes:\n      repos: [\"ops/site\"]\n",
		"--caller-tokens", "--mirror-ttl", "10m")
	search := func(s *mcp.ClientSession) []string {
		t.Helper()
		r := mustCall(t, s, "gitea_search", map[string]any{"query": "# ", "path": "README.md"})
		repos := field(items(r), "repo")
		slices.Sort(repos)
		return slices.Compact(repos)
	}

	alice := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient("sre-9a1e")})
	assert.Equal(t, []string{"ops/infra", "ops/site", "ops/vault"}, search(alice), "the server's token sees the private vault")

	mark := accessLen(t, forge)
	walt := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient("web-3b8f")})
	assert.Equal(t, []string{"ops/site"}, search(walt), "the web role's scope holds on the kept list")
	carolHTTP := &http.Client{Transport: giteaToken{token: carolToken, next: harness.Bearer{Token: "carol-4c7d", Next: http.DefaultTransport}}}
	carol := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: carolHTTP})
	assert.Equal(t, []string{"ops/infra", "ops/site"}, search(carol), "carol's own token does not see vault")

	// A request of the test's own, so every line before it is written.
	resp, err := http.Get(forge.URL + "/api/v1/repos/ops/site?kept-listing-sentinel=1")
	require.NoError(t, err)
	resp.Body.Close()
	listings := 0
	for _, l := range accessSince(t, forge, mark, "kept-listing-sentinel") {
		if strings.Contains(l, "/api/v1/repos/search") {
			listings++
		}
	}
	assert.Equal(t, 1, listings, "walt's search was answered from the kept list, carol's asked Gitea with her token")
}
