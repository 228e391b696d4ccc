package swarm_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestZZNoSecretLeftAnyServer runs last: nothing any server sent back in
// this run holds a planted secret.
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
