// Package swarm_test drives the built mcp-swarm binary, as a real MCP
// client, against a real dockerd in Swarm mode started on loopback by the
// harness (root needed), with services, a stack, a failing service, an
// update and a rollback made through the docker CLI.
package swarm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var (
	sw       *harness.Swarm
	binary   string
	workDir  string
	stackDir string
	seen     harness.Recorder
	// logStart is dockerd's log size before any server under test ran.
	logStart int64
)

// Planted secrets: none may come back from any tool.
var planted = []string{"Sw4rm-Tok-planted-77", "Env-planted-Tok-51", "Cfg-planted-Pw-33", "Secret-planted-Pw-99"}

// stackFile is the shop stack: host networking (overlay DNS does not work
// here), short stop grace (busybox as PID 1 ignores SIGTERM).
const stackFile = `version: "3.8"
services:
  web:
    image: local/busybox:latest
    command: ["sh", "-c", "i=0; while true; i=$$((i+1)); do echo \"GET /orders/$$i status=200 token=Sw4rm-Tok-planted-77\"; echo \"warn: slow db $$i\" >&2; sleep 1; done"]
    environment:
      API_TOKEN: Env-planted-Tok-51
      LOG_LEVEL: info
    stop_grace_period: 1s
    deploy:
      replicas: 2
    networks: [hostnet]
    configs: [app_conf]
    secrets: [db_pass]
  worker:
    image: local/busybox:latest
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy:
      replicas: 1
    networks: [hostnet]
networks:
  hostnet:
    external: true
    name: host
configs:
  app_conf:
    file: ./app.conf
secrets:
  db_pass:
    file: ./db_pass.txt
`

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var err error
	workDir, binary, err = harness.Prepare("mcp-swarm", "mcp-swarm")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	sw, err = harness.StartSwarm(ctx, workDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start swarm:", err)
		return 1
	}
	defer sw.Stop()
	// The servers under test find the engine as any Docker client would.
	os.Setenv("DOCKER_HOST", sw.Host)
	if err := seed(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "seed fixtures:", err)
		fmt.Fprintln(os.Stderr, sw.Proc.Tail(3000))
		return 1
	}
	if err := seedImage(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "build and start the image:", err)
		return 1
	}
	logStart = sw.LogSize()
	return m.Run()
}

func seed(ctx context.Context) error {
	stackDir = filepath.Join(workDir, "stack")
	os.MkdirAll(stackDir, 0o755)
	files := map[string]string{"stack.yml": stackFile, "app.conf": "listen: 8080\ndb_password: Cfg-planted-Pw-33\n", "db_pass.txt": "Secret-planted-Pw-99\n"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(stackDir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	cli := func(args ...string) error {
		_, err := sw.CLI(ctx, args...)
		return err
	}
	base := []string{"--detach", "--no-resolve-image", "--network", "host", "--stop-grace-period", "1s"}
	steps := [][]string{
		{"stack", "deploy", "--resolve-image", "never", "-c", filepath.Join(stackDir, "stack.yml"), "shop"},
		append(append([]string{"service", "create", "--name", "broken", "--restart-condition", "none"}, base...), harness.BusyboxImage, "sh", "-c", "echo boom; exit 3"),
		append(append([]string{"service", "create", "--name", "api", "--env", "VERSION=1", "--update-monitor", "1s"}, base...), harness.BusyboxImage, "sleep", "3600"),
	}
	for _, s := range steps {
		if err := cli(s...); err != nil {
			return err
		}
	}
	if err := waitRunning(ctx, "api", 1); err != nil {
		return err
	}
	if err := cli("service", "update", "--detach", "--env-add", "VERSION=2", "api"); err != nil {
		return err
	}
	if err := waitUpdate(ctx, "api", "completed"); err != nil {
		return err
	}
	if err := cli("service", "rollback", "--detach", "api"); err != nil {
		return err
	}
	if err := waitUpdate(ctx, "api", "rollback_completed"); err != nil {
		return err
	}
	for svc, n := range map[string]int{"shop_web": 2, "shop_worker": 1, "api": 1} {
		if err := waitRunning(ctx, svc, n); err != nil {
			return err
		}
	}
	// The broken task must have failed, and web must have logged.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := sw.CLI(ctx, "service", "ps", "broken", "--format", "{{.CurrentState}}")
		if strings.HasPrefix(out, "Failed") {
			time.Sleep(2 * time.Second) // a few more web log lines
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("service broken did not fail")
}

func waitRunning(ctx context.Context, svc string, n int) error {
	deadline := time.Now().Add(90 * time.Second)
	want := fmt.Sprintf("%d/%d", n, n)
	var out string
	for time.Now().Before(deadline) {
		out, _ = sw.CLI(ctx, "service", "ls", "--filter", "name="+svc, "--format", "{{.Name}} {{.Replicas}}")
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == svc && f[1] == want {
				return nil
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("service %s not %s running: %s", svc, want, out)
}

func waitUpdate(ctx context.Context, svc, state string) error {
	deadline := time.Now().Add(90 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		out, _ = sw.CLI(ctx, "service", "inspect", svc, "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}")
		if out == state {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("service %s update state %q, want %q", svc, out, state)
}

type result = harness.Result

func call(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.Call(t, &seen, s, name, args)
}

func mustCall(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	return harness.MustCall(t, &seen, s, name, args)
}

// session starts the binary over stdio against the test engine.
func session(t testing.TB, extra ...string) (*mcp.ClientSession, string) {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "audit.log")
	args := append([]string{"--audit-log", audit, "--rate-limit", "0", "--compose-root", stackDir}, extra...)
	return harness.StdioSession(t, &seen, binary, args...), audit
}

func items(r result) []map[string]any { return r.Items() }

func field(its []map[string]any, key string) []string { return harness.Field(its, key) }
