package kubernetes_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAttacksSendNoRequest replays issue 13's and 23's reproductions
// against the real API server, as an SRE (every tool, every namespace) and
// as the viewer (team-b only, no k8s_logs), through a server whose
// identity may get everything ("*", so the API server itself would let
// the proxy, exec and other-namespace requests through). Every one fails
// with a clear error, and the API server's audit log shows that none of
// them sent a request: the identity made only discovery requests, its
// startup self-check, and the one control call.
func TestAttacksSendNoRequest(t *testing.T) {
	const probe = "mcp-probe"
	cfg := newIdentity(t, probe, readEverything, nil)
	srv := startHTTP(t, "--kubeconfig", cfg)
	alice := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(sreToken)})
	bob := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(viewerToken)})
	kubeletBefore := len(kubelet.Requests())

	attacks := []struct {
		who  *mcp.ClientSession
		tool string
		args map[string]any
		want string
	}{
		// Issue 13.1: the table path built from the raw name and namespace.
		{bob, "k8s_get", map[string]any{"resource": "namespaces", "name": "team-a/secrets"}, `name "team-a/secrets" is not an object name`},
		{alice, "k8s_get", map[string]any{"resource": "namespaces", "name": "kube-system/secrets"}, "is not an object name"},
		{alice, "k8s_get", map[string]any{"resource": "namespaces", "name": "../nodes/fake-node/proxy/configz"}, "proxy subresource, which is refused"},
		{alice, "k8s_get", map[string]any{"resource": "pods", "namespace": "team-a", "name": "logger/proxy/admin/flush"}, "proxy subresource, which is refused"},
		{alice, "k8s_get", map[string]any{"resource": "secrets", "namespace": "team-b/../team-a"}, `namespace "team-b/../team-a" is not a namespace name`},
		{alice, "k8s_get", map[string]any{"resource": "pods/exec", "namespace": "team-a"}, "exec subresource, which is refused"},
		{alice, "k8s_get", map[string]any{"resource": "pods", "namespace": "team-a", "label_selector": "app in (web"}, "label_selector"},
		// A selector on a masked value would count it out, guess by guess.
		{alice, "k8s_get", map[string]any{"resource": "widgets", "namespace": "team-a", "field_selector": "spec.adminPassword=" + secrets.CRPassword}, "whose values are masked"},
		{alice, "k8s_kubectl", map[string]any{"command": "get pods -n team-a -l 'db-password in (a,b)'"}, "whose values are masked"},
		{alice, "k8s_describe", map[string]any{"resource": "pods", "namespace": "team-a", "name": "logger/exec"}, "exec subresource, which is refused"},
		{alice, "k8s_logs", map[string]any{"pod": "../../nodes/fake-node/proxy/logs", "namespace": "team-a"}, "proxy subresource, which is refused"},
		{alice, "k8s_logs", map[string]any{"pod": "logger", "namespace": "team-a", "container": "../../../nodes/fake-node/proxy/configz"}, "proxy subresource, which is refused"},
		{alice, "k8s_logs", map[string]any{"pod": "logger", "namespace": "team-a", "container": "App"}, `container "App" is not a container name`},
		{alice, "k8s_events", map[string]any{"namespace": "team-a", "object": "pod/logger/proxy"}, "proxy subresource, which is refused"},
		// Issue 13.2: subresources through kubectl, in every form.
		{alice, "k8s_kubectl", map[string]any{"command": "get pods/logger/proxy/admin/flush -n team-a"}, "proxy subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "get pods logger/proxy -n team-a"}, "proxy subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "get nodes/fake-node/proxy/configz"}, "proxy subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "get svc/web/proxy -n team-a"}, "proxy subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "get pods/logger/exec -n team-a"}, "exec subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "get pods/logger/attach -n team-a"}, "attach subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "get pods/logger/portforward -n team-a"}, "portforward subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "describe pods/logger/exec -n team-a"}, "exec subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "logs pods/logger/proxy -n team-a"}, "proxy subresource, which is refused"},
		{alice, "k8s_kubectl", map[string]any{"command": "get namespaces kube-system/secrets"}, "is not an object name"},
		// Issue 23: the viewer may not call k8s_logs, nor run it as kubectl.
		{bob, "k8s_kubectl", map[string]any{"command": "logs pod/logger -c app -n team-a"}, "kubectl logs runs as k8s_logs, which your role may not call"},
		{bob, "k8s_kubectl", map[string]any{"command": "logs pod/logger -c app -n team-b"}, "kubectl logs runs as k8s_logs, which your role may not call"},
		{bob, "k8s_kubectl", map[string]any{"command": "api-resources"}, "runs as k8s_api_resources"},
		{bob, "k8s_kubectl", map[string]any{"command": "get secrets -n team-a"}, `may not read namespace "team-a"`},
		{bob, "k8s_get", map[string]any{"resource": "namespaces", "name": "team-a", "output": "yaml"}, `may not read namespace "team-a"`},
	}
	for _, a := range attacks {
		r := call(t, a.who, a.tool, a.args)
		assert.True(t, r.IsError, "%s %v: %s", a.tool, a.args, r.Text)
		assert.Contains(t, r.Text, a.want, "%s %v", a.tool, a.args)
	}
	// The control: a call that does reach the API server, to show that the
	// audit log below would see the attacks' requests if there were any.
	r := mustCall(t, bob, "k8s_get", map[string]any{"resource": "configmaps", "namespace": "team-b"})
	assert.Equal(t, "ConfigMap", r.Data["kind"])

	var events []string
	controlSeen := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !controlSeen; time.Sleep(200 * time.Millisecond) {
		events = events[:0]
		for _, e := range auditOf(t, saUser(probe)) {
			events = append(events, e.Verb+" "+e.RequestURI)
			if e.ObjectRef != nil && e.ObjectRef.Resource == "configmaps" && e.ObjectRef.Namespace == "team-b" {
				controlSeen = true
			}
		}
	}
	require.True(t, controlSeen, "the control call is in the API server's audit log: %v", events)
	for _, e := range auditOf(t, saUser(probe)) {
		uri := e.RequestURI
		for _, bad := range []string{"..", "/proxy", "/exec", "/attach", "/portforward", "secrets", "team-a"} {
			assert.NotContains(t, uri, bad, "an attack reached the API server: %s %s", e.Verb, uri)
		}
		switch {
		case isDiscovery(uri):
		case e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Resource == "selfsubjectrulesreviews": // startup self-check
		case e.Verb == "list" && e.ObjectRef != nil && e.ObjectRef.Resource == "namespaces": // startup self-check
		case e.ObjectRef != nil && e.ObjectRef.Resource == "configmaps" && e.ObjectRef.Namespace == "team-b": // the control
		default:
			t.Errorf("unexpected request by the server's identity: %s %s", e.Verb, uri)
		}
	}
	// Nothing reached the node's kubelet either.
	assert.Len(t, kubelet.Requests(), kubeletBefore, "requests to the kubelet")

	// The server's own audit says which calls it denied, and its lines
	// are recorded for the final no-leak check.
	denied := 0
	for _, l := range auditLines(t, srv.Audit) {
		if l["outcome"] == "denied" {
			denied++
		}
	}
	assert.Equal(t, 23, denied, "the subresource and policy refusals are audited as denials, the bad names as errors")
}

// TestLogsGrepAndWindowsNeverRevealAMaskedValue: issue 13.3. grep runs on
// masked text, so its match count cannot recover a hidden value one
// character at a time, and no tail or byte limit cuts the planted private
// key so that a piece of it comes back in clear.
func TestLogsGrepAndWindowsNeverRevealAMaskedValue(t *testing.T) {
	s, audit := stdioSession(t, "--rate-limit", "0") // about 120 calls
	// Its audit lines join what the final test checks for the key.
	defer auditLines(t, audit)
	args := func(extra map[string]any) map[string]any {
		m := map[string]any{"pod": "logger", "namespace": "team-a", "container": "app"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	// The grep oracle: "Bearer " and one more known character of the token
	// matched once before masking ran first; now nothing matches.
	for k := 1; k <= 3; k++ {
		r := mustCall(t, s, "k8s_logs", args(map[string]any{"grep": regexp.QuoteMeta("Bearer " + secrets.LogToken[:len("logtok")+k])}))
		assert.Nil(t, r.Data["matched"], "grep on the token's first %d characters", len("logtok")+k)
		assert.Empty(t, r.Data["items"])
		assert.EqualValues(t, 13, r.Data["scanned"], "every line was read")
	}
	r := mustCall(t, s, "k8s_logs", args(map[string]any{"grep": "Bearer "}))
	assert.EqualValues(t, 1, r.Data["matched"], "the line is still found by what is in clear")
	assert.Contains(t, r.Text, "Bearer [MASKED:")

	// A key body line, or its first 12 characters, matches nothing.
	for _, l := range secrets.LogKeyBody {
		r := mustCall(t, s, "k8s_logs", args(map[string]any{"grep": regexp.QuoteMeta(l[:12])}))
		assert.Nil(t, r.Data["matched"])
	}
	r = mustCall(t, s, "k8s_logs", args(map[string]any{"grep": "MASKED:private-key"}))
	assert.EqualValues(t, 1, r.Data["matched"], "the key is one masked value")

	// Every tail window, each also cut by a byte limit: no piece of the key.
	for tail := 1; tail <= len(secrets.LogKeyBody)+14; tail++ {
		for _, limit := range []int{0, 150} {
			a := args(map[string]any{"tail": tail})
			if limit > 0 {
				a["limit_bytes"] = limit
			}
			r := mustCall(t, s, "k8s_logs", a)
			for _, l := range secrets.LogKeyBody {
				piece := l[:min(16, len(l))]
				assert.NotContains(t, r.Text, piece, "tail %d limit %d", tail, limit)
			}
		}
	}
}
