// Package tools declares mcp-kubernetes' tools: one table, each entry a
// name, a description, schemas derived from its input and output types,
// and a handler that parses input, asks the API server, shapes output.
package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// Server holds what the handlers need.
type Server struct {
	Clusters *kube.Clusters
}

// Tools is the table of mcp-kubernetes' tools.
func (s *Server) Tools() []tool.Tool {
	return s.upstreamErrors([]tool.Tool{
		tool.New[GetInput, GetOutput]("k8s_get", "Get Kubernetes objects",
			"List or get objects of any kind (CRDs included; kubectl short names such as po, deploy, sts, cm, ev, ns, no, svc, ing, pvc work) in a namespace or all namespaces, with label and field selectors. Output: table (default), wide, yaml, json or name, each as kubectl get prints it (kubectl's own printers, a page at a time). Secret values are masked.",
			s.get),
		tool.New[DescribeInput, DescribeOutput]("k8s_describe", "Describe a Kubernetes object",
			"One object as kubectl describe prints it (kubectl's own describer; Secret values masked), with structured data: the status that matters (pods: container states, restarts, last termination reason; deployments and statefulsets: rollout status, conditions, replica sets by revision; nodes: conditions, capacity, allocatable) and its recent events.",
			s.describe),
		tool.New[LogsInput, LogsOutput]("k8s_logs", "Read a pod's logs",
			"Logs of a pod's container: tail, since, previous (crashed) container, RE2 grep, byte limit. Secrets in log lines are masked.",
			s.logs),
		tool.New[EventsInput, EventsOutput]("k8s_events", "List Kubernetes events",
			"Events in a namespace or all namespaces, optionally about one object (kind/name) or of one type (Warning); newest first, repeats folded with counts.",
			s.events),
		tool.New[APIResourcesInput, APIResourcesOutput]("k8s_api_resources", "List API resource types",
			"The resource types the API server serves (name, short names, group/version, kind, namespaced, verbs), like kubectl api-resources.",
			s.apiResources),
		withClosedWorld(tool.New[ContextsInput, ContextsOutput]("k8s_contexts", "List kubeconfig contexts",
			"The kubeconfig's contexts: name, cluster, server URL, default namespace, which is current and which this server may use. Never credentials.",
			s.contexts)),
		tool.New[KubectlInput, KubectlOutput]("k8s_kubectl", "Run a read-only kubectl command",
			"Runs a read-only kubectl command line with kubectl's own code (v1.37 libraries), printing what kubectl prints: get (all -o formats incl. jsonpath, custom-columns, go-template; --show-labels, -L, --sort-by; get all, get pods,deploy), describe, logs (pod, deploy/NAME, -l), events, explain, api-resources, api-versions, cluster-info, top, auth can-i, rollout history/status, version, config get-contexts/current-context. E.g. \"get pods -n web -l app=api -o wide\", \"describe deploy/api\", \"logs deploy/web --tail 50\". Every answer is masked before kubectl sees it. Writes, sessions and local files (apply, delete, edit, exec, port-forward, cp, proxy, debug, -f, --kubeconfig, --token, --as, --watch, --follow) are refused with what to use instead; so is any flag not honoured.",
			s.kubectl),
	})
}

// upstreamErrors makes an API server's own failure statuses (401: the
// server's credentials, 5xx) the API server's, not the caller's. Other
// statuses (404 for a named object, 403 for an RBAC rule, 400 for a bad
// selector) stay what the handler made of them.
func (s *Server) upstreamErrors(tools []tool.Tool) []tool.Tool {
	for i := range tools {
		h := tools[i].Handler
		tools[i].Handler = func(ctx context.Context, c *tool.Call) (*tool.Result, error) {
			res, err := h(ctx, c)
			if err == nil || tool.IsUpstream(err) {
				return res, err
			}
			var se apierrors.APIStatus
			if errors.As(err, &se) {
				if code := int(se.Status().Code); code == 401 || code >= 500 {
					return nil, tool.UpstreamStatus(kube.Upstream, s.host(), code, err)
				}
			}
			return res, err
		}
	}
	return tools
}

// host is the default context's API server URL, for error messages.
func (s *Server) host() string {
	if s.Clusters == nil {
		return ""
	}
	cl, err := s.Clusters.Get("")
	if err != nil || cl.Config == nil {
		return ""
	}
	return cl.Config.Host
}

func withClosedWorld(t tool.Tool) tool.Tool {
	t.OpenWorld = false
	return t
}

// APIResourcesInput are k8s_api_resources' arguments.
type APIResourcesInput struct {
	Group      string `json:"group,omitempty" jsonschema:"only this API group (core: empty string is all groups; use 'core' for the core group)"`
	Namespaced *bool  `json:"namespaced,omitempty" jsonschema:"only namespaced (true) or cluster-scoped (false) types"`
	Context    string `json:"context,omitempty" jsonschema:"kubeconfig context (default: the server's)"`
}

// APIResource is one resource type.
type APIResource struct {
	Name       string   `json:"name"`
	ShortNames []string `json:"short_names,omitempty"`
	APIVersion string   `json:"api_version"`
	Namespaced bool     `json:"namespaced"`
	Kind       string   `json:"kind"`
	Verbs      []string `json:"verbs"`
}

// APIResourcesOutput is k8s_api_resources' structured result.
type APIResourcesOutput struct {
	Items []APIResource `json:"items"`
}

func (s *Server) apiResources(ctx context.Context, c *tool.Call, in APIResourcesInput) (*tool.Result, error) {
	cl, err := s.Clusters.Get(in.Context)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	cl.Discovery.Invalidate()
	lists, err := cl.Discovery.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discover API resources: %w", err)
	}
	out := APIResourcesOutput{Items: []APIResource{}}
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		group := gv.Group
		if group == "" {
			group = "core"
		}
		if in.Group != "" && in.Group != group {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue // subresources
			}
			if in.Namespaced != nil && *in.Namespaced != r.Namespaced {
				continue
			}
			out.Items = append(out.Items, APIResource{Name: r.Name, ShortNames: r.ShortNames, APIVersion: l.GroupVersion,
				Namespaced: r.Namespaced, Kind: r.Kind, Verbs: r.Verbs})
		}
	}
	sort.Slice(out.Items, func(i, j int) bool {
		if out.Items[i].APIVersion != out.Items[j].APIVersion {
			return out.Items[i].APIVersion < out.Items[j].APIVersion
		}
		return out.Items[i].Name < out.Items[j].Name
	})
	return &tool.Result{Data: out, Render: renderAPIResources}, nil
}

func renderAPIResources(d map[string]any) string {
	items, _ := d["items"].([]any)
	rows := [][]string{{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}}
	for _, it := range items {
		m, _ := it.(map[string]any)
		rows = append(rows, []string{fmt.Sprint(m["name"]), strings.Join(toStrings(m["short_names"]), ","), fmt.Sprint(m["api_version"]), fmt.Sprint(m["namespaced"]), fmt.Sprint(m["kind"])})
	}
	return align(rows)
}

// ContextsInput are k8s_contexts' arguments (none).
type ContextsInput struct{}

// ContextsOutput is k8s_contexts' structured result.
type ContextsOutput struct {
	Current string             `json:"current"`
	Items   []kube.ContextInfo `json:"items"`
}

func (s *Server) contexts(ctx context.Context, c *tool.Call, in ContextsInput) (*tool.Result, error) {
	list, err := s.Clusters.Contexts()
	if err != nil {
		return nil, err
	}
	out := ContextsOutput{Current: s.Clusters.Current(), Items: list}
	return &tool.Result{Data: out, Render: renderContexts}, nil
}

func renderContexts(d map[string]any) string {
	items, _ := d["items"].([]any)
	rows := [][]string{{"CURRENT", "NAME", "CLUSTER", "SERVER", "NAMESPACE", "ALLOWED"}}
	for _, it := range items {
		m, _ := it.(map[string]any)
		cur := ""
		if m["current"] == true {
			cur = "*"
		}
		rows = append(rows, []string{cur, fmt.Sprint(m["name"]), fmt.Sprint(m["cluster"]), fmt.Sprint(m["server"]), cell(m["namespace"]), fmt.Sprint(m["allowed"])})
	}
	return align(rows)
}
