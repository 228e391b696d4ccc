package tools

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// verbPolicy has a role that may read logs but not objects, and one that
// may read objects but not logs, both through k8s_kubectl.
const verbPolicy = `roles:
  logsonly:
    tools: ["k8s_kubectl", "k8s_logs"]
  getonly:
    tools: ["k8s_kubectl", "k8s_get"]
`

// TestKubectlRunsTheCommandItsPolicyWasCheckedFor: the verb the policy
// is checked for (the mapped tool) must be the command kubectl runs. A
// flag before the verb that the verb finder reads as taking no value
// (-A, -p, --show-labels) was read by kubectl's command finder as taking
// the next word: "-A logs get pods" was checked as logs and ran get,
// "-p get logs p" was checked as get and read a pod's log.
func TestKubectlRunsTheCommandItsPolicyWasCheckedFor(t *testing.T) {
	api := newFakeAPI(t)
	api.logs = "secret-ish log line\n"
	s := api.server(t)
	for _, c := range []struct{ role, line string }{
		{"logsonly", "-A logs get pods -n web"},
		{"logsonly", "--show-labels logs get pods -n web"},
		{"logsonly", "-A logs get secrets -n web -o yaml"},
		{"getonly", "-p get logs p -n web"},
		{"getonly", "--previous get logs p -n web"},
	} {
		api.reset()
		res, err := s.kubectl(t.Context(), callAs(t, verbPolicy, "k8s_kubectl", c.role), KubectlInput{Command: c.line})
		if res != nil {
			assert.NotContains(t, res.Text, "secret-ish", c.line)
		}
		require.Error(t, err, c.line)
		assert.True(t, errors.Is(err, tool.ErrDenied) || errors.Is(err, tool.ErrArgs), "%s: %v", c.line, err)
		assert.Empty(t, api.requests(), c.line)
	}
	for _, c := range []struct{ role, line string }{
		{"logsonly", "logs p -n web -p"},
		{"getonly", "get pods -n web -A"},
		{"getonly", "-n web get pods"},
		{"logsonly", "-n web logs p"},
	} {
		_, err := s.kubectl(t.Context(), callAs(t, verbPolicy, "k8s_kubectl", c.role), KubectlInput{Command: c.line})
		require.NoError(t, err, c.line)
	}
}
