// Package deploy renders the Kustomize trees under deploy/ with
// Kustomize's Go API and checks the rendered objects against the suite's
// deployment policy (non-root, read-only root, limits, no host access,
// pinned images, default-deny networking, one read-only ClusterRole).
package deploy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Render builds the kustomization in dir, as `kustomize build dir` would.
func Render(dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range m.Resources() {
		// Through JSON, so numbers are int64 as the client libraries expect.
		raw, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// Find returns the object of kind and name, or nil.
func Find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

var readVerbs = []string{"get", "list", "watch"}

// Violations lists every way objs break the deployment policy, one line
// each, naming the object.
func Violations(objs []*unstructured.Unstructured) []string {
	var v []string
	add := func(o *unstructured.Unstructured, format string, args ...any) {
		v = append(v, fmt.Sprintf("%s/%s: %s", o.GetKind(), o.GetName(), fmt.Sprintf(format, args...)))
	}
	clusterRoles, defaultDeny := 0, false
	pdbs := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "PodDisruptionBudget" {
			labels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
			pdbs[o.GetNamespace()+"/"+labels["app.kubernetes.io/name"]] = true
		}
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "Secret":
			add(o, "a Secret is committed; reference it and create it out of band")
		case "ClusterRole", "Role":
			clusterRoles++
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			for _, r := range rules {
				verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
				for _, verb := range verbs {
					if !slices.Contains(readVerbs, verb) {
						add(o, "verb %q is not read-only", verb)
					}
				}
			}
		case "ClusterRoleBinding", "RoleBinding":
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, sub := range subjects {
				sub := sub.(map[string]any)
				if sub["kind"] != "ServiceAccount" || sub["name"] != "mcp-kubernetes" {
					add(o, "binds %v %v: only mcp-kubernetes' ServiceAccount gets a role", sub["kind"], sub["name"])
				}
			}
		case "NetworkPolicy":
			sel, _, _ := unstructured.NestedMap(o.Object, "spec", "podSelector")
			types, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "policyTypes")
			_, hasIn := o.Object["spec"].(map[string]any)["ingress"]
			_, hasEg := o.Object["spec"].(map[string]any)["egress"]
			if len(sel) == 0 && slices.Contains(types, "Ingress") && slices.Contains(types, "Egress") && !hasIn && !hasEg {
				defaultDeny = true
			}
		case "Deployment", "StatefulSet", "DaemonSet":
			replicas, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
			if found && replicas > 1 && !pdbs[o.GetNamespace()+"/"+o.GetLabels()["app.kubernetes.io/name"]] {
				add(o, "%d replicas and no PodDisruptionBudget", replicas)
			}
			pod, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
			v = append(v, podViolations(o, pod)...)
		}
	}
	if clusterRoles > 1 {
		v = append(v, fmt.Sprintf("%d roles: only mcp-kubernetes' ClusterRole may exist", clusterRoles))
	}
	if !defaultDeny {
		v = append(v, "no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
	}
	return v
}

func podViolations(o *unstructured.Unstructured, pod map[string]any) []string {
	var v []string
	add := func(format string, args ...any) {
		v = append(v, fmt.Sprintf("%s/%s: %s", o.GetKind(), o.GetName(), fmt.Sprintf(format, args...)))
	}
	for _, host := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		if b, _, _ := unstructured.NestedBool(pod, host); b {
			add("%s is set", host)
		}
	}
	podNonRoot, _, _ := unstructured.NestedBool(pod, "securityContext", "runAsNonRoot")
	if sc, _, _ := unstructured.NestedString(pod, "securityContext", "seccompProfile", "type"); sc != "RuntimeDefault" {
		add("seccompProfile is %q, want RuntimeDefault", sc)
	}
	vols, _, _ := unstructured.NestedSlice(pod, "volumes")
	for _, vol := range vols {
		if _, ok := vol.(map[string]any)["hostPath"]; ok {
			add("volume %v is a hostPath", vol.(map[string]any)["name"])
		}
	}
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	inits, _, _ := unstructured.NestedSlice(pod, "initContainers")
	for _, c := range append(containers, inits...) {
		c := c.(map[string]any)
		name := c["name"]
		if nonRoot, found, _ := unstructured.NestedBool(c, "securityContext", "runAsNonRoot"); !(nonRoot || (!found && podNonRoot)) {
			add("container %v may run as root", name)
		}
		if ro, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !ro {
			add("container %v has a writable root filesystem", name)
		}
		if priv, _, _ := unstructured.NestedBool(c, "securityContext", "privileged"); priv {
			add("container %v is privileged", name)
		}
		if esc, found, _ := unstructured.NestedBool(c, "securityContext", "allowPrivilegeEscalation"); !found || esc {
			add("container %v may escalate privileges", name)
		}
		if drop, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop"); !slices.Contains(drop, "ALL") {
			add("container %v keeps capabilities (drop ALL)", name)
		}
		if add2, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "add"); len(add2) > 0 {
			add("container %v adds capabilities %v", name, add2)
		}
		for _, res := range []string{"cpu", "memory"} {
			if _, found, _ := unstructured.NestedFieldNoCopy(c, "resources", "limits", res); !found {
				add("container %v has no %s limit", name, res)
			}
		}
		if img, _ := c["image"].(string); !pinned(img) {
			add("container %v image %q is not pinned by tag or digest", name, img)
		}
	}
	return v
}

// pinned: a digest, or a tag other than latest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	last := path.Base(image)
	_, tag, ok := strings.Cut(last, ":")
	return ok && tag != "" && tag != "latest"
}
