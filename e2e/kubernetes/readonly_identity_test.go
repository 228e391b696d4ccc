package kubernetes_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// startWithIdentity starts the binary over HTTP with kubeconfig cfg and
// --require-read-only-identity, and returns whether it came up, and its
// log.
func startWithIdentity(t *testing.T, name, cfg string, extra ...string) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", cfg,
		"--require-read-only-identity", "--audit-log", filepath.Join(dir, "audit.log")}, extra...)
	p, err := harness.Start(dir, name, binary, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		p.Stop()
		seen.Add(p.Tail(1 << 20))
	}()
	err = harness.WaitHTTP(t.Context(), p, fmt.Sprintf("http://127.0.0.1:%d/readyz", port), "", httpClient(""), 60*time.Second)
	return err == nil, p.Tail(8000)
}

// TestRequireReadOnlyIdentity: issue 13.4. The check covers every
// namespace the server will serve, and counts any verb on pods/exec,
// pods/attach, pods/portforward and the proxy subresources (also through
// "*") as a write right.
func TestRequireReadOnlyIdentity(t *testing.T) {
	ro := newIdentity(t, "mcp-ro", readNamed, nil)
	up, log := startWithIdentity(t, "ro", ro)
	if !up {
		t.Fatalf("a get/list/watch identity without dangerous subresources was refused:\n%s", log)
	}

	// "*" includes get on pods/exec and every proxy.
	star := newIdentity(t, "mcp-ro-star", readEverything, nil)
	up, log = startWithIdentity(t, "star", star)
	if up {
		t.Fatalf("an identity with get on * started")
	}
	assertLog(t, log, "may write", "get,list,watch * (pods/exec, pods/attach, pods/portforward, pods/proxy, services/proxy, nodes/proxy)")

	nodeProxy := newIdentity(t, "mcp-ro-nodeproxy", append(readNamed[:2:2],
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes/proxy"}, Verbs: []string{"get"}}), nil)
	up, log = startWithIdentity(t, "nodeproxy", nodeProxy)
	if up {
		t.Fatalf("an identity with get on nodes/proxy started")
	}
	assertLog(t, log, "get nodes/proxy (nodes/proxy)")

	exec := newIdentity(t, "mcp-ro-exec", readNamed, map[string][]rbacv1.PolicyRule{
		"team-a": {{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get"}}}})
	up, log = startWithIdentity(t, "exec", exec)
	if up {
		t.Fatalf("an identity with get on pods/exec in team-a started")
	}
	assertLog(t, log, "get pods/exec (pods/exec) (in team-a)")

	// A write right in team-b only: the default namespace is clean, the
	// check still finds it.
	nsWrite := newIdentity(t, "mcp-ro-teamb", readNamed, map[string][]rbacv1.PolicyRule{
		"team-b": {{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}}}})
	up, log = startWithIdentity(t, "teamb", nsWrite)
	if up {
		t.Fatalf("an identity that may create configmaps in team-b started")
	}
	assertLog(t, log, "create configmaps (in team-b)")

	// With a policy that serves only team-a, team-b is never served: the
	// same identity is read-only where it will read.
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policy, []byte("roles:\n  viewer:\n    tools: [\"k8s_*\"]\n    scopes:\n      namespaces: [\"team-a\"]\n"), 0o600)
	tokens := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokens, []byte("t0k3n-1234567890,carol,viewer\n"), 0o600)
	up, log = startWithIdentity(t, "teamb-policy", nsWrite, "--policy", policy, "--auth-tokens", tokens)
	if !up {
		t.Fatalf("an identity read-only in every served namespace was refused:\n%s", log)
	}
}

func assertLog(t *testing.T, log string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(log, w) {
			t.Errorf("server log lacks %q:\n%s", w, log)
		}
	}
}
