package load_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// seen keeps the servers' logs (the harness wants a recorder).
var seen harness.Recorder

const loadToken = "load-tok-5e1f0c9a7b"

// BenchmarkLoad: each server, then the floor, under the configured
// sessions and duration. Each sub-benchmark starts its own upstream, so
// one can be run alone (-bench Load/kubernetes).
func BenchmarkLoad(b *testing.B) {
	b.Run("floor", benchFloor)
	b.Run("floor-leaking", benchFloorLeaking)
	b.Run("kubernetes", benchKubernetes)
	b.Run("gitea", benchGitea)
	b.Run("logs", benchLogs)
	b.Run("swarm", benchSwarm)
	b.Run("docs", benchDocs)
}

// serverArgs are the flags every opsmcp server gets here: HTTP on a free
// loopback port, a token for the load user, an audit file, and the
// per-user rate limit raised for this run (one user makes every call; the
// default 120 a minute would measure the limiter, not the server).
func serverArgs(b *testing.B, dir string) (url string, args []string) {
	b.Helper()
	port, err := harness.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(loadToken+",loader,sre\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	return url, []string{"--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--auth-tokens", tokens,
		"--audit-log", filepath.Join(dir, "audit.log"), "--rate-limit", "1000000", "--rate-burst", "100000"}
}

// once runs f as the benchmark's single iteration: a load run has its
// own duration (OPSMCP_LOAD_DURATION), not b.N's.
func once(b *testing.B, f func()) {
	for b.Loop() {
		f()
	}
}

func workDir(b *testing.B, name string) string {
	dir, err := os.MkdirTemp("", "opsmcp-load-"+name+"-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func contains(want string) func(*mcp.CallToolResult) error {
	return func(res *mcp.CallToolResult) error {
		raw, _ := json.Marshal(res.StructuredContent)
		if !strings.Contains(text(res)+string(raw), want) {
			return fmt.Errorf("result lacks %q: %.300s", want, text(res))
		}
		return nil
	}
}

func benchFloor(b *testing.B) {
	t := startFloor(b, "floor")
	once(b, func() { runLoad(b, t) })
}

// startFloor builds and starts the no-op go-sdk server under name, with
// its extra flags.
func startFloor(b *testing.B, name string, extra ...string) target {
	dir := workDir(b, name)
	bin, err := buildFloor(dir)
	if err != nil {
		b.Fatal(err)
	}
	port, err := harness.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := harness.StartServer(b, &seen, dir, name, url, bin, append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)...)
	return target{name: name, url: url, proc: p, tool: "noop", args: map[string]any{}, check: contains(`"ok":true`)}
}

// benchFloorLeaking is the harness's negative control: the floor with
// --leak keeps 8 KiB and a goroutine per call, and the harness must say
// so. A short run (20 sessions, 5 s), with a settle long enough for the
// runtime's forced GC, so the memory verdict is the one a real run gets.
func benchFloorLeaking(b *testing.B) {
	t := startFloor(b, "floor-leaking", "--leak")
	once(b, func() {
		failed := strings.Join(measure(b, t, 20, 5*time.Second, 2*time.Second, 150*time.Second), "\n")
		b.Logf("verdict on the leaking floor:\n%s", failed)
		for _, want := range []string{"goroutine leak", "more than 10% over idle"} {
			if !strings.Contains(failed, want) {
				b.Errorf("the harness did not report %q on a server that leaks", want)
			}
		}
	})
}

func benchKubernetes(b *testing.B) {
	dir := workDir(b, "kubernetes")
	bin, err := harness.BuildBinary(dir, "mcp-kubernetes", "mcp-kubernetes")
	if err != nil {
		b.Fatal(err)
	}
	kube, cfg := kubeFixture(b, dir, "load", 5)
	url, args := serverArgs(b, dir)
	args = append(args, "--kubeconfig", cfg)
	args = append(args, strings.Fields(os.Getenv("OPSMCP_LOAD_KUBE_FLAGS"))...)
	p := harness.StartServer(b, &seen, dir, "mcp-kubernetes", url, bin, args...)
	once(b, func() {
		runLoad(b, target{name: "mcp-kubernetes", url: url, token: loadToken, proc: p, tool: "k8s_get",
			args: map[string]any{"resource": "pods", "namespace": "load"}, check: contains("load-4"),
			// The list k8s_get makes: kubectl's table of the pods.
			direct: directGet(directClient(200, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: kube.CA.Pool()}}),
				kube.URL+"/api/v1/namespaces/load/pods?limit=500",
				http.Header{"Authorization": {"Bearer " + kube.ReaderToken}, "Accept": {"application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}})})
	})
}

// kubeFixture starts the harness cluster with n pods in namespace ns,
// named ns-0, ns-1… and labelled app=ns (never scheduled: there is no
// node, so each list reads and renders real objects), and writes the
// read-only identity's kubeconfig; it returns the cluster and that
// file.
func kubeFixture(b *testing.B, dir, ns string, n int) (*harness.Kube, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kube, err := harness.StartKube(ctx, dir)
	if err != nil {
		b.Fatal("start kubernetes: ", err)
	}
	b.Cleanup(kube.Stop)
	if err := kube.GrantReader(ctx); err != nil {
		b.Fatal("grant the reader: ", err)
	}
	cs, err := kube.Admin()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal("create namespace: ", err)
	}
	// The namespace's default service account, which admission wants,
	// appears once the controller manager has made it.
	for i := 0; i < n; i++ {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", ns, i), Labels: map[string]string{"app": ns}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0"}}}}
		for try := 0; ; try++ {
			_, err = cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			if err == nil || try == 60 {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			b.Fatal("create pod: ", err)
		}
	}
	cfg, err := kube.WriteKubeconfig("reader.kubeconfig", kube.ReaderToken, "e2e")
	if err != nil {
		b.Fatal(err)
	}
	return kube, cfg
}

func benchGitea(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := workDir(b, "gitea")
	bin, err := harness.BuildBinary(dir, "mcp-gitea", "mcp-gitea")
	if err != nil {
		b.Fatal(err)
	}
	forge, err := harness.StartGitea(ctx, dir)
	if err != nil {
		b.Fatal("start gitea: ", err)
	}
	b.Cleanup(forge.Stop)
	adminTok, err := forge.User(ctx, "load-admin", true, "all")
	if err != nil {
		b.Fatal(err)
	}
	readerTok, err := forge.User(ctx, "load-reader", false, "read:repository,read:issue,read:user,read:organization")
	if err != nil {
		b.Fatal(err)
	}
	admin, err := gitea.NewClient(forge.URL, gitea.SetToken(adminTok))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := admin.CreateOrg(gitea.CreateOrgOption{Name: "load", Visibility: gitea.VisibleTypePublic}); err != nil {
		b.Fatal("create org: ", err)
	}
	if _, _, err := admin.CreateOrgRepo("load", gitea.CreateRepoOption{Name: "infra", AutoInit: true, DefaultBranch: "main"}); err != nil {
		b.Fatal("create repo: ", err)
	}
	for i := 0; i < 5; i++ {
		if _, _, err := admin.CreateIssue("load", "infra", gitea.CreateIssueOption{Title: fmt.Sprintf("load issue %d", i), Body: "node pool is running hot"}); err != nil {
			b.Fatal("create issue: ", err)
		}
	}
	tokFile := filepath.Join(dir, "gitea.token")
	if err := os.WriteFile(tokFile, []byte(readerTok+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	url, args := serverArgs(b, dir)
	args = append(args, "--gitea-url", forge.URL, "--gitea-token-file", tokFile, "--mirror-dir", filepath.Join(dir, "mirrors"))
	p := harness.StartServer(b, &seen, dir, "mcp-gitea", url, bin, args...)
	once(b, func() {
		runLoad(b, target{name: "mcp-gitea", url: url, token: loadToken, proc: p, tool: "gitea_issues",
			args: map[string]any{"repo": "load/infra"}, check: contains("load issue 4"),
			direct: directGet(directClient(200, nil), forge.URL+"/api/v1/repos/load/infra/issues?state=open&type=issues&page=1&limit=30",
				http.Header{"Authorization": {"token " + readerTok}})})
	})
}

func benchLogs(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := workDir(b, "logs")
	bin, err := harness.BuildBinary(dir, "mcp-logs", "mcp-logs")
	if err != nil {
		b.Fatal(err)
	}
	loki, err := harness.StartLoki(ctx, dir)
	if err != nil {
		b.Fatal("start loki: ", err)
	}
	b.Cleanup(loki.Stop)
	base := time.Now().Add(-20 * time.Minute).Truncate(time.Second)
	st := harness.Stream{Labels: map[string]string{"namespace": "load", "app": "api"}}
	for i := 0; i < 600; i++ {
		status := 200
		if i%20 == 0 {
			status = 500
		}
		st.Lines = append(st.Lines, harness.Line{Time: base.Add(time.Duration(i) * 2 * time.Second), Text: fmt.Sprintf("GET /api/orders/%d status=%d took=%dms", i, status, 3+i%40)})
	}
	if err := loki.Push(ctx, []harness.Stream{st}); err != nil {
		b.Fatal("push: ", err)
	}
	url, args := serverArgs(b, dir)
	args = append(args, "--loki-url", loki.URL)
	p := harness.StartServer(b, &seen, dir, "mcp-logs", url, bin, args...)
	lokiClient := directClient(200, nil)
	once(b, func() {
		runLoad(b, target{name: "mcp-logs", url: url, token: loadToken, proc: p, tool: "logs_query",
			args: map[string]any{"query": `{namespace="load", app="api"} |= "status=500"`, "since": "1h", "limit": 20}, check: contains("/api/orders/580 status=500"),
			// The query_range logs_query ends with (it asks the index
			// stats and volume first, which this does not).
			direct: func(ctx context.Context) error {
				now := time.Now()
				q := neturl.Values{"query": {`{namespace="load", app="api"} |= "status=500"`}, "limit": {"20"},
					"start": {fmt.Sprint(now.Add(-time.Hour).UnixNano())}, "end": {fmt.Sprint(now.UnixNano())}, "direction": {"backward"}}
				return directGet(lokiClient, loki.URL+"/loki/api/v1/query_range?"+q.Encode(), nil)(ctx)
			}})
	})
}

func benchSwarm(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := workDir(b, "swarm")
	bin, err := harness.BuildBinary(dir, "mcp-swarm", "mcp-swarm")
	if err != nil {
		b.Fatal(err)
	}
	sw, err := harness.StartSwarm(ctx, dir)
	if err != nil {
		b.Fatal("start swarm: ", err)
	}
	b.Cleanup(sw.Stop)
	// Services with no replicas: the engine keeps their specs, no
	// container runs, so the load is on the API, not on containers.
	for i := 0; i < 5; i++ {
		if _, err := sw.CLI(ctx, "service", "create", "--detach", "--no-resolve-image", "--replicas", "0",
			"--name", fmt.Sprintf("load-%d", i), "--label", "team=load", harness.BusyboxImage, "sleep", "3600"); err != nil {
			b.Fatal("create service: ", err)
		}
	}
	url, args := serverArgs(b, dir)
	// The default engine comes from DOCKER_HOST, which the server inherits.
	b.Setenv("DOCKER_HOST", sw.Host)
	p := harness.StartServer(b, &seen, dir, "mcp-swarm", url, bin, args...)
	once(b, func() {
		runLoad(b, target{name: "mcp-swarm", url: url, token: loadToken, proc: p, tool: "swarm_services",
			args: map[string]any{"name": "load-"}, check: contains("load-4"),
			// The service list swarm_services makes, over the engine's
			// unix socket.
			direct: directGet(directClient(200, &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", strings.TrimPrefix(sw.Host, "unix://"))
			}}), "http://docker/v1.41/services?status=true", nil)})
	})
}

func benchDocs(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := workDir(b, "docs")
	bin, err := harness.BuildBinary(dir, "mcp-docs", "mcp-docs")
	if err != nil {
		b.Fatal(err)
	}
	ollama, err := harness.StartOllama(ctx, dir)
	if err != nil {
		b.Fatal("start ollama: ", err)
	}
	b.Cleanup(ollama.Stop)
	const model = "tiny-embed"
	if err := ollama.CreateTiny(ctx, model, false, "num_ctx 2048"); err != nil {
		b.Fatal("tiny model: ", err)
	}
	corpus := filepath.Join(dir, "corpus")
	if err := os.CopyFS(corpus, os.DirFS(filepath.Join(harness.Root(), "mcp-docs", "testdata", "corpus"))); err != nil {
		b.Fatal(err)
	}
	sources := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(sources, []byte(fmt.Sprintf("sources:\n  - name: local\n    path: %s\n", corpus)), 0o600); err != nil {
		b.Fatal(err)
	}
	url, args := serverArgs(b, dir)
	args = append([]string{"serve"}, args...)
	args = append(args, "--config", sources, "--db", filepath.Join(dir, "docs.db"), "--cache-dir", filepath.Join(dir, "cache"),
		"--embed-model", model, "--ollama-url", ollama.URL, "--reindex-every", "0")
	p := harness.StartServer(b, &seen, dir, "mcp-docs", url, bin, args...)
	// The start-up indexing embeds with the same Ollama: it must be over
	// before the load, or it competes with the calls measured.
	s := harness.Connect(b, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient(loadToken)})
	deadline := time.Now().Add(3 * time.Minute)
	for {
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "docs_sources"})
		if err == nil && !res.IsError && strings.Contains(fmt.Sprint(res.StructuredContent), "version:") {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the corpus was not indexed within 3 minutes: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	s.Close()
	once(b, func() {
		// Hybrid (the default mode) embeds the query with Ollama on every
		// call, then searches the SQLite index.
		runLoad(b, target{name: "mcp-docs", url: url, token: loadToken, proc: p, tool: "docs_search",
			args: map[string]any{"query": "restore the orders database to a point in time", "k": 5}, check: contains("runbooks/"),
			// The query's embedding, which each hybrid search asks Ollama
			// for.
			direct: directDo(directClient(200, nil), http.MethodPost, ollama.URL+"/api/embed",
				`{"model":"`+model+`","input":"restore the orders database to a point in time"}`, http.Header{"Content-Type": {"application/json"}})})
	})
}
