package tools

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// DescribeInput are k8s_describe's arguments.
type DescribeInput struct {
	Resource  string `json:"resource" jsonschema:"resource type, e.g. pod, deploy, sts, node, or a CRD's name"`
	Name      string `json:"name" jsonschema:"the object's name"`
	Namespace string `json:"namespace,omitempty" jsonschema:"namespace (default: the context's namespace)"`
	Context   string `json:"context,omitempty" jsonschema:"kubeconfig context (default: the server's)"`
}

// DescribeOutput is k8s_describe's structured result.
type DescribeOutput struct {
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Namespace string         `json:"namespace,omitempty"`
	Status    map[string]any `json:"status" jsonschema:"the status that matters for this kind"`
	Object    map[string]any `json:"object" jsonschema:"the object, scrubbed"`
	Events    []Event        `json:"events" jsonschema:"recent events about the object, newest first"`
}

func (s *Server) describe(ctx context.Context, c *tool.Call, in DescribeInput) (*tool.Result, error) {
	return s.describeAs(ctx, direct(c), in)
}

func (s *Server) describeAs(ctx context.Context, a access, in DescribeInput) (*tool.Result, error) {
	if in.Name == "" {
		return nil, tool.Argf("name is required: which %s to describe?", in.Resource)
	}
	if err := checkResource(in.Resource); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name); err != nil {
		return nil, err
	}
	cl, res, ns, err := s.target(a, in.Context, in.Resource, in.Namespace, false)
	if err != nil {
		return nil, err
	}
	if err := checkNameFor("name", in.Name, res); err != nil {
		return nil, err
	}
	if isNamespaces(res) && !a.allows("namespaces", in.Name) {
		return nil, tool.Deniedf("your role may not read namespace %q (allowed: %s)", in.Name, strings.Join(a.patterns("namespaces"), ", "))
	}
	ri := cl.Dynamic.Resource(res.GVR)
	var obj *unstructured.Unstructured
	if res.Namespaced {
		obj, err = ri.Namespace(ns).Get(ctx, in.Name, metav1.GetOptions{})
	} else {
		obj, err = ri.Get(ctx, in.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("describe %s %s in %s: %w", strings.ToLower(res.Kind), in.Name, nsLabel(ns, res), err)
	}
	out := DescribeOutput{Kind: res.Kind, Name: in.Name, Namespace: ns, Object: Scrub(obj.Object)}
	out.Status = statusSummary(ctx, cl, ns, res.Kind, obj)

	// Events about this object, matched as kubectl describe does by kind
	// and name (emitters do not always set the uid).
	// The caller's name and the resolved kind, not the upstream's copies.
	sel := fields.Set{"involvedObject.name": in.Name, "involvedObject.kind": res.Kind}.String()
	// A cluster-scoped object's events may live in any namespace: only
	// those in the caller's scope show, and a caller limited to some
	// namespaces is answered from those alone, never from a list across
	// the cluster.
	evNS := []string{ns}
	if ns == "" && !a.everyNamespace() {
		if evNS, err = s.namespacesInScope(ctx, a, cl); err != nil {
			return nil, err
		}
	}
	var visible []corev1.Event
	for _, n := range evNS {
		events, err := cl.Typed.CoreV1().Events(n).List(ctx, metav1.ListOptions{FieldSelector: sel, Limit: 200})
		if err != nil {
			return nil, fmt.Errorf("events of %s %s: %w", strings.ToLower(res.Kind), in.Name, err)
		}
		for _, e := range events.Items {
			if a.allows("namespaces", e.Namespace) {
				visible = append(visible, e)
			}
		}
	}
	out.Events = foldEvents(visible, 20)
	text, err := s.describeText(ctx, a, cl, res, ns, in.Name)
	if err != nil {
		return nil, err
	}
	return &tool.Result{Data: out, Text: text}, nil
}

// describeText is kubectl describe's text for one object: kubectl's own
// describer, run as k8s_kubectl runs it (runGuarded: every answer masked
// before the describer reads it, the caller's namespaces held request by
// request), so that k8s_describe and "k8s_kubectl describe" print the
// same. A cluster-scoped object's events (a namespace's) are read from the
// caller's namespaces alone.
func (s *Server) describeText(ctx context.Context, a access, cl *kube.Cluster, res kube.Resource, ns, name string) (string, error) {
	// The name is checked, and after "--" it is never read as a flag.
	if err := checkObjectName("name", name); err != nil {
		return "", err
	}
	words := []string{"describe"}
	if res.Namespaced {
		words = append(words, "-n", ns)
	}
	words = append(words, "--", kubectlType(res), name)
	run, guard, err := s.runGuarded(ctx, a, cl, words, !res.Namespaced)
	if err != nil {
		return "", err
	}
	if run.code == 0 || run.msg == "" {
		return run.stdout + run.stderr, nil
	}
	msg := strings.TrimSpace(run.msg)
	if err := kubectlFailure(msg, guard, cl, a); err != nil {
		return "", err
	}
	// kubectl's describer could not print the object (a status of a shape
	// its types do not decode): its message, as kubectl prints it; the
	// structured result still holds what was read.
	return run.stdout + msg + "\n", nil
}

// kubectlType names res for kubectl unambiguously: RESOURCE.VERSION.GROUP,
// or the core type's plural.
func kubectlType(res kube.Resource) string {
	if res.GVR.Group == "" {
		return res.GVR.Resource
	}
	return res.GVR.Resource + "." + res.GVR.Version + "." + res.GVR.Group
}

// statusSummary picks what matters per kind; ns is the namespace the
// object was read from.
func statusSummary(ctx context.Context, cl *kube.Cluster, ns, kind string, obj *unstructured.Unstructured) map[string]any {
	o := obj.Object
	st, _ := o["status"].(map[string]any)
	sum := map[string]any{}
	switch kind {
	case "Pod":
		sum["phase"] = st["phase"]
		sum["node"], _, _ = unstructured.NestedString(o, "spec", "nodeName")
		var containers []any
		statuses, _ := st["containerStatuses"].([]any)
		for _, cs := range statuses {
			m, _ := cs.(map[string]any)
			c := map[string]any{"name": m["name"], "ready": m["ready"], "restarts": m["restartCount"], "image": m["image"], "state": m["state"]}
			if lt, ok := m["lastState"].(map[string]any); ok {
				if term, ok := lt["terminated"].(map[string]any); ok {
					c["last_termination"] = map[string]any{"reason": term["reason"], "exitCode": term["exitCode"], "finishedAt": term["finishedAt"]}
				}
			}
			containers = append(containers, c)
		}
		sum["containers"] = containers
		sum["conditions"] = conditions(st)
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		for _, k := range []string{"replicas", "readyReplicas", "updatedReplicas", "availableReplicas", "unavailableReplicas", "currentReplicas", "observedGeneration", "currentRevision", "updateRevision", "desiredNumberScheduled", "numberReady"} {
			if v, ok := st[k]; ok {
				sum[k] = v
			}
		}
		spec, _ := o["spec"].(map[string]any)
		sum["desiredReplicas"] = spec["replicas"]
		sum["conditions"] = conditions(st)
		sum["rollout"] = rolloutStatus(kind, obj)
		if kind == "Deployment" {
			sum["replicaSets"] = replicaSets(ctx, cl, ns, obj)
		}
	case "Node":
		sum["conditions"] = conditions(st)
		sum["capacity"] = st["capacity"]
		sum["allocatable"] = st["allocatable"]
		sum["nodeInfo"] = st["nodeInfo"]
		sum["unschedulable"], _, _ = unstructured.NestedBool(o, "spec", "unschedulable")
		sum["taints"], _, _ = unstructured.NestedSlice(o, "spec", "taints")
	default:
		if st != nil {
			sum["conditions"] = conditions(st)
		}
	}
	return sum
}

func conditions(st map[string]any) []any {
	list, _ := st["conditions"].([]any)
	var out []any
	for _, c := range list {
		m, _ := c.(map[string]any)
		out = append(out, map[string]any{"type": m["type"], "status": m["status"], "reason": m["reason"], "message": m["message"]})
	}
	return out
}

// rolloutStatus says in words what `kubectl rollout status` would.
func rolloutStatus(kind string, obj *unstructured.Unstructured) string {
	o := obj.Object
	gen := obj.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(o, "status", "observedGeneration")
	desired, found, _ := unstructured.NestedInt64(o, "spec", "replicas")
	if !found {
		desired = 1
	}
	updated, _, _ := unstructured.NestedInt64(o, "status", "updatedReplicas")
	available, _, _ := unstructured.NestedInt64(o, "status", "availableReplicas")
	ready, _, _ := unstructured.NestedInt64(o, "status", "readyReplicas")
	total, _, _ := unstructured.NestedInt64(o, "status", "replicas")
	if observed < gen {
		return "waiting for the controller to observe the latest spec"
	}
	if kind == "Deployment" {
		st, _ := o["status"].(map[string]any)
		for _, c := range conditions(st) {
			m, _ := c.(map[string]any)
			if m["type"] == "Progressing" && m["reason"] == "ProgressDeadlineExceeded" {
				return "failed: progress deadline exceeded"
			}
		}
		switch {
		case updated < desired:
			return fmt.Sprintf("in progress: %d of %d new replicas updated", updated, desired)
		case total > updated:
			return fmt.Sprintf("in progress: %d old replicas pending termination", total-updated)
		case available < updated:
			return fmt.Sprintf("in progress: %d of %d updated replicas available", available, updated)
		}
		return "complete"
	}
	if ready < desired {
		return fmt.Sprintf("in progress: %d of %d replicas ready", ready, desired)
	}
	return "complete"
}

// replicaSets lists the Deployment's ReplicaSets by revision, newest first.
// They are listed in ns, the namespace the caller asked for and may read,
// never in whatever namespace the upstream's object claims.
func replicaSets(ctx context.Context, cl *kube.Cluster, ns string, dep *unstructured.Unstructured) []any {
	// The Deployment's own selector narrows the list; ownership decides.
	opts := metav1.ListOptions{Limit: 100}
	if sel, found, _ := unstructured.NestedMap(dep.Object, "spec", "selector"); found {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &ls); err == nil {
			opts.LabelSelector = metav1.FormatLabelSelector(&ls)
		}
	}
	list, err := cl.Typed.AppsV1().ReplicaSets(ns).List(ctx, opts)
	if err != nil {
		return []any{map[string]any{"error": err.Error()}}
	}
	type rs struct {
		rev  int
		item map[string]any
	}
	var found []rs
	for _, r := range list.Items {
		owned := false
		for _, ref := range r.OwnerReferences {
			if ref.UID == dep.GetUID() {
				owned = true
			}
		}
		if !owned {
			continue
		}
		rev, _ := strconv.Atoi(r.Annotations["deployment.kubernetes.io/revision"])
		desired := int32(0)
		if r.Spec.Replicas != nil {
			desired = *r.Spec.Replicas
		}
		var images []string
		for _, c := range r.Spec.Template.Spec.Containers {
			images = append(images, c.Image)
		}
		found = append(found, rs{rev: rev, item: map[string]any{
			"name": r.Name, "revision": rev, "desired": desired, "ready": r.Status.ReadyReplicas,
			"images": images, "created": r.CreationTimestamp.UTC().Format(time.RFC3339),
		}})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].rev > found[j].rev })
	out := []any{}
	for _, f := range found {
		out = append(out, f.item)
	}
	return out
}
