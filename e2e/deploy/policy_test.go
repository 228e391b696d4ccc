package deploy_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/opsmcp/opsmcp/e2e/deploy"
	"github.com/opsmcp/opsmcp/e2e/harness"
)

// overlays are the deployable Kustomize trees of the suite itself.
var overlays = []string{"overlays/mesh", "overlays/bridge", "overlays/mesh-read-secrets"}

func kube(dir string) string { return filepath.Join(harness.Root(), "deploy", "kubernetes", dir) }

func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := deploy.Render(dir)
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	return objs
}

// TestOverlaysPass: every overlay renders and breaks no rule; each server
// and the orchestrator have a Deployment, Service and ServiceAccount.
func TestOverlaysPass(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			objs := render(t, kube(o))
			assert.Empty(t, deploy.Violations(objs))
			for _, name := range suite {
				for _, kind := range []string{"Deployment", "Service", "ServiceAccount"} {
					obj := deploy.Find(objs, kind, name)
					if assert.NotNil(t, obj, "%s %s", kind, name) {
						assert.Equal(t, "opsmcp", obj.GetNamespace())
					}
				}
			}
			assert.NotNil(t, deploy.Find(objs, "PodDisruptionBudget", "mcp-orchestrator"))
		})
	}
}

// TestPolicyCatchesEachViolation: the checks are not vacuous; the bad
// fixture breaks each rule once and each is named.
func TestPolicyCatchesEachViolation(t *testing.T) {
	v := strings.Join(deploy.Violations(render(t, filepath.Join("testdata", "bad"))), "\n")
	for _, want := range []string{
		"Secret/committed: a Secret is committed",
		`ClusterRole/writer: verb "create" is not read-only`,
		"ClusterRoleBinding/writer: binds ServiceAccount bad",
		"Deployment/bad: 2 replicas and no PodDisruptionBudget",
		"Deployment/bad: hostNetwork is set",
		`Deployment/bad: seccompProfile is "", want RuntimeDefault`,
		"Deployment/bad: volume host is a hostPath",
		"Deployment/bad: container server may run as root",
		"Deployment/bad: container server has a writable root filesystem",
		"Deployment/bad: container server is privileged",
		"Deployment/bad: container server may escalate privileges",
		"Deployment/bad: container server keeps capabilities (drop ALL)",
		"Deployment/bad: container server adds capabilities [NET_ADMIN]",
		"Deployment/bad: container server has no cpu limit",
		`Deployment/bad: container server image "opsmcp/mcp-logs:latest" is not pinned`,
		"no default-deny NetworkPolicy",
	} {
		assert.Contains(t, v, want)
	}
	assert.NotContains(t, v, "no memory limit")
}

// TestMeshAndBridge: the overlays differ exactly where the runbook says:
// the orchestrator's Ollama endpoints, and the bridge's extra egress.
func TestMeshAndBridge(t *testing.T) {
	endpoints := func(objs []*unstructured.Unstructured) map[string]string {
		dep := deploy.Find(objs, "Deployment", "mcp-orchestrator")
		require.NotNil(t, dep)
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		ref, _, _ := unstructured.NestedString(containers[0].(map[string]any)["envFrom"].([]any)[0].(map[string]any), "configMapRef", "name")
		require.True(t, strings.HasPrefix(ref, "ollama-endpoints-"), "the Deployment names the generated ConfigMap (%s)", ref)
		cm := deploy.Find(objs, "ConfigMap", ref)
		require.NotNil(t, cm, "ConfigMap %s is rendered", ref)
		data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
		return data
	}
	mesh, bridge := render(t, kube("overlays/mesh")), render(t, kube("overlays/bridge"))
	assert.Equal(t, map[string]string{
		"OLLAMA_URL":           "http://10.77.114.21:11434",
		"OLLAMA_SECONDARY_URL": "http://10.77.114.22:11434",
		"OLLAMA_FALLBACK_URL":  "http://10.77.114.111:11434",
	}, endpoints(mesh))
	assert.Equal(t, map[string]string{
		"OLLAMA_URL":           "http://192.168.0.110:11435",
		"OLLAMA_SECONDARY_URL": "http://192.168.0.110:11436",
		"OLLAMA_FALLBACK_URL":  "http://192.168.0.111:11434",
	}, endpoints(bridge))

	cidrs := func(np *unstructured.Unstructured) []string {
		var out []string
		egress, _, _ := unstructured.NestedSlice(np.Object, "spec", "egress")
		for _, e := range egress {
			to, _, _ := unstructured.NestedSlice(e.(map[string]any), "to")
			for _, peer := range to {
				if c, ok, _ := unstructured.NestedString(peer.(map[string]any), "ipBlock", "cidr"); ok {
					out = append(out, c)
				}
			}
		}
		return out
	}
	meshNP := deploy.Find(mesh, "NetworkPolicy", "ollama-egress")
	require.NotNil(t, meshNP)
	assert.Equal(t, []string{"10.77.114.21/32", "10.77.114.22/32", "10.77.114.111/32"}, cidrs(meshNP))
	assert.Nil(t, deploy.Find(mesh, "NetworkPolicy", "ollama-egress-bridge"))
	bridgeNP := deploy.Find(bridge, "NetworkPolicy", "ollama-egress-bridge")
	require.NotNil(t, bridgeNP)
	assert.Equal(t, []string{"192.168.0.110/32", "192.168.0.111/32"}, cidrs(bridgeNP))
}

// TestSecretsOptIn: Secrets are readable only in the overlay that opts in.
func TestSecretsOptIn(t *testing.T) {
	resources := func(dir string) []string {
		role := deploy.Find(render(t, kube(dir)), "ClusterRole", "opsmcp-kubernetes-reader")
		require.NotNil(t, role)
		var out []string
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		for _, r := range rules {
			res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
			out = append(out, res...)
		}
		return out
	}
	assert.NotContains(t, resources("overlays/mesh"), "secrets")
	assert.NotContains(t, resources("overlays/bridge"), "secrets")
	assert.Contains(t, resources("overlays/mesh-read-secrets"), "secrets")
	assert.Contains(t, resources("overlays/mesh"), "pods/log")
}
