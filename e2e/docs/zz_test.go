package docs_test

// The checks over everything the other tests did run last: this file's
// name sorts after every other test file.

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestZZNoSecretLeft: nothing any server or command sent back holds a
// planted secret.
func TestZZNoSecretLeft(t *testing.T) {
	seen.Add(docsProc.Tail(1 << 20))
	raw, err := os.ReadFile(auditPath)
	require.NoError(t, err)
	seen.Add(string(raw))
	assert.Contains(t, string(raw), `"tool":"docs_search"`)
	harness.AssertNoSecrets(t, &seen, append([]string{plantedPw, plantedToken}, pemBody...), 20000)
}

var accessLine = regexp.MustCompile(`^\S+ - (\S+) \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d+)`)

// TestZZGiteaSawOnlyFetches reads Gitea's own access log: mcp-docs' bots
// only fetched (GET, and git-upload-pack); they never pushed or wrote.
func TestZZGiteaSawOnlyFetches(t *testing.T) {
	lines, err := forge.AccessLog()
	require.NoError(t, err)
	fetches := 0
	for _, l := range lines[accessLogStart:] {
		m := accessLine.FindStringSubmatch(l)
		// docs-bot, and the bots of TestMirrorsRepointed's repositories.
		if m == nil || (m[1] != "docs-bot" && m[1] != "mirror-a-bot" && m[1] != "mirror-b-bot") {
			continue
		}
		switch method, uri := m[2], m[3]; {
		case method == "GET":
			assert.NotContains(t, uri, "git-receive-pack", l)
		case method == "POST" && strings.HasSuffix(strings.Split(uri, "?")[0], "/git-upload-pack"):
			fetches++
		default:
			t.Errorf("a write reached Gitea: %s", l)
		}
	}
	assert.GreaterOrEqual(t, fetches, 2, "the mirror cloned and fetched")
}
