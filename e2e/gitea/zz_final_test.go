package gitea_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestZZNoSecretLeftAnyServer runs last: nothing any server sent back in
// this run (results, texts, audit logs, stderr) holds a planted secret.
func TestZZNoSecretLeftAnyServer(t *testing.T) {
	harness.AssertNoSecrets(t, &seen, planted, 20000)
}

// accessLine is Gitea's access log format: host - identity [time] "METHOD URI PROTO" status ...
var accessLine = regexp.MustCompile(`^\S+ - (\S+) \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d+)`)

// TestZZGiteaSawOnlyReads reads Gitea's own access log: since the fixtures
// were made, every request by the servers' identities (mcp-reader, carol
// through her own token, auditor in the attack tests) was a GET, or git's
// fetch (POST git-upload-pack, which reads); never git-receive-pack (a
// push) or any other write; and none of the attack tests' paths (dot
// segments, encoded separators, the admin API) reached Gitea.
func TestZZGiteaSawOnlyReads(t *testing.T) {
	lines, err := forge.AccessLog()
	require.NoError(t, err)
	require.Greater(t, len(lines), accessLogStart)
	reads, fetches := 0, 0
	for _, l := range lines[accessLogStart:] {
		m := accessLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		who, method, uri := m[1], m[2], m[3]
		if who != "mcp-reader" && who != "carol" && who != "auditor" {
			continue
		}
		upath, _, _ := strings.Cut(uri, "?")
		for _, bad := range []string{"/..", "%2F", "%2f", "%5C", "%5c", "%2E", "%2e", "/admin/", "@{", ".wiki"} {
			assert.NotContains(t, upath, bad, "an attack reached Gitea: %s", l)
		}
		switch {
		case method == "GET":
			reads++
			assert.NotContains(t, uri, "git-receive-pack", l)
		case method == "POST" && strings.HasSuffix(strings.Split(uri, "?")[0], "/git-upload-pack"):
			fetches++
		default:
			t.Errorf("a write reached Gitea: %s", l)
		}
	}
	assert.Greater(t, reads, 50, "the servers read through the API")
	assert.Positive(t, fetches, "the mirrors fetched")
}
