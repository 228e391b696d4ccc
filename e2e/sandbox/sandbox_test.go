// Package sandbox_test runs `make run` the way the README's quick start
// says, on a machine where nothing is configured (a fresh HOME, no
// upstream variables), on the cached upstreams: every printed server must
// answer, the orchestrator's kubectl path must reach the sandbox cluster,
// and Ctrl-C must leave no process behind.
package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// cleanEnv is a newcomer's environment: PATH and the Go caches (so the
// build is warm), the upstreams' cache, a fresh HOME, and none of the
// variables that configure an upstream or a server.
func cleanEnv(t *testing.T, home string) []string {
	t.Helper()
	goenv := func(k string) string {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		return strings.TrimSpace(string(out))
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8",
		"GOCACHE=" + goenv("GOCACHE"), "GOMODCACHE=" + goenv("GOMODCACHE"), "GOPATH=" + goenv("GOPATH"),
		"GOTOOLCHAIN=" + goenv("GOTOOLCHAIN"), "GOFLAGS=" + goenv("GOFLAGS"),
		"OPSMCP_E2E_CACHE=" + harness.CacheDir(),
	}
	if v := os.Getenv("GOROOT"); v != "" {
		env = append(env, "GOROOT="+v)
	}
	return env
}

// proc is one process: its start time tells a reused pid apart.
type proc struct {
	pid, ppid int
	start     string
	cmd       string
}

// processes lists every process on the machine.
func processes() map[int]proc {
	out := map[int]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses: fields start
		// after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 20 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = proc{pid: pid, ppid: ppid, start: f[19], cmd: strings.ReplaceAll(string(cmd), "\x00", " ")}
	}
	return out
}

// family is every process descended from root, or whose command line
// names one of marks (containerd's shims leave the tree: they re-parent
// to init), with their descendants.
func family(root int, marks []string) map[int]proc {
	all := processes()
	in := map[int]proc{}
	for pid, p := range all {
		if pid == root {
			in[pid] = p
		}
		for _, m := range marks {
			if m != "" && strings.Contains(p.cmd, m) {
				in[pid] = p
			}
		}
	}
	for grew := true; grew; {
		grew = false
		for pid, p := range all {
			if _, ok := in[pid]; !ok {
				if _, parent := in[p.ppid]; parent {
					in[pid] = p
					grew = true
				}
			}
		}
	}
	return in
}

// output collects make's stdout as it comes.
type output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *output) add(s string) { o.mu.Lock(); o.b.WriteString(s); o.mu.Unlock() }

// Write makes an output an io.Writer (stderr).
func (o *output) Write(p []byte) (int, error) { o.add(string(p)); return len(p), nil }
func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// running is a `make run` in its own process group.
type running struct {
	cmd     *exec.Cmd
	exited  chan error
	out     *output
	stderr  *output
	stopped bool
}

// makeRun starts `make run` from the repository root with env and waits
// until it says it is ready; the test's end stops it with SIGINT, as
// Ctrl-C would.
func makeRun(t *testing.T, env []string) *running {
	t.Helper()
	cmd := exec.Command("make", "run")
	cmd.Dir = harness.Root()
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, exited: make(chan error, 1), out: &output{}, stderr: &output{}}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			r.out.add(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Ctrl-C stops everything") {
				once.Do(func() { close(ready) })
			}
		}
		r.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if !r.stopped {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			select {
			case <-r.exited:
			case <-time.After(2 * time.Minute):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			t.Logf("make run stdout:\n%s\nstderr:\n%s", r.out.String(), r.stderr.String())
		}
	})
	select {
	case <-ready:
	case err := <-r.exited:
		r.stopped = true
		t.Fatalf("make run ended before it was ready: %v\n%s\n%s", err, r.out.String(), r.stderr.String())
	// make run builds the binaries first: on a cold Go build cache (a
	// fresh CI machine, whose other steps build without -trimpath) that
	// alone takes minutes.
	case <-time.After(10 * time.Minute):
		t.Fatal("make run not ready after 10 minutes")
	}
	return r
}

func TestMakeRunStartsTheSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the sandbox's Swarm runs a dockerd: run as root, like the Swarm e2e")
	}
	if _, err := os.Stat("/var/run/docker.sock"); err == nil {
		t.Fatal("/var/run/docker.sock exists: the sandbox would use that engine instead of its own, and this test expects the sandbox's")
	}
	if missing := harness.UpstreamsMissing([]string{"kubernetes", "loki", "gitea", "docker", "ollama"}); len(missing) > 0 {
		t.Fatalf("upstreams not built (%v): run make upstreams first (make test does)", missing)
	}
	began := time.Now()
	home := t.TempDir()
	r := makeRun(t, cleanEnv(t, home))
	cmd, exited, out, stderr := r.cmd, r.exited, r.out, r.stderr
	t.Logf("make run ready in %s", time.Since(began).Round(time.Second))
	text := out.String()
	if strings.Contains(stderr.String(), "First run") {
		t.Errorf("a warm cache was taken for a first run:\n%s", stderr.String())
	}

	// Every server is printed with its URL, a snippet and three things to try.
	urls := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^READY (\S+) (http://127\.0\.0\.1:\d+)$`).FindAllStringSubmatch(text, -1) {
		urls[m[1]] = m[2]
	}
	for _, name := range []string{"mcp-kubernetes", "mcp-gitea", "mcp-swarm", "mcp-logs", "mcp-docs", "mcp-orchestrator"} {
		u, ok := urls[name]
		if !ok {
			t.Fatalf("%s: no URL printed", name)
		}
		section := text[strings.Index(text, "== "+name+": "):]
		// A server's part ends at the blank line after it.
		if i := strings.Index(section, "\n\n"); i >= 0 {
			section = section[:i+1]
		}
		if name != "mcp-orchestrator" && !strings.Contains(section, `"url": "`+u+`/mcp"`) {
			t.Errorf("%s: no mcp.json snippet with %s/mcp in:\n%s", name, u, section)
		}
		if n := strings.Count(section[strings.Index(section, "try:"):], "\n     "); n != 3 {
			t.Errorf("%s: %d things to try, want 3:\n%s", name, n, section)
		}
		// Each printed URL answers: the orchestrator's /api/tags, the
		// servers' /readyz (their upstream reachable).
		probe := u + "/readyz"
		if name == "mcp-orchestrator" {
			probe = u + "/api/tags"
		}
		if err := harness.WaitHTTP(context.Background(), nil, probe, "", http.DefaultClient, 60*time.Second); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	runDir := regexp.MustCompile(`(?m)^Logs and data: (\S+) `).FindStringSubmatch(text)
	swarmSock := regexp.MustCompile(`Docker engine unix://(\S+)/d\.sock \(sandbox\)`).FindStringSubmatch(text)
	if runDir == nil || swarmSock == nil {
		t.Fatalf("no data folder or sandbox engine printed:\n%s", text)
	}
	if !strings.HasPrefix(runDir[1], filepath.Join(home, ".cache", "opsmcp-sandbox")+"/") {
		t.Errorf("sandbox data in %s, not under the user's cache", runDir[1])
	}

	// Each server lists its tools and answers from the fixture world.
	checks := []struct {
		server, tool string
		args         map[string]any
		want         []string
	}{
		{"mcp-kubernetes", "k8s_kubectl", map[string]any{"command": "get deployments -A"}, []string{"ledger", "0/1", "web", "2/2"}},
		{"mcp-gitea", "gitea_repos", map[string]any{}, []string{"platform/infra"}},
		{"mcp-gitea", "gitea_pulls", map[string]any{"repo": "platform/infra"}, []string{"Roll ledger back to 2.3.9"}},
		{"mcp-swarm", "swarm_services", map[string]any{}, []string{"shop_web", "shop_payments"}},
		{"mcp-logs", "logs_query", map[string]any{"query": `{namespace="payments"} |= "migration"`, "since": "2h"}, []string{"migration 0042 failed"}},
		{"mcp-logs", "logs_files", map[string]any{}, []string{"access.log"}},
		// The embedded default: this repository's own docs answer.
		{"mcp-docs", "docs_search", map[string]any{"query": "threat model", "path": "docs/*"}, []string{"docs/security.md#"}},
		{"mcp-docs", "docs_search", map[string]any{"query": "quick start make run sandbox"}, []string{"README.md#"}},
	}
	var seen harness.Recorder
	sessions := map[string]*mcp.ClientSession{}
	wantTools := map[string]string{"mcp-kubernetes": "k8s_get", "mcp-gitea": "gitea_file", "mcp-swarm": "swarm_tasks", "mcp-logs": "logs_tail", "mcp-docs": "docs_get"}
	for name, tool := range wantTools {
		s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: urls[name] + "/mcp"})
		sessions[name] = s
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := s.ListTools(ctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s: list tools: %v", name, err)
		}
		var names []string
		for _, tl := range res.Tools {
			names = append(names, tl.Name)
		}
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+tool+" ") {
			t.Errorf("%s lists %v, without %s", name, names, tool)
		}
	}
	for _, c := range checks {
		var r harness.Result
		// mcp-docs indexes in the background: its first search may
		// come before the index.
		deadline := time.Now().Add(2 * time.Minute)
		for {
			r = harness.Call(t, &seen, sessions[c.server], c.tool, c.args)
			if !r.IsError && containsAll(r.Text+fmt.Sprint(r.Data), c.want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if r.IsError || !containsAll(r.Text+fmt.Sprint(r.Data), c.want) {
			t.Errorf("%s %s %v: want %q in:\n%.3000s", c.server, c.tool, c.args, c.want, r.Text)
		}
	}

	// mcp-docs embeds the repository's docs with the sandbox's Ollama in
	// the background (about 90 s here): then its search is hybrid.
	for deadline := time.Now().Add(4 * time.Minute); ; {
		r := harness.Call(t, &seen, sessions["mcp-docs"], "docs_search", map[string]any{"query": "who may act for another user"})
		if strings.HasPrefix(r.Text, "mode: hybrid") && strings.Contains(r.Text, ".md#") {
			t.Logf("hybrid search after %s", time.Since(began).Round(time.Second))
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("docs_search never became hybrid with the sandbox's Ollama:\n%.2000s", r.Text)
			break
		}
		time.Sleep(3 * time.Second)
	}

	// The orchestrator's kubectl path, as printed: ask, then /api/chat.
	askLine := regexp.MustCompile(`(?m)^\s+(bin/mcp-orchestrator) ask --config (\S+) "kubectl get pods -A"$`).FindStringSubmatch(text)
	if askLine == nil {
		t.Fatalf("no ask line printed:\n%s", text)
	}
	ask := exec.Command(filepath.Join(harness.Root(), askLine[1]), "ask", "--config", askLine[2], "kubectl get pods -A")
	ask.Env = cleanEnv(t, home)
	got, err := ask.CombinedOutput()
	if err != nil || !containsAll(string(got), []string{"CrashLoopBackOff", "ledger-", "Running", "-> k8s_kubectl"}) {
		t.Errorf("ask kubectl get pods -A: %v:\n%s", err, got)
	}
	body := `{"model": "tiny", "stream": false, "messages": [{"role": "user", "content": "kubectl get deployments -A"}]}`
	resp, err := http.Post(urls["mcp-orchestrator"]+"/api/chat", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var chat struct {
		Message struct{ Content string } `json:"message"`
	}
	if err := json.Unmarshal(raw, &chat); err != nil || resp.StatusCode != 200 || !containsAll(chat.Message.Content, []string{"ledger", "0/1"}) {
		t.Errorf("/api/chat kubectl: %s %v: %s", resp.Status, err, raw)
	}

	// Ctrl-C: every process of the sandbox ends, dockerd's containerd,
	// shims and containers included.
	marks := []string{runDir[1], swarmSock[1]}
	before := family(cmd.Process.Pid, marks)
	var names []string
	for _, p := range before {
		names = append(names, p.cmd)
	}
	joined := strings.Join(names, "\n")
	for _, want := range []string{"etcd-v3.6.16", "kube-apiserver-v1.36.3", "kube-controller-manager-v1.36.3", "gitea-v1.26.0 web", "loki-v3.7.8",
		"ollama-v0.17.4 serve", "usr/sbin/dockerd", "containerd", "containerd-shim", "opsmcp-sandbox", "bin/mcp-orchestrator serve", "bin/mcp-docs serve"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s among the sandbox's processes: the leftover check would not see it", want)
		}
	}
	stop := time.Now()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("make run still running 2 minutes after Ctrl-C")
	}
	r.stopped = true
	t.Logf("stopped in %s (%d processes)", time.Since(stop).Round(time.Second), len(before))
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.HasPrefix(l, "stopped ") {
			t.Log(l)
		}
	}
	// Processes re-parented to init may take a moment to be reaped.
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		left = nil
		now := processes()
		for pid, p := range before {
			if q, ok := now[pid]; ok && q.start == p.start {
				left = append(left, fmt.Sprintf("%d %s", pid, p.cmd))
			}
		}
		for pid, p := range now {
			for _, m := range marks {
				if strings.Contains(p.cmd, m) {
					left = append(left, fmt.Sprintf("%d %s", pid, p.cmd))
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("left behind after Ctrl-C:\n%s", strings.Join(left, "\n"))
	}
	for _, d := range marks {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s still exists after Ctrl-C", d)
		}
	}
	t.Logf("whole test: %s", time.Since(began).Round(time.Second))
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// recorder is a stand-in upstream that answers 200 with an empty JSON
// object to everything and records "METHOD /path?query".
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Method+" "+r.URL.RequestURI())
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/tags" || r.URL.Path == "/api/ps":
		io.WriteString(w, `{"models":[]}`)
	case r.URL.Path == "/api/v1/version":
		io.WriteString(w, `{"version":"1.26.0"}`)
	default:
		io.WriteString(w, `{}`)
	}
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.reqs...)
}

// serveRecorder serves a recorder on ln until the test ends.
func serveRecorder(t *testing.T, network, addr string) (*recorder, string) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return rec, ln.Addr().String()
}

// TestConfiguredUpstreamsWin: with every upstream configured (a kubeconfig,
// GITEA_URL, DOCKER_HOST, LOKI_URL, OLLAMA_URL, each a recording stand-in),
// make run starts no sandbox part, points each server at the configured
// one, and the sandbox itself never writes to any of them (no seeding: no
// push to Loki, no repository made in Gitea, no model made in Ollama, no
// object created in the cluster, no stack deployed).
func TestConfiguredUpstreamsWin(t *testing.T) {
	home := t.TempDir()
	kube, kubeAddr := serveRecorder(t, "tcp", "127.0.0.1:0")
	gitea, giteaAddr := serveRecorder(t, "tcp", "127.0.0.1:0")
	loki, lokiAddr := serveRecorder(t, "tcp", "127.0.0.1:0")
	ollama, ollamaAddr := serveRecorder(t, "tcp", "127.0.0.1:0")
	dockerSock := filepath.Join(t.TempDir(), "docker.sock")
	docker, _ := serveRecorder(t, "unix", dockerSock)
	kubeconfig := filepath.Join(home, "configured.kubeconfig")
	os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: mine
clusters: [{name: mine, cluster: {server: "http://%s"}}]
users: [{name: me, user: {token: my-token}}]
contexts: [{name: mine, context: {cluster: mine, user: me}}]
`, kubeAddr)), 0o600)
	env := append(cleanEnv(t, home), "KUBECONFIG="+kubeconfig, "GITEA_URL=http://"+giteaAddr, "GITEA_TOKEN=my-gitea-token",
		"DOCKER_HOST=unix://"+dockerSock, "LOKI_URL=http://"+lokiAddr, "OLLAMA_URL=http://"+ollamaAddr, "LOG_ROOT="+t.TempDir())
	r := makeRun(t, env)
	text, errs := r.out.String(), r.stderr.String()
	if strings.Contains(errs, "sandbox: starting") {
		t.Errorf("a sandbox part started though every upstream is configured:\n%s", errs)
	}
	for _, want := range []string{
		"Kubernetes " + kubeconfig + " (configured)", "Gitea http://" + giteaAddr + " (configured)",
		"Docker engine unix://" + dockerSock + " (configured)", "Loki http://" + lokiAddr + " (configured)",
		"Ollama http://" + ollamaAddr + " (configured)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output does not say %q", want)
		}
	}
	// The servers reach what is configured (each made at least one call
	// by now or on a first tool call).
	urls := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^READY (\S+) (http://127\.0\.0\.1:\d+)$`).FindAllStringSubmatch(text, -1) {
		urls[m[1]] = m[2]
	}
	var seen harness.Recorder
	for name, tool := range map[string]string{"mcp-kubernetes": "k8s_api_resources", "mcp-gitea": "gitea_repos", "mcp-swarm": "swarm_services", "mcp-logs": "logs_labels"} {
		s := harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: urls[name] + "/mcp"})
		harness.Call(t, &seen, s, tool, map[string]any{})
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-r.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("make run still running 2 minutes after Ctrl-C")
	}
	r.stopped = true
	for name, rec := range map[string]*recorder{"kubernetes": kube, "gitea": gitea, "docker": docker, "loki": loki, "ollama": ollama} {
		reqs := rec.requests()
		t.Logf("%s: %d requests, first %.200v", name, len(reqs), reqs)
		if name != "ollama" && len(reqs) == 0 {
			t.Errorf("%s: the configured upstream was never called", name)
		}
		for _, q := range reqs {
			method, path, _ := strings.Cut(q, " ")
			// Servers read with GET (the orchestrator and mcp-docs POST
			// questions and embeddings to Ollama: reads too); anything
			// else is the sandbox seeding a system it must not touch.
			if method == http.MethodGet || method == http.MethodHead ||
				(name == "ollama" && method == http.MethodPost && (path == "/api/show" || path == "/api/embed" || path == "/api/chat")) ||
				(name == "kubernetes" && method == http.MethodPost && strings.HasSuffix(path, "selfsubjectrulesreviews")) {
				continue
			}
			t.Errorf("%s: the sandbox wrote to a configured upstream: %s", name, q)
		}
	}
}

// TestFirstRunSaysItBuilds: with an empty upstream cache, the sandbox says
// it is building the upstreams, how long that takes, and passes on
// build.sh's progress. Go is left off PATH so build.sh stops at its first
// step instead of spending half an hour; the failure is said too.
func TestFirstRunSaysItBuilds(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "opsmcp-sandbox")
	build := exec.Command("go", "build", "-o", bin, "./e2e/cmd/sandbox")
	build.Dir = harness.Root()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	home := t.TempDir()
	cache := filepath.Join(t.TempDir(), "empty-cache")
	cmd := exec.Command(bin)
	cmd.Dir = harness.Root()
	// No upstream configured; an empty cache; no go on PATH.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "OPSMCP_E2E_CACHE=" + cache}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the sandbox started with no upstream built and no go to build them:\n%s", out)
	}
	for _, want := range []string{
		"First run: building the sandbox's upstreams (kubernetes, loki, gitea",
		"about 26 minutes on 2 cores, once",
		"building etcd v3.6.16 (first run only; minutes)",
		"sandbox: build the upstreams (e2e/upstreams/build.sh kubernetes loki gitea",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(home, ".cache", "opsmcp-sandbox")); len(ents) != 0 {
		t.Errorf("a failed start left %d folders in the sandbox's cache", len(ents))
	}
}
