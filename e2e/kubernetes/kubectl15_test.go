package kubernetes_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKubectlNotSilentlyWrong: issue 15's silently wrong answers, against
// the real API server. Integer columns went through a float
// (2.000001e+09), --show-labels was accepted and the LABELS column
// missing, and rollout history answered with a describe-style dump.
func TestKubectlNotSilentlyWrong(t *testing.T) {
	s, _ := stdioSession(t)
	for _, r := range []result{
		mustCall(t, s, "k8s_kubectl", map[string]any{"command": "get priorityclasses"}),
		mustCall(t, s, "k8s_get", map[string]any{"resource": "priorityclasses"}),
	} {
		assert.Contains(t, r.Text, "2000001000")
		assert.Contains(t, r.Text, "2000000000")
		assert.NotContains(t, r.Text, "e+09")
	}
	r := mustCall(t, s, "k8s_kubectl", map[string]any{"command": "get pods -n team-a --show-labels"})
	header := strings.Fields(strings.SplitN(r.Text, "\n", 2)[0])
	assert.Equal(t, "LABELS", header[len(header)-1], r.Text)
	assert.Contains(t, r.Text, "app=web")
	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "get pods -n team-a -L app"})
	assert.Contains(t, strings.SplitN(r.Text, "\n", 2)[0], "APP")
	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "rollout history deploy/web -n team-a"})
	assert.Contains(t, r.Text, "deployment.apps/web")
	assert.Contains(t, r.Text, "REVISION")
	assert.Contains(t, r.Text, "CHANGE-CAUSE")
	assert.NotContains(t, r.Text, "Replicas:")
	r = mustCall(t, s, "k8s_kubectl", map[string]any{"command": "rollout history deploy/web -n team-a --revision 1"})
	assert.Contains(t, r.Text, "revision #1")
}

// TestKubectlNeverEndsTheServer: kubectl's own code ends the process in
// places (auth can-i answering no calls os.Exit(1); --sort-by on a field
// it cannot sort calls klog.Exitf); here each is an answer and the next
// call still works.
func TestKubectlNeverEndsTheServer(t *testing.T) {
	s, _ := stdioSession(t)
	r := call(t, s, "k8s_kubectl", map[string]any{"command": "auth can-i create pods -n team-a"})
	assert.Equal(t, "no", strings.TrimSpace(r.Text))
	r = call(t, s, "k8s_kubectl", map[string]any{"command": "get pods -n team-a --sort-by .spec.containers"})
	assert.True(t, r.IsError, r.Text)
	mustCall(t, s, "k8s_kubectl", map[string]any{"command": "auth can-i list pods -n team-a"})
}

// TestKubectlPrintersSeeOnlyMaskedObjects: every output format reads the
// object after the Guard masked it, so jsonpath, go-template with
// base64decode and custom-columns show a placeholder where the Secret's
// value was.
func TestKubectlPrintersSeeOnlyMaskedObjects(t *testing.T) {
	s, _ := stdioSession(t)
	r := mustCall(t, s, "k8s_kubectl", map[string]any{"command": "get secret db-creds -n team-a -o jsonpath={.data.password}"})
	// The base64 of the Guard's placeholder, or (the binder's text
	// masking sees base64) a placeholder of it.
	out := strings.TrimSpace(r.Text)
	if dec, err := base64.StdEncoding.DecodeString(out); err == nil {
		out = string(dec)
	}
	assert.True(t, strings.HasPrefix(out, "[MASKED"), out)
	for _, cmd := range []string{
		`get secret db-creds -n team-a -o go-template='{{index .data "password" | base64decode}}'`,
		"get secret db-creds -n team-a -o custom-columns=P:.data.password",
		"get deploy web -n team-a -o jsonpath={.spec.template.spec.containers[0].env}",
		"get secret db-creds -n team-a -o jsonpath={.metadata.annotations}",
		"describe secret db-creds -n team-a",
	} {
		r := mustCall(t, s, "k8s_kubectl", map[string]any{"command": cmd})
		for _, p := range append(secrets.all(), secrets.LastApplied) {
			assert.NotContains(t, r.Text, p, cmd)
			assert.NotContains(t, r.Text, base64.StdEncoding.EncodeToString([]byte(p)), cmd)
		}
	}
}

// TestKubectlScopesForEveryCommand: bob may read team-b only. Each new
// command is refused or filtered outside it, -A included (answered from
// team-b alone).
func TestKubectlScopesForEveryCommand(t *testing.T) {
	srv := startHTTP(t)
	bob := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(viewerToken)})
	r := call(t, bob, "k8s_kubectl", map[string]any{"command": "explain pods"})
	assert.True(t, r.IsError, "explain runs as k8s_api_resources, which bob may not call: %s", r.Text)
	for _, cmd := range []string{
		"get pods", "get pods -n team-a", "describe pods -n team-a", "describe node fake-node", "describe nodes", "get nodes",
		"events -n team-a", "top pod -n team-a", "top node", "cluster-info", "auth can-i list secrets -n team-a",
		"auth can-i list secrets -A", "get priorityclasses", "describe ns team-a", "get ns team-a -o yaml",
		"rollout history deploy/web -n team-a", "rollout status deploy/web -n team-a", "get deploy web -n team-a -o jsonpath={.metadata.name}",
	} {
		r := call(t, bob, "k8s_kubectl", map[string]any{"command": cmd})
		assert.True(t, r.IsError, "%s: %s", cmd, r.Text)
		assert.NotContains(t, r.Text, "db-creds", cmd)
	}
	for cmd, want := range map[string]string{
		"get pods -A":                    "api-",
		"get deploy -A -o wide":          "api",
		"get secrets -A":                 "api-key",
		"get events -A":                  "team-b",
		"events -A":                      "team-b",
		"describe deploy -A":             "team-b",
		"get ns":                         "team-b",
		"auth can-i list pods -n team-b": "yes",
		"get all -n team-b":              "deployment.apps/api",
	} {
		r := call(t, bob, "k8s_kubectl", map[string]any{"command": cmd})
		require.False(t, r.IsError, "%s: %s", cmd, r.Text)
		assert.Contains(t, r.Text, want, cmd)
		for _, other := range []string{"team-a", "kube-system", "bulk", "db-creds", "logger"} {
			assert.NotContains(t, r.Text, other, cmd)
		}
	}
}
