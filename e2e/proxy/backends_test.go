package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// policy: the sre role (Gitea team ops/sre) may call every tool; no
// other role exists, so a signed-in user outside the team may call none.
const policy = "roles:\n  sre:\n    tools: [\"*\"]\n"

// oidcArgs are every server's and the orchestrator's auth flags: Gitea's
// ID tokens for the opsmcp application, the user from
// preferred_username, and the role sre from the group ops:sre.
func oidcArgs(pol string) []string {
	return []string{"--oidc-issuer", w.forge.Issuer(), "--oidc-audience", w.clientID,
		"--oidc-user-claim", "preferred_username", "--oidc-roles-claim", "groups", "--oidc-role-map", "ops:sre=sre",
		"--policy", pol, "--allowed-hosts", mcpHost, "--allowed-hosts", aiHost,
		"--rate-limit", "100000", "--rate-burst", "10000"}
}

// startBackends starts every server and the orchestrator on free
// loopback ports, each against its real upstream.
func startBackends(ctx context.Context, stops *[]func()) error {
	bins := filepath.Join(w.dir, "bin")
	if err := os.MkdirAll(bins, 0o755); err != nil {
		return err
	}
	build := func(module, name string) (string, error) { return harness.BuildBinary(bins, module, name) }
	pol := filepath.Join(w.dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(policy), 0o600); err != nil {
		return err
	}
	// Each server: its upstream, its flags, the tool the clients call.
	type spec struct {
		b     *backend
		mod   string
		env   []string
		args  []string
		setup func() ([]string, []string, error) // extra args and env
	}
	specs := []spec{
		{b: &backend{name: "mcp-kubernetes", prefix: "/kubernetes", tool: "k8s_get",
			args: map[string]any{"resource": "namespaces"}, want: "kube-system"}, mod: "mcp-kubernetes",
			setup: func() ([]string, []string, error) {
				kc, err := w.kube.WriteKubeconfig("reader.kubeconfig", w.kube.ReaderToken, "e2e")
				return []string{"--kubeconfig", kc}, nil, err
			}},
		{b: &backend{name: "mcp-gitea", prefix: "/gitea", tool: "gitea_issues",
			args: map[string]any{"repo": "ops/infra"}, want: "proxy issue 4d2a"}, mod: "mcp-gitea",
			setup: func() ([]string, []string, error) {
				tok, err := w.forge.User(ctx, "proxy-reader", true, "read:repository,read:issue,read:user,read:organization")
				if err != nil {
					return nil, nil, err
				}
				f := filepath.Join(w.dir, "gitea.token")
				return []string{"--gitea-url", w.forge.URL, "--gitea-token-file", f, "--mirror-dir", filepath.Join(w.dir, "mirrors")}, nil,
					os.WriteFile(f, []byte(tok+"\n"), 0o600)
			}},
		{b: &backend{name: "mcp-swarm", prefix: "/swarm", tool: "swarm_services",
			args: map[string]any{"name": "proxy-"}, want: "proxy-web-3b7c"}, mod: "mcp-swarm",
			setup: func() ([]string, []string, error) {
				sw, err := harness.StartSwarm(ctx, filepath.Join(w.dir, "swarm"))
				if err != nil {
					return nil, nil, fmt.Errorf("start swarm: %w", err)
				}
				*stops = append(*stops, sw.Stop)
				if _, err := sw.CLI(ctx, "service", "create", "--detach", "--no-resolve-image", "--replicas", "0",
					"--name", "proxy-web-3b7c", harness.BusyboxImage, "sleep", "3600"); err != nil {
					return nil, nil, err
				}
				return nil, []string{"DOCKER_HOST=" + sw.Host}, nil
			}},
		{b: &backend{name: "mcp-logs", prefix: "/logs", tool: "logs_query",
			args: map[string]any{"query": `{namespace="proxy"} |= "proxy-line-9e41"`, "since": "1h"}, want: "proxy-line-9e41"}, mod: "mcp-logs",
			setup: func() ([]string, []string, error) {
				loki, err := harness.StartLoki(ctx, filepath.Join(w.dir, "loki"))
				if err != nil {
					return nil, nil, fmt.Errorf("start loki: %w", err)
				}
				*stops = append(*stops, loki.Stop)
				st := harness.Stream{Labels: map[string]string{"namespace": "proxy", "app": "api"},
					Lines: []harness.Line{{Time: time.Now().Add(-time.Minute), Text: "GET /orders status=200 proxy-line-9e41"}}}
				return []string{"--loki-url", loki.URL}, nil, loki.Push(ctx, []harness.Stream{st})
			}},
		{b: &backend{name: "mcp-docs", prefix: "/docs", tool: "docs_search",
			args: map[string]any{"query": "restore the orders database to a point in time", "k": 3}, want: "runbooks/"}, mod: "mcp-docs",
			setup: func() ([]string, []string, error) {
				corpus := filepath.Join(w.dir, "corpus")
				if err := os.CopyFS(corpus, os.DirFS(filepath.Join(harness.Root(), "mcp-docs", "testdata", "corpus"))); err != nil {
					return nil, nil, err
				}
				w.webhookSecret = "hook-secret-2f8d61"
				if err := harness.WriteFiles(w.dir, map[string]string{
					"sources.yaml": fmt.Sprintf("sources:\n  - name: local\n    path: %s\n", corpus),
					"hook.secret":  w.webhookSecret + "\n"}); err != nil {
					return nil, nil, err
				}
				return []string{"--config", filepath.Join(w.dir, "sources.yaml"), "--embed-model", "", "--reindex-every", "0",
					"--db", filepath.Join(w.dir, "docs.db"), "--cache-dir", filepath.Join(w.dir, "docs-cache"),
					"--webhook-secret-file", filepath.Join(w.dir, "hook.secret")}, nil, nil
			}},
	}
	for _, s := range specs {
		bin, err := build(s.mod, s.b.name)
		if err != nil {
			return err
		}
		extra, env, err := s.setup()
		if err != nil {
			return fmt.Errorf("%s: %w", s.b.name, err)
		}
		if s.b.port, err = harness.FreePort(); err != nil {
			return err
		}
		s.b.audit = filepath.Join(w.dir, s.b.name+"-audit.log")
		args := []string{"--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", s.b.port), "--audit-log", s.b.audit}
		if s.b.name == "mcp-docs" {
			args = append([]string{"serve"}, args...)
			w.docsAudit = s.b.audit
		}
		args = append(append(args, oidcArgs(pol)...), extra...)
		p, err := startServer(ctx, s.b.name, s.b.port, bin, env, args)
		if err != nil {
			return err
		}
		*stops = append(*stops, p.Stop)
		w.backends = append(w.backends, s.b)
	}
	return startOrchestrator(ctx, bins, pol, stops)
}

// startServer runs bin with env added and waits for its /healthz.
func startServer(ctx context.Context, name string, port int, bin string, env, args []string) (*harness.Proc, error) {
	logPath := filepath.Join(w.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = f, f, append(os.Environ(), env...)
	p, err := harness.StartCmd(name, cmd, f, logPath)
	if err != nil {
		return nil, err
	}
	if err := harness.WaitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), "", harness.HTTPClient(""), 60*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// startOrchestrator runs `mcp-orchestrator serve` with mcp-kubernetes
// behind it over stdio and the real Ollama with the harness's tiny model,
// reached through a trickle: each line of a streamed /api/chat answer
// waits 300 ms, so the model's tokens come at a known pace and a test can
// tell a streamed answer from one held back until its end.
func startOrchestrator(ctx context.Context, bins, pol string, stops *[]func()) error {
	k8s := filepath.Join(bins, "mcp-kubernetes")
	bin, err := harness.BuildBinary(bins, "orchestrator", "mcp-orchestrator")
	if err != nil {
		return err
	}
	kc, err := w.kube.WriteKubeconfig("orch-reader.kubeconfig", w.kube.ReaderToken, "e2e")
	if err != nil {
		return err
	}
	servers := fmt.Sprintf("servers:\n  - name: kubernetes\n    command: %s\n    args: [--kubeconfig, %s, --audit-log, off]\n    user_calls: as-orchestrator\n", k8s, kc)
	if err := harness.WriteFiles(w.dir, map[string]string{"orch-servers.yaml": servers}); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(w.dir, "ollama-run"), 0o755); err != nil {
		return err
	}
	ollama, err := harness.StartOllama(ctx, filepath.Join(w.dir, "ollama-run"))
	if err != nil {
		return fmt.Errorf("start ollama: %w", err)
	}
	*stops = append(*stops, ollama.Stop)
	if err := ollama.CreateTiny(ctx, "tiny", true); err != nil {
		return err
	}
	target, _ := url.Parse(ollama.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path == "/api/chat" {
			r.Body = newTrickle(r.Body)
		}
		return nil
	}
	slow := httptest.NewServer(rp)
	*stops = append(*stops, slow.Close)
	w.orchAudit = filepath.Join(w.dir, "orchestrator-audit.log")
	if w.orchPort, err = harness.FreePort(); err != nil {
		return err
	}
	args := append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", w.orchPort), "--config", filepath.Join(w.dir, "orch-servers.yaml"),
		"--model", "tiny", "--audit-log", w.orchAudit}, oidcArgs(pol)...)
	p, err := startServer(ctx, "mcp-orchestrator", w.orchPort, bin, []string{"OLLAMA_URL=" + slow.URL, "OLLAMA_SECONDARY_URL=", "OLLAMA_FALLBACK_URL="}, args)
	if err != nil {
		return err
	}
	*stops = append(*stops, p.Stop)
	return nil
}

// trickled is the pause before each line of a streamed /api/chat answer
// from Ollama but the first.
const trickled = 300 * time.Millisecond

// trickle passes its body on one line per read, waiting trickled before
// every line but the first.
type trickle struct {
	body  io.ReadCloser
	r     *bufio.Reader
	rest  []byte
	lines int
}

func newTrickle(body io.ReadCloser) *trickle { return &trickle{body: body, r: bufio.NewReader(body)} }

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.rest) == 0 {
		line, err := t.r.ReadBytes('\n')
		if len(line) == 0 {
			return 0, err
		}
		if t.lines++; t.lines > 1 {
			time.Sleep(trickled)
		}
		t.rest = line
	}
	n := copy(p, t.rest)
	t.rest = t.rest[n:]
	return n, nil
}

// Close closes the body.
func (t *trickle) Close() error { return t.body.Close() }
