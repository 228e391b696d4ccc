// Package logs_test drives the built mcp-logs binary, as a real MCP
// client, against a real Loki started on loopback (fixtures pushed through
// its push API) and against log files the test writes.
package logs_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var (
	loki     *harness.Loki
	binary   string
	workDir  string
	filesDir string
	secDir   string           // issue 13's secret-holding files, a root of their own
	seen     harness.Recorder // everything any server sent back
	// base is the time of the first fixture line; the fixtures span the
	// 20 minutes after it.
	base time.Time
	// before is Loki's request count before any server under test ran.
	before map[string]int
	fx     fixtures
)

// Planted secrets: none may come back from any tool.
const (
	jwt       = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlMmUtcGxhbnRlZCJ9.Zm9vYmFyYmF6cXV4cGxhbnRlZHNpZw"
	dbPass    = "Pl4nted-Db-Pa55w0rd"
	awsKey    = "AKIAPLANTED7EXAMPLE1"
	ghToken   = "ghp_PlantedToken0123456789abcdefghijklmn"
	filePass  = "F1le-Pl4nted-Secret!"
	fileToken = "glpat-PlantedFileToken12345"
	// Issue 13's forms: a JSON password field (line_format "{{.password}}"
	// printed it bare), an AWS secret assignment (a forged cursor started
	// just after its =), and a PEM key spread over continuation lines.
	lokiPass  = "L0ki-Pl4nted-JSON-pw"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiPlanted0AWS"
	pemLine1  = "MIIEpAIBAAKCAQEAplantedPEMkeyLineOneAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	pemLine2  = "plantedPEMkeyLineTwoBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
)

func planted() []string {
	return []string{jwt, dbPass, awsKey, ghToken, filePass, fileToken, lokiPass, awsSecret, pemLine1, pemLine2, "plantedPEMkey", "Planted0AWS"}
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var err error
	workDir, binary, err = harness.Prepare("mcp-logs", "mcp-logs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	loki, err = harness.StartLoki(ctx, workDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start loki:", err)
		return 1
	}
	defer loki.Stop()
	base = time.Now().Add(-40 * time.Minute).Truncate(time.Second).UTC()
	fx = newFixtures(base)
	if err := loki.Push(ctx, fx.streams); err != nil {
		fmt.Fprintln(os.Stderr, "push fixtures:", err)
		return 1
	}
	filesDir = filepath.Join(workDir, "files")
	if err := writeFiles(filesDir, base); err != nil {
		fmt.Fprintln(os.Stderr, "write log files:", err)
		return 1
	}
	secDir = filepath.Join(workDir, "secfiles")
	if err := writeSecretFiles(secDir, base); err != nil {
		fmt.Fprintln(os.Stderr, "write secret log files:", err)
		return 1
	}
	if before, err = loki.Requests(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "read loki metrics:", err)
		return 1
	}
	return m.Run()
}

// fixtures are the streams pushed to Loki and what the tests expect of
// them.
type fixtures struct {
	streams []harness.Stream
	// api500 are the lines of app=api with status=500, newest first.
	api500 []string
	// apiAll is every app=api line, newest first (ties in push order
	// reversed are not assumed: tests compare sets where ties exist).
	apiAll []harness.Line
	counts map[string]int // lines per app in namespace web
}

func newFixtures(base time.Time) fixtures {
	var fx fixtures
	fx.counts = map[string]int{}
	api := harness.Stream{Labels: map[string]string{"namespace": "web", "app": "api", "env": "prod"}}
	for i := 0; i < 240; i++ {
		t := base.Add(time.Duration(i) * 5 * time.Second)
		status := 200
		if i%17 == 0 {
			status = 500
		}
		line := fmt.Sprintf("GET /api/orders/%d status=%d took=%dms", i, status, 3+i%40)
		api.Lines = append(api.Lines, harness.Line{Time: t, Text: line})
		if i%60 == 7 {
			// Three lines at one nanosecond: paging must neither repeat
			// nor drop them at a page boundary.
			for k := 0; k < 3; k++ {
				api.Lines = append(api.Lines, harness.Line{Time: t.Add(time.Second), Text: fmt.Sprintf("burst %d-%d status=200", i, k)})
			}
		}
	}
	api.Lines = append(api.Lines,
		harness.Line{Time: base.Add(1001 * time.Millisecond), Text: "POST /api/login status=401 Authorization: Bearer " + jwt},
		harness.Line{Time: base.Add(2002 * time.Millisecond), Text: "panic: runtime error: invalid memory address\ngoroutine 7 [running]:\nmain.(*Handler).Orders(0x0)\n\t/src/orders.go:88 +0x1d status=500", Metadata: map[string]string{"trace_id": "4bf92f3577b34da6"}},
	)
	worker := harness.Stream{Labels: map[string]string{"namespace": "web", "app": "worker", "env": "prod"}}
	for i := 0; i < 30; i++ {
		t := base.Add(time.Duration(i)*40*time.Second + 300*time.Millisecond)
		worker.Lines = append(worker.Lines, harness.Line{Time: t, Text: fmt.Sprintf(`{"level":"info","msg":"job done","job":%d}`, i)})
	}
	worker.Lines = append(worker.Lines, harness.Line{Time: base.Add(10 * time.Minute), Text: `{"level":"error","msg":"db connect failed","dsn":"postgres://app:` + dbPass + `@db.internal:5432/orders"}`})
	noisy := harness.Stream{Labels: map[string]string{"namespace": "web", "app": "noisy", "env": "prod"}}
	pad := strings.Repeat("debug payload ", 30)
	for i := 0; i < 3000; i++ {
		noisy.Lines = append(noisy.Lines, harness.Line{Time: base.Add(time.Duration(i) * 400 * time.Millisecond), Text: fmt.Sprintf("tick %d %s", i, pad)})
	}
	gw := harness.Stream{Labels: map[string]string{"namespace": "ops", "app": "gateway", "env": "prod"}}
	gw.Lines = append(gw.Lines,
		harness.Line{Time: base.Add(3 * time.Minute), Text: "upstream auth with aws_access_key_id=" + awsKey},
		harness.Line{Time: base.Add(4 * time.Minute), Text: "git clone https://x-access-token:" + ghToken + "@git.example/ops/infra.git"},
	)
	// A namespace of its own (env stage, so the prod counts stay), for
	// issue 13's Loki attacks.
	sec := harness.Stream{Labels: map[string]string{"namespace": "sec", "app": "login", "env": "stage"}}
	sec.Lines = append(sec.Lines,
		harness.Line{Time: base.Add(5 * time.Minute), Text: `{"level":"warn","msg":"login","user":"svc","password":"` + lokiPass + `"}`},
		harness.Line{Time: base.Add(6 * time.Minute), Text: "env dump AWS_SECRET_ACCESS_KEY=" + awsSecret + " region=eu-west-1"},
		harness.Line{Time: base.Add(7 * time.Minute), Text: `{"level":"info","msg":"login","user":"ann","note":"ok"}`},
	)
	sort.SliceStable(api.Lines, func(i, j int) bool { return api.Lines[i].Time.Before(api.Lines[j].Time) })
	fx.streams = []harness.Stream{api, worker, noisy, gw, sec}
	for _, s := range fx.streams[:3] {
		fx.counts[s.Labels["app"]] = len(s.Lines)
	}
	for i := len(api.Lines) - 1; i >= 0; i-- {
		if strings.Contains(api.Lines[i].Text, "status=500") {
			fx.api500 = append(fx.api500, api.Lines[i].Text)
		}
	}
	fx.apiAll = append([]harness.Line(nil), api.Lines...)
	return fx
}

// writeFiles lays out log files as a host would have them: an nginx access
// log, an application log with its rotations (one gzipped), JSON lines,
// klog, and a file outside the root reachable only through a symlink.
func writeFiles(dir string, base time.Time) error {
	for _, d := range []string{"nginx", "app", "k8s"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	ts := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	var access strings.Builder
	for i := 0; i < 20; i++ {
		status := 200
		if i%5 == 4 {
			status = 502
		}
		fmt.Fprintf(&access, "10.0.0.%d - - [%s] \"GET /shop/%d HTTP/1.1\" %d 512 \"-\" \"curl/8\"\n", i, ts(i).Format("02/Jan/2006:15:04:05 -0700"), i, status)
	}
	rot2 := fmt.Sprintf("%s INFO starting version=1.4.2\n%s ERROR db: connect: dial tcp 10.1.2.3:5432: connection refused\n", rfc(ts(0)), rfc(ts(1)))
	rot1 := fmt.Sprintf("%s INFO retry ok\n%s ERROR unhandled exception\njava.sql.SQLException: Access denied for user 'app' (using password: %s)\n\tat com.shop.Db.connect(Db.java:42)\n\tat com.shop.Main.main(Main.java:7)\n%s WARN slow query took=2300ms\n",
		rfc(ts(5)), rfc(ts(6)), filePass, rfc(ts(7)))
	cur := fmt.Sprintf("%s INFO request id=1\n%s ERROR upstream timeout id=2 token=%s\n%s INFO request id=3\n", rfc(ts(10)), rfc(ts(11)), fileToken, rfc(ts(12)))
	var jsonl strings.Builder
	for i := 0; i < 6; i++ {
		lvl, user := "info", "ann"
		if i%2 == 1 {
			lvl, user = "error", "bob"
		}
		fmt.Fprintf(&jsonl, `{"time":"%s","level":"%s","msg":"checkout %d","user":"%s","http":{"status":%d}}`+"\n", rfc(ts(i+2)), lvl, i, user, 200+100*(i%2)*3)
	}
	klog := fmt.Sprintf("I%s       1 controller.go:100] synced\nE%s       1 reflector.go:200] watch failed: the server has asked for the client to provide credentials\n",
		ts(3).Format("0102 15:04:05.000000"), ts(4).Format("0102 15:04:05.000000"))
	files := map[string]string{
		"nginx/access.log": access.String(),
		"app/app.log.2":    rot2,
		"app/app.log.1":    rot1,
		"app/app.log":      cur,
		"app/events.json":  jsonl.String(),
		"k8s/kubelet.log":  klog,
	}
	// Modification times in rotation order: the newest file last written.
	order := []string{"app/app.log.2", "k8s/kubelet.log", "nginx/access.log", "app/events.json", "app/app.log.1", "app/app.log"}
	for i, name := range order {
		body := []byte(files[name])
		path := filepath.Join(dir, name)
		if name == "app/app.log.2" {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(body)
			w.Close()
			body, path = z.Bytes(), path+".gz"
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
		mt := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(path, mt, mt); err != nil {
			return err
		}
	}
	outside := filepath.Join(filepath.Dir(dir), "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outside, "shadow.log"), []byte("root:"+filePass+"\n"), 0o644); err != nil {
		return err
	}
	return os.Symlink(filepath.Join(outside, "shadow.log"), filepath.Join(dir, "app", "escape.log"))
}

// writeSecretFiles lays out issue 13's file forms: an application log
// whose entries hold an AWS secret assignment, a JSON password and a PEM
// key over continuation lines (plain, and rotated as gzip), and a log that
// gets swapped for a symlink out of the root while the server runs.
func writeSecretFiles(dir string, base time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	for i := 0; i < 30; i++ {
		t := rfc(base.Add(time.Duration(i) * time.Second))
		fmt.Fprintf(&b, "%s INFO request id=%d ok\n", t, i)
		switch i {
		case 8:
			fmt.Fprintf(&b, "%s WARN env dump AWS_SECRET_ACCESS_KEY=%s region=eu-west-1\n", t, awsSecret)
		case 16:
			fmt.Fprintf(&b, `{"time":"%s","level":"error","msg":"login","user":"bob","password":"%s"}`+"\n", t, lokiPass)
		case 24:
			fmt.Fprintf(&b, "%s ERROR loaded signing key:\n-----BEGIN RSA PRIVATE KEY-----\n%s\n%s\n-----END RSA PRIVATE KEY-----\n", t, pemLine1, pemLine2)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.log"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(b.String()))
	w.Close()
	if err := os.WriteFile(filepath.Join(dir, "secret.log.1.gz"), z.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "swap.log"), []byte(rfc(base)+" INFO harmless\n"), 0o644)
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

type result = harness.Result

func call(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.Call(t, &seen, s, name, args)
}

func mustCall(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.MustCall(t, &seen, s, name, args)
}

// session starts the binary over stdio against the test Loki and files;
// its audit log goes to the returned path.
func session(t testing.TB, extra ...string) (*mcp.ClientSession, string) {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "audit.log")
	// No rate limit: the paging tests make many calls (the limit itself is
	// tested in shared/tool).
	args := append([]string{"--loki-url", loki.URL, "--files-root", filesDir, "--audit-log", audit, "--rate-limit", "0"}, extra...)
	return harness.StdioSession(t, &seen, binary, args...), audit
}

// bareSession starts the binary over stdio with only the given flags.
func bareSession(t testing.TB, args ...string) *mcp.ClientSession {
	t.Helper()
	return harness.StdioSession(t, &seen, binary, args...)
}

// window is the fixtures' time range as tool arguments.
func window(args map[string]any) map[string]any {
	args["start"] = rfc(base.Add(-time.Minute))
	args["end"] = rfc(base.Add(25 * time.Minute))
	return args
}

func items(r result) []map[string]any { return r.Items() }

func field(its []map[string]any, key string) []string { return harness.Field(its, key) }
