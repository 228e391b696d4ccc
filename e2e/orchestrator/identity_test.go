package orchestrator_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
	ollama "github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// identityLab is mcp-kubernetes, mcp-gitea and mcp-docs over HTTP, each
// with the orchestrator's token (user "orchestrator", listed in
// --delegates) and wendy's, whose role reaches namespace web, the
// repositories ident/web-*, and the docs source web-runbooks only.
type identityLab struct {
	k8sAudit, giteaAudit, docsAudit string
	servers                         string // the orchestrator's servers config
}

// identityPolicy is a server's policy: the orchestrator may call
// everything, wendy the server's tools within scope (key: values).
func identityPolicy(tools, key, value string) string {
	return fmt.Sprintf("roles:\n  orch:\n    tools: [\"*\"]\n  web-reader:\n    tools: [%q]\n    scopes:\n      %s: [%q]\n", tools, key, value)
}

// startIdentityLab starts mcp-kubernetes, and with forge mcp-gitea and
// mcp-docs too.
func startIdentityLab(t *testing.T, forge bool) *identityLab {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, kube.GrantReader(ctx))
	plantConfigMap(t) // namespace web, and a Secret in kube-system
	dir := t.TempDir()
	lab := &identityLab{}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	start := func(name, bin, tokens, policy string, args ...string) (url, audit string) {
		port, err := harness.FreePort()
		require.NoError(t, err)
		url = fmt.Sprintf("http://127.0.0.1:%d", port)
		audit = filepath.Join(dir, name+".audit.log")
		args = append(args, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--auth-tokens", write(name+".tokens", tokens),
			"--policy", write(name+".policy.yaml", policy), "--delegates", "orchestrator", "--audit-log", audit, "--rate-limit", "0")
		harness.StartServer(t, &seen, dir, name, url, bin, args...)
		return url, audit
	}

	kc, err := kube.WriteKubeconfig("orch-ident.kubeconfig", kube.ReaderToken, "e2e")
	require.NoError(t, err)
	k8sURL, k8sAudit := start("mcp-kubernetes", k8sBin, "orch-k8s-tok-1a,orchestrator,orch\nwendy-k8s-tok-1b,wendy,web-reader\n",
		identityPolicy("k8s_*", "namespaces", "web"), "--kubeconfig", kc)

	lab.k8sAudit = k8sAudit
	servers := fmt.Sprintf("servers:\n  - name: kubernetes\n    url: %s/mcp\n    token_file: %s\n", k8sURL, write("k8s.orch", "orch-k8s-tok-1a"))
	if forge {
		g := startForge(t)
		admin, err := g.User(ctx, "ident-admin", true, "all")
		require.NoError(t, err)
		reader, err := g.User(ctx, "ident-reader", false, "read:repository,read:issue,read:user,read:organization")
		require.NoError(t, err)
		c, err := gitea.NewClient(g.URL, gitea.SetToken(admin))
		require.NoError(t, err)
		_, _, err = c.CreateOrg(gitea.CreateOrgOption{Name: "ident", Visibility: gitea.VisibleTypePublic})
		require.NoError(t, err)
		for _, r := range []string{"web-app", "billing"} {
			_, _, err = c.CreateOrgRepo("ident", gitea.CreateRepoOption{Name: r, AutoInit: true, DefaultBranch: "main", Readme: "Default"})
			require.NoError(t, err)
		}
		giteaBin, err := harness.BuildBinary(workDir, "mcp-gitea", "mcp-gitea")
		require.NoError(t, err)
		giteaURL, giteaAudit := start("mcp-gitea", giteaBin, "orch-gitea-tok-2a,orchestrator,orch\nwendy-gitea-tok-2b,wendy,web-reader\n",
			identityPolicy("gitea_*", "repos", "ident/web-*"), "--gitea-url", g.URL, "--gitea-token-file", write("gitea.token", reader), "--mirror-dir", filepath.Join(dir, "mirrors"))

		for _, s := range []string{"web-runbooks", "billing-runbooks"} {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, s), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, s, "payment.md"), []byte("# Payment outage\n\nRestart the payment workers of "+s+".\n"), 0o644))
		}
		docsBin, err := harness.BuildBinary(workDir, "mcp-docs", "mcp-docs")
		require.NoError(t, err)
		sources := write("sources.yaml", fmt.Sprintf("sources:\n  - name: web-runbooks\n    path: %s\n  - name: billing-runbooks\n    path: %s\n",
			filepath.Join(dir, "web-runbooks"), filepath.Join(dir, "billing-runbooks")))
		docsURL, docsAudit := start("mcp-docs", docsBin, "orch-docs-tok-3a,orchestrator,orch\nwendy-docs-tok-3b,wendy,web-reader\n",
			identityPolicy("docs_*", "sources", "web-runbooks"), "serve", "--config", sources, "--db", filepath.Join(dir, "docs.db"), "--cache-dir", filepath.Join(dir, "docs-cache"), "--embed-model", "")

		lab.giteaAudit, lab.docsAudit = giteaAudit, docsAudit
		servers += fmt.Sprintf("  - name: gitea\n    url: %s/mcp\n    token_file: %s\n  - name: docs\n    url: %s/mcp\n    token_file: %s\n",
			giteaURL, write("gitea.orch", "orch-gitea-tok-2a"), docsURL, write("docs.orch", "orch-docs-tok-3a"))
	}
	lab.servers = write("servers.yaml", servers)
	return lab
}

// lineFor returns the one audit line of tool with requestID.
func lineFor(t *testing.T, path, tool, requestID string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range harness.AuditLines(t, &seen, path) {
		if l["tool"] == tool && l["request_id"] == requestID {
			found = append(found, l)
		}
	}
	require.Len(t, found, 1, "%s lines of request %s in %s", tool, requestID, path)
	return found[0]
}

// requestIDs are the request ids of the orchestrator's audit lines of
// tool, in order.
func requestIDs(t *testing.T, path, tool string) []string {
	t.Helper()
	var out []string
	for _, l := range harness.AuditLines(t, &seen, path) {
		if l["tool"] == tool {
			id, _ := l["request_id"].(string)
			out = append(out, id)
		}
	}
	return out
}

// identityServe starts serve for wendy (token wendy-serve-tok-9c, role
// web-reader) over lab's servers, with a scripted model that calls
// gitea_file on ident/billing, or docs_search on a runbooks source, as
// the question says, then answers with the tool's result.
func identityServe(t *testing.T, lab *identityLab) (ask func(string) string, orchAudit string) {
	t.Helper()
	fake := newScriptedOllama(t, func(n int, req ollama.ChatRequest) ollama.Message {
		last := req.Messages[len(req.Messages)-1]
		if last.Role == "tool" {
			return ollama.Message{Content: "the tool said: " + last.Content}
		}
		switch {
		case strings.Contains(last.Content, "billing repository"):
			return toolCalls([]string{"gitea_file"}, map[string]any{"repo": "ident/billing", "path": "README.md"})
		case strings.Contains(last.Content, "billing runbooks"):
			return toolCalls([]string{"docs_search"}, map[string]any{"query": "payment outage", "source": "billing-runbooks"})
		case strings.Contains(last.Content, "web runbooks"):
			return toolCalls([]string{"docs_search"}, map[string]any{"query": "payment outage", "source": "web-runbooks"})
		}
		return ollama.Message{Content: "no idea"}
	})
	tokens := filepath.Join(t.TempDir(), "serve.tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("wendy-serve-tok-9c,wendy,web-reader\n"), 0o600))
	base, orchAudit := startServeWith(t, fake.URL, lab.servers, "--auth-tokens", tokens)
	c := ollama.NewClient(mustURL(t, base), &http.Client{Transport: harness.Bearer{Token: "wendy-serve-tok-9c"}})
	return func(q string) string {
		no := false
		var got ollama.ChatResponse
		require.NoError(t, c.Chat(context.Background(), &ollama.ChatRequest{Model: "tiny", Stream: &no, Messages: []ollama.Message{{Role: "user", Content: q}}},
			func(r ollama.ChatResponse) error { got = r; return nil }))
		return got.Message.Content
	}, orchAudit
}

// deniedAsWendy checks a server's audit line of a refused call: wendy,
// via the orchestrator, with the answer's request id.
func deniedAsWendy(t *testing.T, server, id string, l map[string]any) {
	t.Helper()
	assert.Regexp(t, `^[0-9a-f]{32}$`, id)
	assert.Equal(t, "wendy", l["user"], server)
	assert.Equal(t, "orchestrator", l["via"], server)
	assert.Equal(t, "denied", l["outcome"], server)
}

// TestIdentityKubernetes (issue 14): wendy, limited to namespace web,
// asks through serve for the Secrets of kube-system ("kubectl get
// secrets -n kube-system", the fast path). The real mcp-kubernetes,
// which the orchestrator calls with its own token naming wendy, refuses;
// its audit line names wendy via the orchestrator, with the answer's
// request id (the orchestrator's audit line of the call has the same).
// Inside her grant she is answered, as herself.
func TestIdentityKubernetes(t *testing.T) {
	lab := startIdentityLab(t, false)
	ask, orchAudit := identityServe(t, lab)
	out := ask("kubectl get secrets -n kube-system")
	assert.Contains(t, out, "kube-system", "the refusal names the namespace")
	assert.NotContains(t, out, k8sSecret)
	ids := requestIDs(t, orchAudit, "k8s_kubectl")
	require.Len(t, ids, 1)
	deniedAsWendy(t, "mcp-kubernetes", ids[0], lineFor(t, lab.k8sAudit, "k8s_kubectl", ids[0]))

	out = ask("kubectl get configmaps -n web")
	assert.Contains(t, out, "planted")
	ids = requestIDs(t, orchAudit, "k8s_kubectl")
	require.Len(t, ids, 2)
	ok := lineFor(t, lab.k8sAudit, "k8s_kubectl", ids[1])
	assert.Equal(t, "wendy", ok["user"])
	assert.Equal(t, "orchestrator", ok["via"])
	assert.Equal(t, "ok", ok["outcome"])
	assert.NotEqual(t, ids[0], ids[1], "a request id per answer")
}

// TestIdentityGiteaAndDocs (issue 14): the same for a Gitea repository
// outside wendy's ident/web-* and a docs source outside web-runbooks, each
// reached by a model turn (scripted: the tiny model cannot be made to
// call these tools); the docs source inside her grant answers.
func TestIdentityGiteaAndDocs(t *testing.T) {
	lab := startIdentityLab(t, true)
	ask, orchAudit := identityServe(t, lab)
	out := ask("read the README.md file of the billing repository in gitea")
	assert.Contains(t, out, "ident/billing")
	ids := requestIDs(t, orchAudit, "gitea_file")
	require.Len(t, ids, 1, "the tool was offered and called")
	deniedAsWendy(t, "mcp-gitea", ids[0], lineFor(t, lab.giteaAudit, "gitea_file", ids[0]))

	out = ask("search the billing runbooks docs for the payment outage")
	assert.NotContains(t, out, "payment workers of billing-runbooks")
	ids = requestIDs(t, orchAudit, "docs_search")
	require.Len(t, ids, 1)
	deniedAsWendy(t, "mcp-docs", ids[0], lineFor(t, lab.docsAudit, "docs_search", ids[0]))
	out = ask("search the web runbooks docs for the payment outage")
	assert.Contains(t, out, "payment workers of web-runbooks")
	ids = requestIDs(t, orchAudit, "docs_search")
	require.Len(t, ids, 2)
	assert.Equal(t, "wendy", lineFor(t, lab.docsAudit, "docs_search", ids[1])["user"])
}
