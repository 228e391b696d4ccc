package kubernetes_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// These run last (file order): they read what every test before them left.

func TestZZNoPlantedSecretAnywhere(t *testing.T) {
	all := seen.String()
	require.Greater(t, len(all), 10000, "the tests recorded the servers' output")
	require.Contains(t, all, "[MASKED", "masking happened")
	for _, s := range secrets.all() {
		assert.False(t, strings.Contains(all, s), "planted secret %q leaked", s)
	}
}

func TestZZAPIServerSawOnlyReads(t *testing.T) {
	events, err := kube.AuditEvents()
	require.NoError(t, err)
	reads, others := 0, 0
	for _, e := range events {
		if e.User.Username != "mcp-reader" || e.Stage != "ResponseComplete" {
			continue
		}
		switch e.Verb {
		case "get", "list", "watch":
			reads++
		case "create":
			// SelfSubjectRulesReview: asks what the identity may do; the API
			// server stores nothing.
			if e.ObjectRef != nil && e.ObjectRef.APIGroup == "authorization.k8s.io" && e.ObjectRef.Resource == "selfsubjectrulesreviews" {
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
