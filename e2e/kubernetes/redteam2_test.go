package kubernetes_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAllNamespacesStaysInScope: a caller limited to team-b who lists
// across all namespaces (k8s_get all_namespaces, kubectl get -A) must
// learn nothing about other namespaces. The API server's continue token
// names the last object it read ("team-a/db-creds"), so paging one row at a
// time through a cluster-wide list spelt out every Secret name of every
// namespace, and empty pages counted them. The list is now made only in
// the namespaces the caller may read: the API server's audit log shows no
// cluster-wide list, and no token or row names another namespace.
func TestAllNamespacesStaysInScope(t *testing.T) {
	const probe = "mcp-redteam2-ns"
	cfg := newIdentity(t, probe, readEverything, nil)
	srv := startHTTP(t, "--kubeconfig", cfg)
	bob := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(viewerToken)})

	var seenText []string
	rows := 0
	for _, output := range []string{"table", "json", "name"} {
		cont := ""
		for page := 0; page < 12; page++ {
			args := map[string]any{"resource": "secrets", "all_namespaces": true, "limit": 1, "output": output}
			if cont != "" {
				args["continue"] = cont
			}
			r := mustCall(t, bob, "k8s_get", args)
			seenText = append(seenText, r.Text)
			items, _ := r.Data["items"].([]any)
			rows += len(items)
			cont, _ = r.Data["continue"].(string)
			if cont == "" {
				break
			}
			seenText = append(seenText, cont)
			if b, err := base64.RawURLEncoding.DecodeString(cont); err == nil {
				seenText = append(seenText, string(b))
			}
			if b, err := base64.StdEncoding.DecodeString(cont); err == nil {
				seenText = append(seenText, string(b))
			}
		}
	}
	assert.Positive(t, rows, "team-b's own Secret is listed")
	r := mustCall(t, bob, "k8s_kubectl", map[string]any{"command": "get secrets -A --chunk-size 1"})
	seenText = append(seenText, r.Text)
	assert.Contains(t, r.Text, "api-key", "team-b's Secret is listed by kubectl get -A")
	ev := mustCall(t, bob, "k8s_events", map[string]any{"all_namespaces": true})
	seenText = append(seenText, ev.Text)
	// Describing the namespace itself (cluster-scoped) read its events
	// across the cluster.
	d := mustCall(t, bob, "k8s_describe", map[string]any{"resource": "namespaces", "name": "team-b"})
	seenText = append(seenText, d.Text)
	for _, s := range seenText {
		for _, other := range []string{"team-a", "db-creds", "kube-system", "bulk"} {
			assert.NotContains(t, s, other, "a list across all namespaces told team-b's viewer about another namespace")
		}
	}

	// The API server was asked only about team-b (and the namespace list
	// the server reads to know which namespaces exist).
	deadline := time.Now().Add(20 * time.Second)
	var uris []string
	for time.Now().Before(deadline) {
		uris = uris[:0]
		seenB := false
		for _, e := range auditOf(t, saUser(probe)) {
			uris = append(uris, e.Verb+" "+e.RequestURI)
			if e.ObjectRef != nil && e.ObjectRef.Resource == "events" && e.ObjectRef.Namespace == "team-b" {
				seenB = true
			}
		}
		if seenB {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NotEmpty(t, uris)
	for _, u := range uris {
		verbURI := strings.SplitN(u, " ", 2)
		uri := verbURI[1]
		if isDiscovery(uri) || strings.HasPrefix(uri, "/api/v1/namespaces?") || uri == "/api/v1/namespaces" ||
			strings.HasPrefix(uri, "/apis/authorization.k8s.io/") || uri == "/readyz" || uri == "/version" || strings.SplitN(uri, "?", 2)[0] == "/api/v1/namespaces/team-b" {
			continue
		}
		assert.True(t, strings.HasPrefix(uri, "/api/v1/namespaces/team-b/"), "the server's identity read outside team-b for team-b's viewer: %s", u)
	}
}
