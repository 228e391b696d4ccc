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
	// rec is the recording proxy every server under test reaches the
	// engine through: what they asked for, path by path.
	rec *harness.Recording
)

// Planted secrets: none may come back from any tool. The pay service's
// env value before and after its update, its --db-password argument
// before and after, the body of the private key it logs, and what the
// container outside the swarm logs.
var planted = []string{"Sw4rm-Tok-planted-77", "Env-planted-Tok-51", "Cfg-planted-Pw-33", "Secret-planted-Pw-99",
	"Pay-planted-Old-21", "Pay-planted-New-83", "Pay-planted-Arg-64", "Pay-planted-Arg2-65", pemBody, "Standalone-planted-Pw-12",
	"Cut-planted-Pw-77"}

// pemBody is a line of the private key billing_pay logs: alone it looks
// like nothing secret; only the whole block is a key.
const pemBody = "PemPlantedBody0x7Q9vK2mZ"

// payScript logs a private key over five lines, then waits.
const payScript = "echo -----BEGIN PRIVATE KEY-----; echo MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA; echo " + pemBody +
	"; echo q83bB7VZ1Yk2m9vC1o0y8pTqXkR3dN2JmHk9a2Xz0wIDAQAB; echo -----END PRIVATE KEY-----; echo pay ready; sleep 3600"

// billingFile is a second stack: a service with a secret in its env and
// its arguments, updated once so its previous spec differs in both.
const billingFile = `version: "3.8"
services:
  pay:
    image: local/busybox:latest
    command: ["sh", "-c", "` + payScript + `", "pay", "--db-password", "Pay-planted-Arg-64"]
    environment:
      DB_PASSWORD: Pay-planted-Old-21
    stop_grace_period: 1s
    deploy:
      replicas: 1
      update_config: {monitor: 1s}
    networks: [hostnet]
networks:
  hostnet:
    external: true
    name: host
`

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
	// Another build under test (an older commit's, to show a test fails
	// where the issue it reproduces is open).
	if other := os.Getenv("OPSMCP_E2E_SWARM_BINARY"); other != "" {
		binary = other
	}
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
	if rec, err = sw.StartRecording(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer rec.Close()
	os.Setenv("DOCKER_HOST", rec.Host)
	logStart = sw.LogSize()
	return m.Run()
}

func seed(ctx context.Context) error {
	stackDir = filepath.Join(workDir, "stack")
	os.MkdirAll(stackDir, 0o755)
	files := map[string]string{"stack.yml": stackFile, "app.conf": "listen: 8080\ndb_password: Cfg-planted-Pw-33\n", "db_pass.txt": "Secret-planted-Pw-99\n",
		"billing.yml": billingFile}
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
		{"stack", "deploy", "--resolve-image", "never", "-c", filepath.Join(stackDir, "billing.yml"), "billing"},
		// A container outside the swarm, which no argument may reach.
		{"run", "-d", "--name", "standalone-db", "--network", "none", harness.BusyboxImage, "sh", "-c", "echo DB_PASSWORD=Standalone-planted-Pw-12; echo standalone ready; sleep 3600"},
		append(append([]string{"service", "create", "--name", "broken", "--restart-condition", "none"}, base...), harness.BusyboxImage, "sh", "-c", "echo boom; exit 3"),
		append(append([]string{"service", "create", "--name", "api", "--env", "VERSION=1", "--update-monitor", "1s"}, base...), harness.BusyboxImage, "sleep", "3600"),
		// One message longer than the engine's 16 KiB log buffer, cut by
		// the engine inside "password": 16380 spaces, then the secret.
		append(append([]string{"service", "create", "--name", "longline"}, base...), harness.BusyboxImage, "sh", "-c", "printf %16380s; echo password=Cut-planted-Pw-77 end; sleep 3600"),
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
	if err := waitRunning(ctx, "billing_pay", 1); err != nil {
		return err
	}
	if err := cli("service", "update", "--detach", "--env-add", "DB_PASSWORD=Pay-planted-New-83",
		"--args", "sh -c '"+payScript+"' pay --db-password Pay-planted-Arg2-65", "billing_pay"); err != nil {
		return err
	}
	if err := waitUpdate(ctx, "billing_pay", "completed"); err != nil {
		return err
	}
	for svc, n := range map[string]int{"shop_web": 2, "shop_worker": 1, "api": 1, "billing_pay": 1, "longline": 1} {
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
