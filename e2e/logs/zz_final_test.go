package logs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// TestZZNoSecretLeftAnyServer runs last (go test runs tests in file
// order): nothing any server sent back in this run (results, texts, audit
// logs, stderr) holds a planted secret.
//
// planted() holds issue 13's forms too: the JSON password a line_format
// printed bare, the AWS secret a forged cursor started inside, and the
// PEM key spread over a file's continuation lines. This checks those forms
// were exercised in this run (their refusals and masked forms came back),
// so their absence is a result, not an accident.
func TestZZNoSecretLeftAnyServer(t *testing.T) {
	all := seen.String()
	for _, form := range []string{
		"| line_format is refused",       // {{.password}} and b64enc on Loki
		`\"password\":\"[MASKED:`,        // the same field, masked, where it is allowed
		"AWS_SECRET_ACCESS_KEY=[MASKED:", // the assignment forged cursors aimed into
		"[MASKED:private-key:",           // the PEM key over continuation lines
		"invalid cursor",                 // forged cursors refused
		"may not read Loki namespace",    // the namespace scope on Loki
	} {
		assert.Contains(t, all, form, "issue 13's form was exercised")
	}
	harness.AssertNoSecrets(t, &seen, planted(), 10000)
}

// TestZZLokiOnlyServedReads reads Loki's own request metrics: since the
// fixtures were pushed, every request any server under test made was a
// GET. The only pushes are the paging test's own late arrivals.
func TestZZLokiOnlyServedReads(t *testing.T) {
	after, err := loki.Requests(context.Background())
	require.NoError(t, err)
	reads := 0
	for k, n := range after {
		d := n - before[k]
		if d == 0 || strings.HasPrefix(k, "gRPC ") {
			continue
		}
		method, route, _ := strings.Cut(k, " ")
		if route == "loki_api_v1_push 204" {
			assert.LessOrEqual(t, d, 200, "only the paging test's late arrivals were pushed")
			continue
		}
		assert.Equal(t, "GET", method, "request %s (%d times)", k, d)
		reads += d
	}
	assert.Greater(t, reads, 50, "the servers did read")
}
