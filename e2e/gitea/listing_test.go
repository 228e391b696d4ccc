package gitea_test

import (
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSearchKeepsTheServersListingForTheTTL: with the server's own token,
// gitea_search reuses the repository list for --mirror-ttl (issue 21: the
// list was 87% of a warm search). A repository made meanwhile is searched
// once the list is older than the TTL, and gitea_repos always asks Gitea.
// Callers' own tokens are asked every time (TestHTTPCallerTokensAndPolicy).
func TestSearchKeepsTheServersListingForTheTTL(t *testing.T) {
	setupLab(t)
	const ttl = 8 * time.Second
	s := labSession(t, forge.URL, lab.token, t.TempDir(), "--mirror-ttl", ttl.String())
	const marker = "Listing-marker-5150"
	start := time.Now()
	first := mustCall(t, s, "gitea_search", map[string]any{"query": marker})
	assert.Empty(t, items(first))

	// One request, so the list is surely younger than the TTL below: Gitea
	// writes the description into the README it makes.
	_, _, err := lab.admin.AdminCreateRepo("auditor", gitea.CreateRepoOption{Name: "late", Private: true, Description: marker, AutoInit: true, Readme: "Default", DefaultBranch: "main"})
	require.NoError(t, err)
	mark := accessLen(t, forge)
	cached := mustCall(t, s, "gitea_search", map[string]any{"query": marker})
	require.Less(t, time.Since(start), ttl, "the machine took longer than the TTL; nothing below can be judged")
	assert.Empty(t, items(cached), "the list is younger than the TTL: the new repository is not in it yet")
	_, _, err = lab.admin.GetRepo("auditor", "late") // a line in the access log after the call
	require.NoError(t, err)
	for _, l := range accessSince(t, forge, mark, "/api/v1/repos/auditor/late") {
		assert.NotContains(t, l, "/api/v1/repos/search", "the search asked Gitea for the list again: %s", l)
	}

	refreshed := time.Now()
	repos := mustCall(t, s, "gitea_repos", map[string]any{})
	assert.Contains(t, field(items(repos), "name"), "auditor/late", "gitea_repos asks Gitea every time")

	time.Sleep(time.Until(refreshed.Add(ttl + 500*time.Millisecond))) // gitea_repos kept its list
	mark = accessLen(t, forge)
	later := mustCall(t, s, "gitea_search", map[string]any{"query": marker})
	assert.Equal(t, []string{"auditor/late"}, field(items(later), "repo"))
	asked := false
	for _, l := range accessSince(t, forge, mark, "/auditor/late.git") {
		asked = asked || strings.Contains(l, "/api/v1/repos/search")
	}
	assert.True(t, asked, "a list older than the TTL is asked for again")
}
