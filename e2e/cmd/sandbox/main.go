// Command opsmcp-sandbox is what `make run` and `make sandbox` start: every
// server of the suite and the orchestrator, each against its configured
// upstream or, when none is configured, against a local sandbox of real
// upstreams from the e2e harness (kube-apiserver with etcd and the
// controller manager, Gitea, Loki, a dockerd in Swarm mode, Ollama with a
// tiny model), all on loopback, seeded with a small fixture world. It
// prints each server's URL, an IDE mcp.json snippet and things to try,
// and stops everything on Ctrl-C.
//
// A configured upstream wins over its sandbox part, and the sandbox never
// touches it: a kubeconfig ($KUBECONFIG or ~/.kube/config), GITEA_URL (with
// GITEA_TOKEN), DOCKER_HOST or /var/run/docker.sock, LOKI_URL, OLLAMA_URL;
// LOG_ROOT (the log files), OPSMCP_DOCS_CONFIG (mcp-docs' sources file) and
// OPSMCP_ORCHESTRATOR_CONFIG (the orchestrator's servers file) too.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	os.Exit(run())
}

// upstreams says, per part, what is configured (empty: the sandbox's).
type upstreams struct {
	kubeconfig string // a readable kubeconfig
	gitea      string
	docker     string
	loki       string
	ollama     string
}

func configured() upstreams {
	var u upstreams
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		u.kubeconfig = kc
	} else if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".kube", "config")
		if f, err := os.Open(p); err == nil {
			f.Close()
			u.kubeconfig = p
		}
	}
	u.gitea = os.Getenv("GITEA_URL")
	u.docker = os.Getenv("DOCKER_HOST")
	if u.docker == "" {
		// A local engine is a configured system too: the sandbox's
		// dockerd would share /run/containerd with it.
		if st, err := os.Stat("/var/run/docker.sock"); err == nil && st.Mode()&os.ModeSocket != 0 {
			u.docker = "unix:///var/run/docker.sock"
		}
	}
	u.loki = os.Getenv("LOKI_URL")
	u.ollama = os.Getenv("OLLAMA_URL")
	return u
}

// sandbox is one run: its directory, the upstreams it started and the
// servers.
type sandbox struct {
	dir, bin, root string
	cfg            upstreams
	stops          []part // newest last; stopped in reverse
	servers        []*server
	procs          []*harness.Proc
}

// part is one started upstream (or the stand-ins around it) and how to
// stop it.
type part struct {
	name string
	stop func()
}

// server is one started MCP server or the orchestrator.
type server struct {
	name, url, upstream string
	proc                *harness.Proc
}

func run() int {
	root := harness.Root()
	bin := filepath.Join(root, "bin")
	if v := os.Getenv("OPSMCP_BIN"); v != "" {
		bin = v
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	base, err := os.UserCacheDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: no cache dir:", err)
		return 1
	}
	// The sandbox's data lives in the user's cache, never in the
	// repository, and goes when it stops.
	if err := os.MkdirAll(filepath.Join(base, "opsmcp-sandbox"), 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	dir, err := os.MkdirTemp(filepath.Join(base, "opsmcp-sandbox"), "run-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	s := &sandbox{dir: dir, bin: bin, root: root, cfg: configured()}
	defer os.RemoveAll(dir)
	defer s.stop()

	go func() {
		// Said at once: a dockerd stopped half-way through its start
		// can take a minute or two to leave its swarm.
		<-ctx.Done()
		fmt.Fprintln(os.Stderr, "\nCtrl-C: stopping the servers, then the upstreams (dockerd may take a minute)")
	}()
	if err := s.start(ctx); err != nil {
		if ctx.Err() != nil {
			return 130
		}
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	fmt.Println("Ctrl-C stops everything.")
	// Serve until Ctrl-C, or until a server dies (said, not hidden).
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
			for _, sv := range s.servers {
				if sv.proc.Exited() {
					fmt.Fprintf(os.Stderr, "%s exited:\n%s\n", sv.name, sv.proc.Tail(3000))
					return 1
				}
			}
		}
	}
}

// stop stops the servers, then the upstreams, newest first.
func (s *sandbox) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		start := time.Now()
		s.procs[i].Stop()
		fmt.Fprintf(os.Stderr, "stopped %s (%s)\n", s.procs[i].Name, time.Since(start).Round(100*time.Millisecond))
	}
	for i := len(s.stops) - 1; i >= 0; i-- {
		start := time.Now()
		s.stops[i].stop()
		fmt.Fprintf(os.Stderr, "stopped %s (%s)\n", s.stops[i].name, time.Since(start).Round(100*time.Millisecond))
	}
	s.procs, s.stops = nil, nil
}

// wanted lists the upstreams the sandbox must build, for build.sh.
func (s *sandbox) wanted() []string {
	var w []string
	if s.cfg.kubeconfig == "" {
		w = append(w, "kubernetes")
	}
	if s.cfg.loki == "" {
		w = append(w, "loki")
	}
	if s.cfg.gitea == "" {
		w = append(w, "gitea")
	}
	if s.cfg.docker == "" && os.Geteuid() == 0 {
		w = append(w, "docker")
	}
	if s.cfg.ollama == "" {
		w = append(w, "ollama")
	}
	return w
}

// build builds the upstreams the sandbox needs (e2e/upstreams/build.sh, the
// tests' own cache). Cached, it returns at once; the first time, it says
// so, how long it takes, and shows build.sh's progress and the time spent.
func (s *sandbox) build(ctx context.Context) error {
	want := s.wanted()
	if len(want) == 0 {
		return nil
	}
	cold := harness.UpstreamsMissing(want)
	if len(cold) > 0 {
		fmt.Fprintf(os.Stderr, "First run: building the sandbox's upstreams (%s) from source into %s.\n"+
			"This takes about 26 minutes on 2 cores, once; later runs start in about a minute.\n",
			strings.Join(cold, ", "), harness.CacheDir())
	}
	start := time.Now()
	done := make(chan struct{})
	if len(cold) > 0 {
		go func() {
			t := time.NewTicker(30 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					fmt.Fprintf(os.Stderr, "  still building: %s so far\n", time.Since(start).Round(time.Second))
				}
			}
		}()
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(s.root, "e2e", "upstreams", "build.sh")}, want...)...)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	err := cmd.Run()
	close(done)
	if err != nil {
		return fmt.Errorf("build the upstreams (e2e/upstreams/build.sh %s): %w", strings.Join(want, " "), err)
	}
	if len(cold) > 0 {
		fmt.Fprintf(os.Stderr, "Upstreams built in %s.\n", time.Since(start).Round(time.Second))
	}
	return nil
}

func (s *sandbox) start(ctx context.Context) error {
	if err := s.build(ctx); err != nil {
		return err
	}
	for _, b := range []string{"mcp-kubernetes", "mcp-gitea", "mcp-swarm", "mcp-logs", "mcp-docs", "mcp-orchestrator"} {
		if _, err := os.Stat(filepath.Join(s.bin, b)); err != nil {
			return fmt.Errorf("%s is not built in %s: run make build (make run does)", b, s.bin)
		}
	}
	var notes []string
	say := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	// Ollama first: the orchestrator and mcp-docs use it.
	ollamaURL, model, embedModel := s.cfg.ollama, os.Getenv("OPSMCP_MODEL"), ""
	if ollamaURL == "" {
		say("sandbox: starting Ollama with a tiny model")
		o, err := harness.StartOllama(ctx, s.dir)
		if err != nil {
			return fmt.Errorf("ollama: %w", err)
		}
		s.stops = append(s.stops, part{"Ollama", o.Stop})
		// A tiny random-weight model: its words are gibberish, the
		// protocol (tool calls, streaming, embeddings) is real.
		if err := o.CreateTiny(ctx, "tiny", true, "num_predict 48"); err != nil {
			return err
		}
		if err := o.CreateTiny(ctx, "tiny-embed", false, "num_ctx 2048"); err != nil {
			return err
		}
		ollamaURL, model, embedModel = o.URL, "tiny", "tiny-embed"
	}

	kubeconfig := s.cfg.kubeconfig
	if kubeconfig == "" {
		say("sandbox: starting etcd, kube-apiserver and kube-controller-manager")
		kdir := filepath.Join(s.dir, "kube")
		if err := os.MkdirAll(kdir, 0o700); err != nil {
			return err
		}
		k, err := harness.StartKube(ctx, kdir)
		if err != nil {
			return fmt.Errorf("kubernetes: %w", err)
		}
		s.stops = append(s.stops, part{"kube-apiserver, etcd and kube-controller-manager", k.Stop})
		w, err := harness.SeedKubeWorld(ctx, k)
		if err != nil {
			return fmt.Errorf("seed the cluster: %w", err)
		}
		s.stops = append(s.stops, part{"the stand-in kubelet", w.Stop})
		ns, pod, _ := strings.Cut(w.FailingPod, "/")
		tries["mcp-kubernetes"][2] = fmt.Sprintf(`tool k8s_kubectl {"command": "logs -n %s %s --previous"}`, ns, pod)
		if kubeconfig, err = k.WriteKubeconfig("reader.kubeconfig", k.ReaderToken, "sandbox"); err != nil {
			return err
		}
	}

	giteaURL, giteaTokenFile := s.cfg.gitea, ""
	if giteaURL == "" {
		say("sandbox: starting Gitea")
		g, err := harness.StartGitea(ctx, s.dir)
		if err != nil {
			return fmt.Errorf("gitea: %w", err)
		}
		s.stops = append(s.stops, part{"Gitea", g.Stop})
		w, err := harness.SeedGiteaWorld(ctx, g, s.dir)
		if err != nil {
			return fmt.Errorf("seed gitea: %w", err)
		}
		giteaURL, giteaTokenFile = g.URL, filepath.Join(s.dir, "gitea-reader.token")
		if err := os.WriteFile(giteaTokenFile, []byte(w.ReaderToken+"\n"), 0o600); err != nil {
			return err
		}
	}

	dockerHost := s.cfg.docker
	switch {
	case dockerHost != "":
	case os.Geteuid() != 0:
		notes = append(notes, "mcp-swarm: not started: the sandbox's dockerd needs root (run make run as root, or set DOCKER_HOST to an engine)")
	default:
		say("sandbox: starting dockerd in Swarm mode")
		sw, err := harness.StartSwarm(ctx, s.dir)
		if err != nil {
			return fmt.Errorf("swarm: %w", err)
		}
		s.stops = append(s.stops, part{"dockerd", sw.Stop})
		if err := harness.SeedSwarmWorld(ctx, sw, s.dir); err != nil {
			return fmt.Errorf("seed swarm: %w", err)
		}
		dockerHost = sw.Host
	}

	lokiURL := s.cfg.loki
	if lokiURL == "" {
		say("sandbox: starting Loki")
		l, err := harness.StartLoki(ctx, s.dir)
		if err != nil {
			return fmt.Errorf("loki: %w", err)
		}
		s.stops = append(s.stops, part{"Loki", l.Stop})
		if err := harness.SeedLokiWorld(ctx, l); err != nil {
			return fmt.Errorf("seed loki: %w", err)
		}
		lokiURL = l.URL
	}
	logRoot := os.Getenv("LOG_ROOT")
	if logRoot == "" {
		logRoot = filepath.Join(s.dir, "logs")
		if err := harness.WriteLogFiles(logRoot); err != nil {
			return err
		}
	}

	// The servers. Each sandbox upstream's address reaches only its own
	// server; a configured one reaches its server as the user set it.
	var kargs []string
	if s.cfg.kubeconfig == "" {
		// A configured kubeconfig ($KUBECONFIG may list several files)
		// reaches the server as kubectl reads it: unset flag.
		kargs = []string{"--kubeconfig", kubeconfig}
	}
	if err := s.serve(ctx, "mcp-kubernetes", 8081, "Kubernetes "+describeKube(s.cfg.kubeconfig, kubeconfig), nil, kargs...); err != nil {
		return err
	}
	gargs := []string{"--gitea-url", giteaURL}
	if giteaTokenFile != "" {
		gargs = append(gargs, "--gitea-token-file", giteaTokenFile)
	}
	if err := s.serve(ctx, "mcp-gitea", 8082, "Gitea "+giteaURL+origin(s.cfg.gitea), nil, gargs...); err != nil {
		return err
	}
	if dockerHost != "" {
		if err := s.serve(ctx, "mcp-swarm", 8083, "Docker engine "+dockerHost+origin(s.cfg.docker), []string{"DOCKER_HOST=" + dockerHost}); err != nil {
			return err
		}
	}
	if err := s.serve(ctx, "mcp-logs", 8084, "Loki "+lokiURL+origin(s.cfg.loki)+", files under "+logRoot, nil,
		"--loki-url", lokiURL, "--files-root", logRoot); err != nil {
		return err
	}
	dargs := []string{"--cache-dir", filepath.Join(s.dir, "docs"), "--ollama-url", ollamaURL}
	if embedModel != "" {
		// Small batches: the first vectors land, and search turns
		// hybrid, seconds after the index starts instead of a minute.
		dargs = append(dargs, "--embed-model", embedModel, "--embed-batch", "8")
	}
	docsFrom := "this repository's README, docs/ and deploy/ (no sources file)"
	if c := os.Getenv("OPSMCP_DOCS_CONFIG"); c != "" {
		dargs, docsFrom = append(dargs, "--config", c), "sources from "+c+" (configured)"
	}
	if err := s.serve(ctx, "mcp-docs", 8085, docsFrom, nil, dargs...); err != nil {
		return err
	}
	// The orchestrator's servers file: the user's, else one listing the
	// servers just started.
	servers := os.Getenv("OPSMCP_ORCHESTRATOR_CONFIG")
	if servers == "" {
		servers = filepath.Join(s.dir, "servers.yaml")
		if err := s.writeServers(servers); err != nil {
			return err
		}
	}
	oargs := []string{"--config", servers}
	if model != "" {
		oargs = append(oargs, "--model", model)
	}
	if err := s.serve(ctx, "mcp-orchestrator", 8080, "Ollama "+ollamaURL+origin(s.cfg.ollama), []string{"OLLAMA_URL=" + ollamaURL}, oargs...); err != nil {
		return err
	}
	s.print(servers, model, notes)
	return nil
}

func origin(configured string) string {
	if configured != "" {
		return " (configured)"
	}
	return " (sandbox)"
}

func describeKube(configured, used string) string {
	if configured != "" {
		return configured + " (configured)"
	}
	return "sandbox, kubeconfig " + used
}

// listen picks the server's usual port on 127.0.0.1, or a free one when
// something else holds it.
func listen(port int) (string, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err == nil {
		l.Close()
		return addr, nil
	}
	p, err := harness.FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", p), nil
}

// serve starts one server over HTTP on loopback, with auth off (loopback
// only), and waits for /healthz.
func (s *sandbox) serve(ctx context.Context, name string, port int, upstream string, env []string, args ...string) error {
	addr, err := listen(port)
	if err != nil {
		return err
	}
	full := []string{"--transport", "http", "--listen", addr}
	if name == "mcp-docs" || name == "mcp-orchestrator" {
		full = append([]string{"serve"}, full...)
	}
	full = append(full, args...)
	logPath := filepath.Join(s.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, name), full...)
	// Each server gets its upstream by flag (or env), which wins over
	// the user's variables; their OPSMCP_* settings stay theirs.
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = s.root
	cmd.Stdout, cmd.Stderr = f, f
	p, err := harness.StartCmd(name, cmd, f, logPath)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	url := "http://" + addr
	if err := harness.WaitHTTP(ctx, p, url+"/healthz", "", http.DefaultClient, 60*time.Second); err != nil {
		return err
	}
	s.servers = append(s.servers, &server{name: name, url: url, upstream: upstream, proc: p})
	return nil
}

// writeServers writes the orchestrator's servers config: every started
// server by URL. Auth is off on loopback, so a server cannot be told the
// user of a serve call: the orchestrator's own identity applies.
func (s *sandbox) writeServers(path string) error {
	var b strings.Builder
	b.WriteString("# Written by the sandbox (make run): the servers it started.\nservers:\n")
	for _, sv := range s.servers {
		fmt.Fprintf(&b, "  - name: %s\n    url: %s/mcp\n    user_calls: as-orchestrator\n", strings.TrimPrefix(sv.name, "mcp-"), sv.url)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// tries are three things to try per server.
var tries = map[string][]string{
	"mcp-kubernetes": {
		`ask your IDE: "which pods are failing, and why?" (k8s_get, k8s_describe, k8s_events, k8s_logs)`,
		`tool k8s_kubectl {"command": "get deployments -A"}`,
		`tool k8s_kubectl {"command": "logs -n payments <the ledger pod> --previous"}`,
	},
	"mcp-gitea": {
		`ask your IDE: "what does the open pull request in platform/infra change?" (gitea_pulls, gitea_diff)`,
		`tool gitea_tree {"repo": "platform/infra"}`,
		`tool gitea_iac {"repo": "platform/infra"}  (reviews the Terraform, the chart and the manifests)`,
	},
	"mcp-swarm": {
		`ask your IDE: "which service of the shop stack keeps failing?" (swarm_services, swarm_tasks)`,
		`tool swarm_stacks {}`,
		`tool swarm_logs {"service": "shop_payments"}`,
	},
	"mcp-logs": {
		`ask your IDE: "why does checkout return 502?" (logs_query, logs_patterns)`,
		`tool logs_query {"query": "{namespace=\"payments\"} |= \"error\"", "since": "1h"}`,
		`tool logs_files {}  then logs_tail {"path": "nginx/access.log"}`,
	},
	"mcp-docs": {
		`ask your IDE: "how does the orchestrator learn who asked?" (docs_search)`,
		`tool docs_search {"query": "threat model", "path": "docs/*"}`,
		`tool docs_sources {}`,
	},
}

// print says, per server, its URL, an mcp.json snippet and what to try.
func (s *sandbox) print(servers, model string, notes []string) {
	fmt.Println()
	fmt.Println("opsmcp is running. Every server listens on loopback, with auth off.")
	fmt.Println()
	ide := map[string]any{}
	for _, sv := range s.servers {
		if sv.name == "mcp-orchestrator" {
			continue
		}
		ide[strings.TrimPrefix(sv.name, "mcp-")] = map[string]string{"url": sv.url + "/mcp"}
	}
	orch := filepath.Join(s.bin, "mcp-orchestrator")
	if rel, err := filepath.Rel(s.root, orch); err == nil && !strings.HasPrefix(rel, "..") {
		orch = rel
	}
	for _, sv := range s.servers {
		if sv.name == "mcp-orchestrator" {
			fmt.Printf("== %s: %s (/api/chat, /v1/chat/completions), %s\n", sv.name, sv.url, sv.upstream)
			fmt.Println("   try:")
			fmt.Printf("     %s ask --config %s \"kubectl get pods -A\"\n", orch, servers)
			m := model
			if m == "" {
				m = "<model>"
			}
			fmt.Printf("     curl -s %s/api/chat -H 'Content-Type: application/json' -d '{\"model\": \"%s\", \"stream\": false, \"messages\": [{\"role\": \"user\", \"content\": \"kubectl get deployments -A\"}]}'\n", sv.url, m)
			fmt.Printf("     %s chat --config %s --model %s   (the tiny sandbox model's words are gibberish; its tool calls are real)\n", orch, servers, m)
			fmt.Println("   Open WebUI or Continue: an Ollama connection to " + sv.url)
			fmt.Println()
			continue
		}
		fmt.Printf("== %s: %s/mcp (legacy SSE: %s/sse), %s\n", sv.name, sv.url, sv.url, sv.upstream)
		snippet, _ := json.MarshalIndent(map[string]any{"mcpServers": map[string]any{strings.TrimPrefix(sv.name, "mcp-"): map[string]string{"url": sv.url + "/mcp"}}}, "   ", "  ")
		fmt.Println("   mcp.json: " + string(snippet))
		fmt.Println("   try:")
		for _, t := range tries[sv.name] {
			fmt.Println("     " + t)
		}
		fmt.Println()
	}
	all, _ := json.MarshalIndent(map[string]any{"mcpServers": ide}, "", "  ")
	fmt.Println("All of them in one mcp.json (VS Code names the top key \"servers\"):")
	fmt.Println(string(all))
	for _, n := range notes {
		fmt.Println(n)
	}
	fmt.Printf("Logs and data: %s (removed on stop)\n", s.dir)
	for _, sv := range s.servers {
		fmt.Printf("READY %s %s\n", sv.name, sv.url)
	}
}
