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
		line       string
		verb       string
		args       []string
		ns, output string
	}{
		{"kubectl get pods -n web -l app=api -o wide", "get", []string{"pods"}, "web", "wide"},
		{"-n kube-system get deploy/coredns -o yaml", "get", []string{"deploy/coredns"}, "kube-system", "yaml"},
		{"logs pod/x -c app --tail 50 --since=10m -p", "logs", []string{"pod/x"}, "", ""},
		{"get --sort-by .metadata.name pods -L app", "get", []string{"pods"}, "", ""},
		{"rollout status deploy/api", "rollout", []string{"status", "deploy/api"}, "", ""},
	}
	for _, c := range cases {
		got, err := ParseKubectl(c.line)
		require.NoError(t, err, c.line)
		assert.Equal(t, c.verb, got.Verb, c.line)
		assert.Equal(t, c.args, got.Args, c.line)
		assert.Equal(t, c.ns, got.Namespace, c.line)
		assert.Equal(t, c.output, got.Output, c.line)
	}
}

func TestParseKubectlRefusesWrites(t *testing.T) {
	for _, line := range []string{"delete pod x --force", "apply -f -", "exec -it x -- sh", "port-forward svc/x 1:2",
		"rollout undo deploy/x", "config view --raw", "config set-context x", "get pods --watch", "scale --replicas=3 deploy/x",
		"edit deploy/x", "cp x:/etc/passwd .", "proxy", "debug x", "attach x"} {
		_, err := ParseKubectl(line)
		require.Error(t, err, line)
		assert.True(t, errors.Is(err, tool.ErrDenied), "%s: %v", line, err)
	}
}

// TestKubectlRefusesWhatItDoesNotHonour: every flag a command does not
// honour is refused by name with why or what is offered, never accepted
// and ignored; so are the flags that read local files, change
// credentials or the API server, and the commands that write or open a
// session.
func TestKubectlRefusesWhatItDoesNotHonour(t *testing.T) {
	cases := []struct{ line, want string }{
		{"get pods --frob", "unknown flag: --frob"},
		{"get pods -f pod.yaml", "filename flag is refused"},
		{"get -f pod.yaml", "filename flag is refused"},
		{"get pods --kubeconfig /root/.kube/config", "kubeconfig flag is refused"},
		{"get pods --server https://10.0.0.1", "server flag is refused"},
		{"get pods --token abc", "token flag is refused"},
		{"get pods --as system:admin", "the as flag is refused"},
		{"get pods --as-group system:masters", "as-group flag is refused"},
		{"get pods -v 9", "the v flag is refused"},
		{"get --raw /api/v1/namespaces/web/secrets", "get --raw /api/v1/namespaces/web/secrets is refused"},
		{"get pods -o go-template-file=/etc/passwd", "reads a local file"},
		{"get pods -o jsonpath-file=/etc/passwd", "reads a local file"},
		{"get pods -w", "get --watch is refused"},
		{"get pods --watch-only", "watch-only flag is refused"},
		{"logs pod/x -f", "follow flag is refused"},
		{"logs pod/x --insecure-skip-tls-verify-backend", "kubelet"},
		{"rollout status deploy/x --watch=true", "rollout --watch is refused"},
		{"cluster-info dump", "cluster-info dump is refused"},
		{"auth whoami", "auth whoami is refused"},
		{"auth reconcile -f x.yaml", "reconcile"},
		{"explain pods -o plaintext-openapiv2", "only plaintext"},
		{"version -o json", "version -o is not offered"},
		{"config get-contexts -o name", "config -o is not offered"},
		{"describe pods --show-events=false --frob", "unknown flag"},
		{"top pod --frob", "unknown flag"},
		{"frob pods", "kubectl frob is not supported"},
	}
	api := newFakeAPI(t)
	s := api.server(t)
	for _, c := range cases {
		api.reset()
		_, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: c.line})
		require.Error(t, err, c.line)
		assert.True(t, errors.Is(err, tool.ErrDenied) || errors.Is(err, tool.ErrArgs), "%s: %v", c.line, err)
		assert.Contains(t, err.Error(), c.want, c.line)
		assert.Empty(t, api.requests(), c.line)
	}
}

// TestKubectlCanINoDoesNotEndTheProcess: kubectl's own can-i calls
// os.Exit(1) to answer "no"; here it is an answer (exit code 1), and the
// test process is still running to check it.
func TestKubectlCanINoDoesNotEndTheProcess(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	res, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: "auth can-i create pods -n web"})
	require.NoError(t, err)
	assert.Equal(t, "no\n", res.Text)
	assert.Equal(t, 1, res.Data.(map[string]any)["exit_code"])
}
