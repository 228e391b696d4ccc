package kubernetes_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// These run last (file order): they read what every test before them left.

func TestZZNoPlantedSecretAnywhere(t *testing.T) {
	require.Contains(t, seen.String(), "[MASKED", "masking happened")
	require.Contains(t, seen.String(), "[MASKED:private-key:", "the planted key was read, and masked")
	require.NotEmpty(t, secrets.LogKeyBody)
	// secrets.all() holds the whole private key and each of its body lines.
	harness.AssertNoSecrets(t, &seen, secrets.all(), 10000)

	// Nor in the API server's own audit log (its request URIs and
	// messages).
	raw, err := os.ReadFile(kube.AuditLog)
	require.NoError(t, err)
	for _, p := range secrets.all() {
		assert.NotContains(t, string(raw), p)
	}
}

func TestZZAPIServerSawOnlyReads(t *testing.T) {
	events, err := kube.AuditEvents()
	require.NoError(t, err)
	reads, others := 0, 0
	for _, e := range events {
		// The reader, and the ServiceAccounts the identity and attack tests
		// made for the server.
		if (e.User.Username != "mcp-reader" && !strings.HasPrefix(e.User.Username, saUser("mcp-"))) || e.Stage != "ResponseComplete" {
			continue
		}
		switch e.Verb {
		case "get", "list", "watch":
			reads++
		case "create":
			// SelfSubjectRulesReview and SelfSubjectAccessReview (kubectl
			// auth can-i): ask what the identity may do; the API server
			// stores nothing. Nothing else.
			if e.ObjectRef != nil && e.ObjectRef.APIGroup == "authorization.k8s.io" &&
				(e.ObjectRef.Resource == "selfsubjectrulesreviews" || e.ObjectRef.Resource == "selfsubjectaccessreviews") {
				continue
			}
			others++
			t.Errorf("write by the server's identity: %s %s", e.Verb, e.RequestURI)
		default:
			others++
			t.Errorf("write by the server's identity: %s %s", e.Verb, e.RequestURI)
		}
	}
	assert.Greater(t, reads, 50, "the server's reads are in the audit log")
	assert.Zero(t, others)
}
