package fault_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// upstreamCtx bounds starting one upstream.
func upstreamCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func proxyTo(t *testing.T, target string) *harness.FaultProxy {
	t.Helper()
	p, err := harness.StartFaultProxy(target, true)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func TestLogsUpstreamFaults(t *testing.T) {
	dir := t.TempDir()
	loki, err := harness.StartLoki(upstreamCtx(t), dir)
	require.NoError(t, err)
	t.Cleanup(loki.Stop)
	now := time.Now()
	require.NoError(t, loki.Push(upstreamCtx(t), []harness.Stream{{Labels: map[string]string{"app": "fault"},
		Lines: []harness.Line{{Time: now.Add(-time.Minute), Text: "level=info msg=hello"}}}}))
	proxy := proxyTo(t, strings.TrimPrefix(loki.URL, "http://"))
	url := "http://" + proxy.Addr
	tg := target{
		module: "mcp-logs", upstream: "Loki", addr: url,
		args:  []string{"--loki-url", url},
		read:  toolCall{"logs_labels", map[string]any{}},
		quick: toolCall{"logs_query", map[string]any{"query": "{app="}},
	}
	runFaults(t, tg, proxy)

	// SIGTERM while a call waits on a stalled upstream, past
	// --shutdown-grace: the call is cancelled, its audit line says so,
	// and the process exits 0 soon after the grace.
	require.NoError(t, proxy.Pass())
	tg.args = append(tg.args, "--shutdown-grace", "1s")
	s := start(t, tg)
	cs := connect(t, s)
	r, _ := timedCall(t, cs, tg.read)
	require.False(t, r.IsError, r.Text)
	proxy.Stall()
	go cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tg.read.tool, Arguments: tg.read.args})
	time.Sleep(300 * time.Millisecond)
	begin := time.Now()
	require.NoError(t, syscall.Kill(s.proc.Cmd.Process.Pid, syscall.SIGTERM))
	require.Eventually(t, s.proc.Exited, 10*time.Second, 50*time.Millisecond, "the server did not exit after SIGTERM")
	assert.Less(t, time.Since(begin), callTimeout, "exited after the grace, not after the call's own timeout")
	assert.Equal(t, 0, s.proc.Cmd.ProcessState.ExitCode())
	rec := lastAudit(t, s, tg.read.tool)
	assert.Equal(t, "error", rec["outcome"], rec["error"])
	assert.Contains(t, rec["error"], "cancelled")
	proxy.Pass()
}

func TestGiteaUpstreamFaults(t *testing.T) {
	dir := t.TempDir()
	g, err := harness.StartGitea(upstreamCtx(t), dir)
	require.NoError(t, err)
	t.Cleanup(g.Stop)
	token, err := g.User(upstreamCtx(t), "fault-reader", false, "read:repository,read:issue,read:user,read:organization")
	require.NoError(t, err)
	tok := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tok, []byte(token+"\n"), 0o600))
	// A public repository with one commit, read through a git mirror.
	admin, err := g.User(upstreamCtx(t), "fault-admin", true, "all")
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/v1/user/repos", strings.NewReader(`{"name":"svc","auto_init":true,"private":false}`))
	req.Header.Set("Authorization", "token "+admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	proxy := proxyTo(t, strings.TrimPrefix(g.URL, "http://"))
	url := "http://" + proxy.Addr
	runFaults(t, target{
		module: "mcp-gitea", upstream: "Gitea", addr: url,
		args:  []string{"--gitea-url", url, "--gitea-token-file", tok, "--mirror-dir", filepath.Join(dir, "mirrors")},
		read:  toolCall{"gitea_repos", map[string]any{}},
		quick: toolCall{"gitea_file", map[string]any{"repo": "../x", "path": "a"}},
		more:  []toolCall{{"gitea_tree", map[string]any{"repo": "fault-admin/svc"}}},
	}, proxy)

	// Gitea refusing the server's own token is Gitea's 401, not the
	// caller's denial or argument.
	bad := filepath.Join(dir, "bad-token")
	require.NoError(t, os.WriteFile(bad, []byte("0123456789abcdef0123456789abcdef01234567\n"), 0o600))
	tg := target{module: "mcp-gitea", upstream: "Gitea", addr: g.URL,
		args: []string{"--gitea-url", g.URL, "--gitea-token-file", bad, "--mirror-dir", filepath.Join(dir, "mirrors2")}}
	s := start(t, tg)
	r, _ := timedCall(t, connect(t, s), toolCall{"gitea_repos", map[string]any{}})
	assertUpstreamError(t, tg, r, "401 unauthorized")
	assert.Equal(t, "upstream_error", lastAudit(t, s, "gitea_repos")["outcome"])
}

func TestKubernetesUpstreamFaults(t *testing.T) {
	dir := t.TempDir()
	k, err := harness.StartKube(upstreamCtx(t), dir)
	require.NoError(t, err)
	t.Cleanup(k.Stop)
	require.NoError(t, k.GrantReader(upstreamCtx(t)))
	proxy := proxyTo(t, strings.TrimPrefix(k.URL, "https://"))
	url := "https://" + proxy.Addr
	cfg := filepath.Join(dir, "fault.kubeconfig")
	writeJSON(t, cfg, map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "e2e",
		"clusters": []any{map[string]any{"name": "e2e", "cluster": map[string]any{
			"server": url, "certificate-authority": filepath.Join(k.Dir, "ca.crt")}}},
		"users":    []any{map[string]any{"name": "reader", "user": map[string]any{"token": k.ReaderToken}}},
		"contexts": []any{map[string]any{"name": "e2e", "context": map[string]any{"cluster": "e2e", "user": "reader", "namespace": "default"}}},
	})
	// HTTP/1.1, so a cancelled request shows as a closed connection at
	// the proxy (over HTTP/2 it is a stream reset inside TLS).
	t.Setenv("DISABLE_HTTP2", "1")
	runFaults(t, target{
		module: "mcp-kubernetes", upstream: "kube-apiserver", addr: url,
		args:  []string{"--kubeconfig", cfg},
		read:  toolCall{"k8s_get", map[string]any{"resource": "pods", "namespace": "default"}},
		quick: toolCall{"k8s_get", map[string]any{"resource": "pods", "namespace": "../x"}},
	}, proxy)

	// The API server refusing the server's credentials, and a TLS
	// failure, are named too, never "unknown resource type".
	other, err := harness.NewCA()
	require.NoError(t, err)
	wrongCA := filepath.Join(dir, "wrong-ca.crt")
	require.NoError(t, os.WriteFile(wrongCA, other.CertPEM, 0o600))
	for _, c := range []struct{ token, ca, want string }{
		{"not-a-valid-token", filepath.Join(k.Dir, "ca.crt"), "401 unauthorized"},
		{k.ReaderToken, wrongCA, "TLS failure"},
	} {
		cfg := filepath.Join(dir, "bad.kubeconfig")
		writeJSON(t, cfg, map[string]any{
			"apiVersion": "v1", "kind": "Config", "current-context": "e2e",
			"clusters": []any{map[string]any{"name": "e2e", "cluster": map[string]any{"server": k.URL, "certificate-authority": c.ca}}},
			"users":    []any{map[string]any{"name": "reader", "user": map[string]any{"token": c.token}}},
			"contexts": []any{map[string]any{"name": "e2e", "context": map[string]any{"cluster": "e2e", "user": "reader", "namespace": "default"}}},
		})
		tg := target{module: "mcp-kubernetes", upstream: "kube-apiserver", addr: k.URL, args: []string{"--kubeconfig", cfg}}
		s := start(t, tg)
		r, _ := timedCall(t, connect(t, s), toolCall{"k8s_get", map[string]any{"resource": "pods"}})
		assertUpstreamError(t, tg, r, c.want)
		assert.Equal(t, "upstream_error", lastAudit(t, s, "k8s_get")["outcome"])
		s.proc.Stop()
	}
}

func TestSwarmUpstreamFaults(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the swarm fault test needs root, as the swarm e2e does (dockerd)")
	}
	dir := t.TempDir()
	sw, err := harness.StartSwarm(upstreamCtx(t), dir)
	require.NoError(t, err)
	t.Cleanup(sw.Stop)
	proxy := proxyTo(t, sw.Host)
	url := "tcp://" + proxy.Addr
	t.Setenv("DOCKER_HOST", url)
	runFaults(t, target{
		module: "mcp-swarm", upstream: "Docker engine", addr: url,
		read:  toolCall{"swarm_services", map[string]any{}},
		quick: toolCall{"swarm_service", map[string]any{"service": "../x"}},
	}, proxy)
}
