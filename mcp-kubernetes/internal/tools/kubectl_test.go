package tools

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/tool"
)

func TestParseKubectl(t *testing.T) {
	cases := []struct {
		line string
		want Command
	}{
		{"kubectl get pods -n web -l app=api -o wide", Command{Verb: "get", Args: []string{"pods"}, Namespace: "web", LabelSelector: "app=api", Output: "wide", Tail: -1}},
		{"-n kube-system get deploy/coredns -o yaml", Command{Verb: "get", Args: []string{"deploy/coredns"}, Namespace: "kube-system", Output: "yaml", Tail: -1}},
		{"logs pod/x -c app --tail 50 --since=10m -p", Command{Verb: "logs", Args: []string{"pod/x"}, Container: "app", Tail: 50, Since: "10m", Previous: true}},
		{"get events -A --field-selector 'type=Warning,reason=BackOff'", Command{Verb: "get", Args: []string{"events"}, AllNamespaces: true, FieldSelector: "type=Warning,reason=BackOff", Tail: -1}},
		{"rollout status deploy/api", Command{Verb: "rollout", Args: []string{"status", "deploy/api"}, Tail: -1}},
	}
	for _, c := range cases {
		got, err := ParseKubectl(c.line)
		require.NoError(t, err, c.line)
		assert.Equal(t, c.want, *got, c.line)
	}
}

func TestParseKubectlRefusesWrites(t *testing.T) {
	for _, line := range []string{"delete pod x --force", "apply -f -", "exec -it x -- sh", "port-forward svc/x 1:2",
		"rollout undo deploy/x", "config view --raw", "config set-context x", "get pods --watch", "scale --replicas=3 deploy/x"} {
		_, err := ParseKubectl(line)
		require.Error(t, err, line)
		assert.True(t, errors.Is(err, tool.ErrDenied), "%s: %v", line, err)
	}
	_, err := ParseKubectl("get pods --frob")
	assert.True(t, errors.Is(err, tool.ErrArgs))
}

func TestResourceArgs(t *testing.T) {
	r, n, err := resourceArgs([]string{"deploy/api"})
	require.NoError(t, err)
	assert.Equal(t, []string{"deploy", "api"}, []string{r, n})
	_, _, err = resourceArgs([]string{"po,svc"})
	assert.ErrorContains(t, err, "one resource type per command")
	_, _, err = resourceArgs([]string{"pods", "a", "b"})
	assert.ErrorContains(t, err, "one object name")
}
