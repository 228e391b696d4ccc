package swarm_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestZZNoSecretLeftAnyServer runs last: nothing any server sent back in
// this run holds a planted secret, among them billing_pay's DB_PASSWORD
// before and after its update (the env diff), its --db-password argument
// before and after, the body of the key it logs, and the standalone
// container's password.
func TestZZNoSecretLeftAnyServer(t *testing.T) {
	harness.AssertNoSecrets(t, &seen, planted, 10000)
}

// TestZZEngineSawOnlyReads reads dockerd's own debug log: since the
// fixtures were made, every API call was a GET or a HEAD.
func TestZZEngineSawOnlyReads(t *testing.T) {
	calls, err := sw.Calls(logStart)
	require.NoError(t, err)
	require.Greater(t, len(calls), 20, "the servers called the engine")
	for _, c := range calls {
		method, _, _ := strings.Cut(c, " ")
		assert.Contains(t, []string{"GET", "HEAD"}, method, c)
	}
}

// TestZZProxySawOnlyPlainReads reads the recording proxy every server
// under test reached the engine through: every request of the whole run
// was a GET or HEAD, and none had a path that climbs (..), is encoded to
// hide a separator, reaches a container, a registry (distribution), or
// attaches, execs, exports or archives.
func TestZZProxySawOnlyPlainReads(t *testing.T) {
	reqs := rec.Requests()
	require.Greater(t, len(reqs), 20, "the servers called the engine through the proxy")
	assertCleanRequests(t, reqs)
}
