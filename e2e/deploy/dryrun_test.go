package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/opsmcp/opsmcp/e2e/deploy"
	"github.com/opsmcp/opsmcp/e2e/harness"
)

// warnings collects the API server's Warning headers (Pod Security
// "would violate" notes on workloads, deprecations).
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

// cluster is the admin's dynamic client and a REST mapper that learns
// the CRDs once they are installed.
type cluster struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	warn   *warnings
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	cfg := kubeAPI.RESTConfig(kubeAPI.AdminToken)
	w := &warnings{}
	cfg.WarningHandler = w
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)
	return &cluster{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), warn: w}
}

func (c *cluster) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return c.dyn.Resource(m.Resource), nil
}

// apply is a server-side apply as the admin; dryRun leaves nothing
// behind. Unknown or duplicate fields are errors (Strict).
func (c *cluster) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) error {
	ri, err := c.resource(obj)
	if err != nil {
		return err
	}
	body, err := json.Marshal(obj.Object)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "opsmcp-e2e", FieldValidation: "Strict", Force: ptr(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, opts)
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// installCRDs creates the CRDs of testdata/crds for real and waits until
// each is Established, then forgets the cached discovery.
func (c *cluster) installCRDs(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join("testdata", "crds", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var names []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(string(raw)), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); err != nil {
				break
			}
			if len(obj.Object) == 0 {
				continue
			}
			require.NoError(t, c.apply(ctx, obj, false), f)
			names = append(names, obj.GetName())
		}
	}
	crds := c.dyn.Resource(apiextCRD)
	for _, name := range names {
		require.Eventually(t, func() bool {
			crd, err := crds.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, cond := range conds {
				m := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true
				}
			}
			return false
		}, 30*time.Second, 100*time.Millisecond, "CRD %s established", name)
	}
	c.mapper.Reset()
	c.warn.take()
}

var apiextCRD = schemaGVR("apiextensions.k8s.io", "v1", "customresourcedefinitions")

// trees are every Kustomize tree under deploy/ that is applied to a
// cluster, overlays first.
var trees = []string{
	"kubernetes/overlays/mesh", "kubernetes/overlays/bridge", "kubernetes/overlays/mesh-read-secrets",
	"kubernetes/proxy/traefik", "gitops/flux", "gitops/models", "gitops/argocd",
}

// TestServerSideDryRun: every object of every tree is accepted by the
// API server itself (schemas, CRDs, strict fields, admission) without a
// warning, and each Deployment's pod passes Pod Security "restricted",
// which the opsmcp namespace enforces.
func TestServerSideDryRun(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.installCRDs(t)
	// Namespaces the trees live in exist for real (a namespaced dry-run
	// needs its namespace); flux-system and argocd belong to those tools.
	for _, ns := range []string{"flux-system", "argocd"} {
		require.NoError(t, c.apply(ctx, namespace(ns), false))
	}
	rendered := map[string][]*unstructured.Unstructured{}
	for _, tree := range trees {
		objs, err := deploy.Render(filepath.Join(harness.Root(), "deploy", tree))
		require.NoError(t, err)
		rendered[tree] = objs
		for _, o := range objs {
			if o.GetKind() == "Namespace" {
				require.NoError(t, c.apply(ctx, o, false))
			}
		}
	}
	c.warn.take()
	total := 0
	for _, tree := range trees {
		t.Run(tree, func(t *testing.T) {
			kinds := map[string]int{}
			for _, o := range rendered[tree] {
				assert.NoError(t, c.apply(ctx, o, true))
				assert.Empty(t, c.warn.take(), "warnings for %s %s", o.GetKind(), o.GetName())
				kinds[o.GetKind()]++
				total++
			}
			t.Logf("%s: %v", tree, kinds)
		})
	}
	assert.Greater(t, total, 60, "objects dry-run")

	// Pods as the Deployments would make them: Pod Security admission
	// judges pods, so dry-run each template as a Pod. The ServiceAccounts
	// must exist for the ServiceAccount admission plugin.
	for _, o := range rendered["kubernetes/overlays/mesh"] {
		if o.GetKind() == "ServiceAccount" {
			require.NoError(t, c.apply(ctx, o, false))
		}
	}
	pods := 0
	for _, o := range rendered["kubernetes/overlays/mesh"] {
		if o.GetKind() != "Deployment" {
			continue
		}
		pod := podFrom(t, o)
		assert.NoError(t, c.apply(ctx, pod, true), "pod of %s", o.GetName())
		assert.Empty(t, c.warn.take())
		pods++
	}
	assert.Equal(t, len(suite), pods)
}

// TestDryRunRefusesWhatIsWrong: the same path refuses an object with a
// field the CRD does not have (the operator design's `env`, where the
// published CRD says extraEnv) and a pod Pod Security forbids, so the
// acceptance above means something.
func TestDryRunRefusesWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.installCRDs(t)
	models, err := deploy.Render(filepath.Join(harness.Root(), "deploy", "gitops", "models"))
	require.NoError(t, err)
	for _, o := range models {
		if o.GetKind() == "Namespace" {
			require.NoError(t, c.apply(ctx, o, false))
		}
	}
	model := deploy.Find(models, "Model", "gemma3-4b").DeepCopy()
	env, _, _ := unstructured.NestedSlice(model.Object, "spec", "extraEnv")
	unstructured.RemoveNestedField(model.Object, "spec", "extraEnv")
	require.NoError(t, unstructured.SetNestedSlice(model.Object, env, "spec", "env"))
	err = c.apply(ctx, model, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ".spec.env: field not declared in schema")

	mesh, err := deploy.Render(filepath.Join(harness.Root(), "deploy", "kubernetes", "overlays", "mesh"))
	require.NoError(t, err)
	require.NoError(t, c.apply(ctx, deploy.Find(mesh, "Namespace", "opsmcp"), false))
	require.NoError(t, c.apply(ctx, deploy.Find(mesh, "ServiceAccount", "mcp-logs"), false))
	pod := podFrom(t, deploy.Find(mesh, "Deployment", "mcp-logs"))
	containers, _, _ := unstructured.NestedSlice(pod.Object, "spec", "containers")
	containers[0].(map[string]any)["securityContext"].(map[string]any)["allowPrivilegeEscalation"] = true
	require.NoError(t, unstructured.SetNestedSlice(pod.Object, containers, "spec", "containers"))
	err = c.apply(ctx, pod, true)
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Contains(t, err.Error(), `violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`)
}

// podFrom makes the Pod a Deployment's template describes.
func podFrom(t *testing.T, dep *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	tmpl, _, _ := unstructured.NestedMap(dep.Object, "spec", "template")
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": tmpl["metadata"], "spec": tmpl["spec"]}}
	pod.SetName(dep.GetName() + "-dry-run")
	pod.SetNamespace(dep.GetNamespace())
	var typed corev1.Pod
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(pod.Object, &typed), "the template is a valid pod spec")
	return pod
}

func namespace(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
}

func schemaGVR(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}
