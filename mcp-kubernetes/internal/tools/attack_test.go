package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/kubectl"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// attack is one hostile call and how it must fail.
type attack struct {
	name string
	tool string
	run  func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error)
	// denied: a policy refusal (ErrDenied), else an argument error.
	denied bool
	want   string
	// role is the caller's role in attackPolicy (default viewer).
	role string
}

// attackPolicy is the README's viewer limited to namespace web, and an
// SRE of that namespace who may call every tool.
const attackPolicy = viewerPolicy + `  websre:
    tools: ["*"]
    scopes:
      namespaces: ["web"]
`

func asWebSRE(a attack) attack {
	a.role = "websre"
	return a
}

func getAttack(name string, in GetInput, denied bool, want string) attack {
	return attack{name, "k8s_get", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) { return s.get(ctx, c, in) }, denied, want, ""}
}

func kubectlAttack(line string, denied bool, want string) attack {
	return attack{"kubectl " + line, "k8s_kubectl", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.kubectl(ctx, c, KubectlInput{Command: line})
	}, denied, want, ""}
}

// attacks are issue 13's and 23's reproductions, and their neighbours:
// every one must fail before any request reaches the API server.
var attacks = []attack{
	getAttack("another namespace's secrets through a namespace name", GetInput{Resource: "namespaces", Name: "kube-system/secrets"}, false, "name"),
	getAttack("kubelet through ..", GetInput{Resource: "namespaces", Name: "../nodes/n1/proxy/configz"}, true, "proxy"),
	getAttack("dot-dot name", GetInput{Resource: "pods", Namespace: "web", Name: ".."}, false, "name"),
	getAttack("encoded slash", GetInput{Resource: "pods", Namespace: "web", Name: "x%2F..%2F..%2Fsecrets"}, false, "name"),
	getAttack("pod proxy by name", GetInput{Resource: "pods", Namespace: "web", Name: "x/proxy/admin/flush"}, true, "proxy"),
	getAttack("pod exec by name", GetInput{Resource: "pods", Namespace: "web", Name: "x/exec"}, true, "exec"),
	getAttack("subresource as type", GetInput{Resource: "pods/exec", Namespace: "web"}, true, "exec"),
	getAttack("service proxy as type", GetInput{Resource: "services/proxy", Namespace: "web"}, true, "proxy"),
	getAttack("other subresource as type", GetInput{Resource: "pods/log", Namespace: "web"}, false, "subresource"),
	getAttack("namespace with a slash", GetInput{Resource: "pods", Namespace: "web/../kube-system"}, false, "namespace"),
	getAttack("namespace dot-dot", GetInput{Resource: "pods", Namespace: ".."}, false, "namespace"),
	getAttack("namespace upper case", GetInput{Resource: "pods", Namespace: "Web"}, false, "namespace"),
	getAttack("bad label selector", GetInput{Resource: "pods", Namespace: "web", LabelSelector: "app=(x"}, false, "label_selector"),
	getAttack("bad field selector", GetInput{Resource: "pods", Namespace: "web", FieldSelector: "status.phase"}, false, "field_selector"),
	getAttack("label value oracle", GetInput{Resource: "pods", Namespace: "web", LabelSelector: "app=web,api-token in (a,b,c)"}, true, "api-token"),
	getAttack("prefixed label value oracle", GetInput{Resource: "pods", Namespace: "web", LabelSelector: "example.com/db-password!=x"}, true, "db-password"),
	getAttack("field value oracle", GetInput{Resource: "deploy", Namespace: "web", FieldSelector: "spec.adminPassword=hunter2"}, true, "adminPassword"),
	getAttack("resource type with a path", GetInput{Resource: "../../api/v1/secrets"}, false, "resource"),
	getAttack("namespace outside the role, by name", GetInput{Resource: "namespaces", Name: "kube-system", Output: "yaml"}, true, "kube-system"),
	{"describe exec", "k8s_describe", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.describe(ctx, c, DescribeInput{Resource: "pods", Namespace: "web", Name: "x/exec"})
	}, true, "exec", ""},
	{"describe through ..", "k8s_describe", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.describe(ctx, c, DescribeInput{Resource: "pods", Namespace: "web", Name: "../../nodes"})
	}, false, "name", ""},
	{"describe bad namespace", "k8s_describe", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.describe(ctx, c, DescribeInput{Resource: "deploy", Namespace: "web/x", Name: "api"})
	}, false, "namespace", ""},
	asWebSRE(attack{"logs through ..", "k8s_logs", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.logs(ctx, c, LogsInput{Pod: "../../nodes/n1/proxy/logs", Namespace: "web"})
	}, true, "proxy", ""}),
	asWebSRE(attack{"logs bad container", "k8s_logs", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.logs(ctx, c, LogsInput{Pod: "p", Container: "app&follow=true", Namespace: "web"})
	}, false, "container", ""}),
	asWebSRE(attack{"logs bad namespace", "k8s_logs", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.logs(ctx, c, LogsInput{Pod: "p", Container: "app", Namespace: "web/pods/x/exec"})
	}, true, "exec", ""}),
	{"events object through a subresource", "k8s_events", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.events(ctx, c, EventsInput{Namespace: "web", Object: "pod/x/proxy"})
	}, true, "proxy", ""},
	{"events bad field selector", "k8s_events", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.events(ctx, c, EventsInput{Namespace: "web", FieldSelector: "reason"})
	}, false, "field_selector", ""},
	{"events bad object name", "k8s_events", func(s *Server, ctx context.Context, c *tool.Call) (*tool.Result, error) {
		return s.events(ctx, c, EventsInput{Namespace: "web", Object: "pod/A B"})
	}, false, "name", ""},
	kubectlAttack("get pods/x/proxy/admin/flush -n web", true, "proxy"),
	kubectlAttack("get pods x/proxy -n web", true, "proxy"),
	kubectlAttack("get nodes/n1/proxy/configz", true, "proxy"),
	kubectlAttack("get svc/api/proxy -n web", true, "proxy"),
	kubectlAttack("get pods/x/exec -n web", true, "exec"),
	kubectlAttack("get pods/x/attach -n web", true, "attach"),
	kubectlAttack("get pods/x/portforward -n web", true, "portforward"),
	kubectlAttack("describe pods/x/exec -n web", true, "exec"),
	asWebSRE(kubectlAttack("logs pod/x/proxy -n web", true, "proxy")),
	asWebSRE(kubectlAttack("logs pods/x/exec -n web", true, "exec")),
	asWebSRE(kubectlAttack("logs x/exec -n web", false, `resource type "x"`)),
	kubectlAttack("get namespaces kube-system/secrets", false, "name"),
	kubectlAttack("get pods -n kube-system/secrets", false, "namespace"),
	kubectlAttack("get pods -n web -l 'app in (x'", false, "label_selector"),
	kubectlAttack("get secrets -n web -l password=1234", true, "password"),
	kubectlAttack("get events -n web --field-selector involvedObject.name=x,secret=y", true, "secret"),
	kubectlAttack("events -n web --field-selector involvedObject.name=x", false, "unknown flag: --field-selector"),
	asWebSRE(kubectlAttack("logs pod/p -c ../x -n web", false, "container")),
	asWebSRE(kubectlAttack("logs pod/p -n kube-system", true, "kube-system")),
	kubectlAttack("events pod/x/exec -n web", true, "exec"),
	// Issue 23: the viewer may not call k8s_logs, so not through kubectl either.
	kubectlAttack("logs pod/p -n web", true, "k8s_logs"),
	kubectlAttack("log pod/p -c app -n web", true, "k8s_logs"),
	kubectlAttack("api-resources", true, "k8s_api_resources"),
	kubectlAttack("version", true, "k8s_api_resources"),
	kubectlAttack("config get-contexts", true, "k8s_contexts"),
	kubectlAttack("get secrets -n kube-system", true, "kube-system"),
	kubectlAttack("describe deploy/api -n kube-system", true, "kube-system"),
	kubectlAttack("rollout status deploy/api -n kube-system", true, "kube-system"),
}

func TestAttacksFailBeforeAnyRequest(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	for _, a := range attacks {
		api.reset()
		role := a.role
		if role == "" {
			role = "viewer"
		}
		c := callAs(t, attackPolicy, a.tool, role)
		res, err := a.run(s, t.Context(), c)
		require.Error(t, err, "%s: got a result %+v", a.name, res)
		if a.denied {
			assert.True(t, errors.Is(err, tool.ErrDenied), "%s: want a denial, got %v", a.name, err)
		} else {
			assert.True(t, errors.Is(err, tool.ErrArgs), "%s: want an argument error, got %v", a.name, err)
		}
		assert.Contains(t, err.Error(), a.want, a.name)
		assert.Empty(t, api.requests(), "%s: requests reached the API server", a.name)
	}
}

// TestLegitimateCallsStillWork guards against validation that refuses
// valid names: each call reaches the API server once, at the expected path.
func TestLegitimateCallsStillWork(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	cases := []struct {
		run  func(c *tool.Call) error
		tool string
		path string
	}{
		{func(c *tool.Call) error {
			_, err := s.get(t.Context(), c, GetInput{Resource: "po", Namespace: "web", Name: "api-7d9c.x-1"})
			return err
		}, "k8s_get", "/api/v1/namespaces/web/pods/api-7d9c.x-1"},
		{func(c *tool.Call) error {
			_, err := s.get(t.Context(), c, GetInput{Resource: "clusterroles", Name: "system:controller:job-controller", Output: "yaml"})
			return err
		}, "k8s_get", "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:controller:job-controller"},
		{func(c *tool.Call) error {
			_, err := s.get(t.Context(), c, GetInput{Resource: "csr", Name: "node-csr-Ab_C9"})
			return err
		}, "k8s_get", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-Ab_C9"},
		{func(c *tool.Call) error {
			_, err := s.get(t.Context(), c, GetInput{Resource: "deploy", AllNamespaces: true, LabelSelector: "app in (a,b),tier!=x,api-token,!password", FieldSelector: "metadata.name=api"})
			return err
		}, "k8s_get", "/apis/apps/v1/deployments?"},
		{func(c *tool.Call) error {
			_, err := s.get(t.Context(), c, GetInput{Resource: "services", Name: "proxy"})
			return err
		}, "k8s_get", "/api/v1/namespaces/web/services/proxy"},
		{func(c *tool.Call) error {
			_, err := s.kubectl(t.Context(), c, KubectlInput{Command: "get pods/proxy -n web -o json"})
			return err
		}, "k8s_kubectl", "/api/v1/namespaces/web/pods/proxy"},
		{func(c *tool.Call) error {
			_, err := s.logs(t.Context(), c, LogsInput{Pod: "p", Container: "app", Since: "1h"})
			return err
		}, "k8s_logs", "/api/v1/namespaces/web/pods/p/log?"},
	}
	for _, tc := range cases {
		api.reset()
		require.NoError(t, tc.run(callAs(t, "", tc.tool)), tc.path)
		reqs := api.requests()
		require.Len(t, reqs, 1, tc.path)
		assert.True(t, strings.HasPrefix(reqs[0], "GET "+tc.path), "%s: %s", tc.path, reqs[0])
	}
}

// TestKubectlChecksTheMappedToolsPolicy covers every kubectl subcommand
// the suite answers: a role with k8s_kubectl alone may run none of them,
// each refusal names the tool that governs it, and with that tool granted
// the policy lets it through.
func TestKubectlChecksTheMappedToolsPolicy(t *testing.T) {
	lines := map[string]string{
		"get": "get pods -n web", "describe": "describe deploy/api -n web", "rollout": "rollout status deploy/api -n web --timeout=1s",
		"logs": "logs pod/p -c app -n web", "log": "log pod/p -c app -n web", "events": "events -n web",
		"api-resources": "api-resources", "config": "config get-contexts", "version": "version",
		"explain": "explain pods", "api-versions": "api-versions", "cluster-info": "cluster-info",
		"top": "top pod -n web", "auth": "auth can-i list pods -n web",
	}
	api := newFakeAPI(t)
	s := api.server(t)
	verbs := kubectl.Verbs()
	require.NotEmpty(t, verbs)
	for _, verb := range verbs {
		line, ok := lines[verb]
		require.True(t, ok, "no command line for kubectl %s: add one", verb)
		mapped, _ := kubectl.ToolFor(verb)
		only := callAs(t, "roles:\n  r:\n    tools: [\"k8s_kubectl\"]\n", "k8s_kubectl", "r")
		api.reset()
		_, err := s.kubectl(t.Context(), only, KubectlInput{Command: line})
		require.Error(t, err, line)
		assert.True(t, errors.Is(err, tool.ErrDenied), "%s: %v", line, err)
		assert.Contains(t, err.Error(), mapped, line)
		assert.Empty(t, api.requests(), line)

		scope := "web"
		if verb == "cluster-info" {
			scope = "*" // it reads kube-system's services: out of scope web, refused as such
		}
		both := callAs(t, fmt.Sprintf("roles:\n  r:\n    tools: [\"k8s_kubectl\", %q]\n    scopes:\n      namespaces: [%q]\n", mapped, scope), "k8s_kubectl", "r")
		_, err = s.kubectl(t.Context(), both, KubectlInput{Command: line})
		assert.False(t, errors.Is(err, tool.ErrDenied), "%s with %s granted: %v", line, mapped, err)
	}
}
