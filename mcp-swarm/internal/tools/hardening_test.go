package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/fsroot"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// pathAttacks are argument values that would pick another API path, or
// another object than the one named, if they reached a Docker URL.
var pathAttacks = []string{
	"../containers/standalone-db",
	"x/../../distribution/127.0.0.1:1/img/json",
	"..", ".", "./x", "a/b", `a\b`, "a%2Fb", "%2e%2e", "a b", "a?x=1", "a#b", "a\x00b", "é", "-x", "_x",
	"shop_web/../../containers/standalone-db/json", strings.Repeat("a", 254),
}

func dump(t *testing.T, r *tool.Result) string {
	t.Helper()
	raw, err := json.Marshal(r.Data)
	require.NoError(t, err)
	return string(raw)
}

// TestPathArgumentsNeverReachTheEngine: every argument that reaches a
// Docker API URL or filter is checked by Docker's name rules first; an
// attack is a clear argument error and the engine sees no request at all.
func TestPathArgumentsNeverReachTheEngine(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	ctx := context.Background()
	for _, bad := range pathAttacks {
		calls := map[string]func() error{
			"swarm_logs service": func() error { _, err := s.logs(ctx, callAs("swarm_logs", "sre"), LogsInput{Service: bad}); return err },
			"swarm_logs task":    func() error { _, err := s.logs(ctx, callAs("swarm_logs", "sre"), LogsInput{Task: bad}); return err },
			"swarm_service": func() error {
				_, err := s.service(ctx, callAs("swarm_service", "sre"), ServiceInput{Service: bad})
				return err
			},
			"swarm_tasks service": func() error {
				_, err := s.tasks(ctx, callAs("swarm_tasks", "sre"), TasksInput{Service: bad})
				return err
			},
			"swarm_tasks node":  func() error { _, err := s.tasks(ctx, callAs("swarm_tasks", "sre"), TasksInput{Node: bad}); return err },
			"swarm_tasks stack": func() error { _, err := s.tasks(ctx, callAs("swarm_tasks", "sre"), TasksInput{Stack: bad}); return err },
			"swarm_services": func() error {
				_, err := s.services(ctx, callAs("swarm_services", "sre"), ServicesInput{Stack: bad})
				return err
			},
			"swarm_stacks": func() error {
				_, err := s.stacks(ctx, callAs("swarm_stacks", "sre"), StacksInput{Stack: bad})
				return err
			},
			"swarm_compose": func() error {
				_, err := s.compose(ctx, callAs("swarm_compose", "sre"), ComposeInput{Stack: bad, Content: "services: {}"})
				return err
			},
			"swarm_info host": func() error { _, err := s.info(ctx, callAs("swarm_info", "sre"), HostInput{Host: bad}); return err },
			"swarm_services host": func() error {
				_, err := s.services(ctx, callAs("swarm_services", "sre"), ServicesInput{HostInput: HostInput{Host: bad}})
				return err
			},
		}
		for name, call := range calls {
			err := call()
			require.Error(t, err, "%s %q", name, bad)
			assert.ErrorIs(t, err, tool.ErrArgs, "%s %q: %v", name, bad, err)
			if bad != "" && len(bad) < 100 {
				assert.NotContains(t, err.Error(), "not found", "%s %q: refused before any lookup", name, bad)
			}
		}
	}
	assert.Empty(t, f.requests(), "no attack sent a request")
	// The message says what to fix.
	_, err := s.logs(ctx, callAs("swarm_logs", "sre"), LogsInput{Service: "../containers/standalone-db"})
	assert.ErrorContains(t, err, `service "../containers/standalone-db" is not a Docker name or ID`)
	assert.ErrorContains(t, err, "no '/'")
	_, err = s.logs(ctx, callAs("swarm_logs", "sre"), LogsInput{Task: "shop_web.1"})
	assert.ErrorContains(t, err, "is not a task ID")
}

// TestEngineIDsAreCheckedToo: an ID from the engine that would be a URL
// segment (a network target) is not requested when it is not a name.
func TestEngineIDsAreCheckedToo(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	_, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Content: "services:\n  web:\n    image: local/busybox:latest\n"})
	require.NoError(t, err)
	for _, r := range f.requests() {
		assert.NotContains(t, r, "..", r)
		assert.NotContains(t, r, "standalone-db", r)
	}
}

// TestValidNamesStillWork: the rules let real names and IDs through.
func TestValidNamesStillWork(t *testing.T) {
	for _, ok := range []string{"shop_web", "api", "a", "shop-web.v2", shopWebID, "node-1.example.com", "0abc"} {
		assert.True(t, nameOK(ok), ok)
	}
	for _, ok := range []string{shopTaskID, "tq3", "0"} {
		assert.True(t, idOK(ok), ok)
	}
	for _, bad := range []string{"", "A", "shop_web.1", "x/y", strings.Repeat("a", 26)} {
		assert.False(t, idOK(bad), bad)
	}
}

// TestServiceChangesMasked: the env diff of a secret-named variable, the
// command arguments (a flag and its value apart) and labels come back
// masked, in the changes, the command and the env alike.
func TestServiceChangesMasked(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	r, err := s.service(context.Background(), callAs("swarm_service", "sre"), ServiceInput{Service: "shop_web"})
	require.NoError(t, err)
	out := r.Data.(ServiceOutput)
	all := dump(t, r)
	for _, p := range []string{plantedOldPw, plantedNewPw, plantedArgPw, plantedArgPw2} {
		assert.NotContains(t, all, p)
	}
	byField := map[string]Change{}
	for _, ch := range out.Changes {
		byField[ch.Field] = ch
	}
	require.Contains(t, byField, "env DB_PASSWORD")
	env := byField["env DB_PASSWORD"]
	assert.Contains(t, env.Previous, "[MASKED:")
	assert.Contains(t, env.Current, "[MASKED:")
	assert.NotEqual(t, env.Previous, env.Current, "a change stays visible as one")
	require.Contains(t, byField, "args")
	assert.Contains(t, byField["args"].Current, "--db-password [MASKED:")
	assert.Contains(t, byField["args"].Previous, "'sleep 3600'", "the rest of the line is shown")
	require.Contains(t, byField, "label api_token")
	assert.Contains(t, byField["label api_token"].Previous, "[MASKED:")
	assert.Equal(t, "(unset)", byField["label api_token"].Current)
	assert.NotContains(t, byField, "env LOG_LEVEL", "unchanged")
	assert.Contains(t, out.Command, "--db-password [MASKED:")
	assert.Contains(t, out.Env["DB_PASSWORD"], "[MASKED:")
	assert.Equal(t, "info", out.Env["LOG_LEVEL"])
}

// TestEnvValueShortSecret: a secret-named variable whose value the
// masker would let through on its own is masked by its name.
func TestEnvValueShortSecret(t *testing.T) {
	c := callAs("swarm_service", "sre")
	for _, v := range []string{"x", "hunter2", "1234", "hunter two", "${X}", "none", "a\nb"} {
		got := envValue(c, "DB_PASSWORD", v)
		assert.True(t, placeholder(got), "%q -> %q", v, got)
		assert.Equal(t, got, envValue(c, "DB_PASSWORD", v), "equal values mask equal")
	}
	assert.NotEqual(t, envValue(c, "DB_PASSWORD", "1234"), envValue(c, "DB_PASSWORD", "1235"))
	assert.Equal(t, "info", envValue(c, "LOG_LEVEL", "info"))
	assert.Equal(t, "", envValue(c, "DB_PASSWORD", ""))
}

// TestLogsMaskedBeforeGrep: a PEM key spread over log lines is masked
// whole, and grep runs on masked text only: it neither finds nor counts
// the hidden value.
func TestLogsMaskedBeforeGrep(t *testing.T) {
	f := newFakeEngine(t)
	var lines [][2]string
	lines = append(lines, [2]string{"stdout", "starting"})
	for _, l := range strings.Split(pemKey, "\n") {
		lines = append(lines, [2]string{"stdout", l})
	}
	lines = append(lines, [2]string{"stdout", "ready password=" + plantedLogPw}, [2]string{"stderr", "warn: slow"})
	f.logs[shopWebID] = lines
	s := f.server(t)
	ctx := context.Background()
	r, err := s.logs(ctx, callAs("swarm_logs", "sre"), LogsInput{Service: "shop_web"})
	require.NoError(t, err)
	all := dump(t, r)
	assert.NotContains(t, all, plantedPEM)
	assert.NotContains(t, all, "MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA")
	assert.NotContains(t, all, plantedLogPw)
	var texts []string
	for _, it := range r.Data.(LogsOutput).Items {
		texts = append(texts, it.Text)
		assert.Equal(t, "shop_web.1", it.Task)
	}
	require.Len(t, texts, 4, "%q", texts)
	assert.Equal(t, "starting", texts[0])
	assert.True(t, strings.HasPrefix(texts[1], "[MASKED:private-key:"), texts[1])
	assert.Contains(t, texts, "warn: slow")
	for _, grep := range []string{plantedPEM, "PemPlanted", "MIIBVAIB", "BEGIN PRIVATE", plantedLogPw, "planted"} {
		g, err := s.logs(ctx, callAs("swarm_logs", "sre"), LogsInput{Service: "shop_web", Grep: grep})
		require.NoError(t, err)
		assert.Empty(t, g.Data.(LogsOutput).Items, "grep %q matched a hidden value", grep)
	}
	g, err := s.logs(ctx, callAs("swarm_logs", "sre"), LogsInput{Service: "shop_web", Grep: `MASKED:private-key`})
	require.NoError(t, err)
	assert.Len(t, g.Data.(LogsOutput).Items, 1)
}

// TestLogsOrphanKeyBody: a tail that starts inside a key (its header cut
// off) still hides the body.
func TestLogsOrphanKeyBody(t *testing.T) {
	f := newFakeEngine(t)
	body := strings.Split(pemKey, "\n")[1:]
	var lines [][2]string
	for _, l := range body {
		lines = append(lines, [2]string{"stdout", l})
	}
	lines = append(lines, [2]string{"stdout", "after"})
	f.logs[shopWebID] = lines
	s := f.server(t)
	r, err := s.logs(context.Background(), callAs("swarm_logs", "sre"), LogsInput{Service: "shop_web", Tail: 3})
	require.NoError(t, err)
	all := dump(t, r)
	assert.NotContains(t, all, plantedPEM)
	assert.NotContains(t, all, "BEGIN PRIVATE KEY", "the made-up header is not shown")
	items := r.Data.(LogsOutput).Items
	require.Len(t, items, 2)
	assert.Contains(t, items[0].Text, "[MASKED:private-key:")
	assert.Equal(t, "after", items[1].Text)
}

// TestStacksScope: a role limited to the shop stack sees shop's objects
// only; other stacks' objects and objects of no stack are invisible in
// lists and refused by name, and a name that does not exist is refused
// the same way. No logs of a refused service are requested.
func TestStacksScope(t *testing.T) {
	f := newFakeEngine(t)
	f.logs[billingID] = [][2]string{{"stdout", "billing line"}}
	f.logs[looseID] = [][2]string{{"stdout", "loose line"}}
	s := f.server(t)
	ctx := context.Background()
	as := func(toolName string) *tool.Call { return callAs(toolName, "shopper") }

	r, err := s.services(ctx, as("swarm_services"), ServicesInput{})
	require.NoError(t, err)
	var names []string
	for _, it := range r.Data.(ServicesOutput).Items {
		names = append(names, it.Name)
	}
	assert.Equal(t, []string{"shop_web"}, names)
	all, err := s.services(ctx, callAs("swarm_services", "sre"), ServicesInput{})
	require.NoError(t, err)
	assert.Len(t, all.Data.(ServicesOutput).Items, 3, "an unrestricted role sees every service, stack or not")

	for _, ref := range []string{"billing_pay", billingID, "loose", "nope"} {
		_, err := s.service(ctx, as("swarm_service"), ServiceInput{Service: ref})
		assert.ErrorIs(t, err, tool.ErrDenied, ref)
		assert.ErrorContains(t, err, "is not in a stack your role may read (allowed stacks: shop")
		_, err = s.logs(ctx, as("swarm_logs"), LogsInput{Service: ref})
		assert.ErrorIs(t, err, tool.ErrDenied, ref)
		_, err = s.tasks(ctx, as("swarm_tasks"), TasksInput{Service: ref})
		assert.ErrorIs(t, err, tool.ErrDenied, ref)
	}
	for _, id := range []string{billTaskID, looseTaskID} {
		_, err := s.logs(ctx, as("swarm_logs"), LogsInput{Task: id})
		assert.ErrorIs(t, err, tool.ErrDenied, id)
	}
	for _, req := range f.requests() {
		assert.NotContains(t, req, "/logs", "no logs of a refused object were asked for")
	}
	_, err = s.service(ctx, as("swarm_service"), ServiceInput{Service: "shop_web"})
	require.NoError(t, err)
	_, err = s.logs(ctx, as("swarm_logs"), LogsInput{Task: shopTaskID})
	assert.ErrorContains(t, err, "docker engine: logs", "the shop task's logs are asked for")

	tk, err := s.tasks(ctx, as("swarm_tasks"), TasksInput{})
	require.NoError(t, err)
	var taskIDs []string
	for _, it := range tk.Data.(TasksOutput).Items {
		taskIDs = append(taskIDs, it.ID)
	}
	assert.Equal(t, []string{shopTaskID}, taskIDs)

	_, err = s.services(ctx, as("swarm_services"), ServicesInput{Stack: "b*"})
	assert.ErrorIs(t, err, tool.ErrArgs, "a pattern is not a stack name")
	for _, st := range []string{"billing", "nope"} {
		_, err = s.services(ctx, as("swarm_services"), ServicesInput{Stack: st})
		assert.ErrorIs(t, err, tool.ErrDenied)
		_, err = s.tasks(ctx, as("swarm_tasks"), TasksInput{Stack: st})
		assert.ErrorIs(t, err, tool.ErrDenied)
		_, err = s.stacks(ctx, as("swarm_stacks"), StacksInput{Stack: st})
		assert.ErrorIs(t, err, tool.ErrDenied)
		_, err = s.compose(ctx, as("swarm_compose"), ComposeInput{Stack: st, Content: "services: {}"})
		assert.ErrorIs(t, err, tool.ErrDenied)
	}

	sk, err := s.stacks(ctx, as("swarm_stacks"), StacksInput{})
	require.NoError(t, err)
	require.Len(t, sk.Data.(StacksOutput).Items, 1)
	assert.Equal(t, "shop", sk.Data.(StacksOutput).Items[0].Name)

	cf, err := s.configs(ctx, as("swarm_configs"), HostInput{})
	require.NoError(t, err)
	require.Len(t, cf.Data.(ObjectsOutput).Items, 1)
	assert.Equal(t, "shop_conf", cf.Data.(ObjectsOutput).Items[0].Name)
	se, err := s.secrets(ctx, as("swarm_secrets"), HostInput{})
	require.NoError(t, err)
	require.Len(t, se.Data.(ObjectsOutput).Items, 1)
	assert.Equal(t, "shop_pw", se.Data.(ObjectsOutput).Items[0].Name)

	info, err := s.info(ctx, as("swarm_info"), HostInput{})
	require.NoError(t, err)
	assert.Equal(t, 1, info.Data.(InfoOutput).Services, "counts count only what the caller may see")
}

// TestConfigDataMaskedWhole: a key in a config's data is masked as a
// block.
func TestConfigDataMaskedWhole(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	cf, err := s.configs(context.Background(), callAs("swarm_configs", "sre"), HostInput{})
	require.NoError(t, err)
	assert.NotContains(t, dump(t, cf), plantedPEM)
}

// composeOutside plants a file outside any compose root that the attacks
// below try to make swarm_compose read.
func composeOutside(t *testing.T) (root, secretFile string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	require.NoError(t, os.MkdirAll(root, 0o755))
	secretFile = filepath.Join(base, "outside.env")
	require.NoError(t, os.WriteFile(secretFile, []byte("services:\n  db:\n    image: x\nOUTSIDE_PW=Outside-planted-Pw-3131\nroot:$6$Outside-planted-Hash-77:19000:0:99999:7:::\n"), 0o600))
	return root, secretFile
}

// TestComposeReadsNothingElse: include, extends with a file, env_file
// and label_file are refused by name, before compose-go runs, through
// aliases and merge keys too; nothing of the other file comes back.
func TestComposeReadsNothingElse(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	root, secret := composeOutside(t)
	var err error
	s.ComposeRoots, err = fsroot.New("compose roots", []string{root})
	require.NoError(t, err)
	cases := map[string]string{
		"include":             "include:\n  - " + secret + "\nservices: {}\n",
		"include long":        "include:\n  - path: " + secret + "\nservices: {}\n",
		"extends":             "services:\n  web:\n    image: x\n    extends:\n      file: " + secret + "\n      service: db\n",
		"extends merged":      "x-base: &b\n  file: " + secret + "\n  service: db\nservices:\n  web:\n    image: x\n    extends:\n      <<: *b\n",
		"extends aliased":     "x-base: &b\n  file: " + secret + "\n  service: db\nservices:\n  web:\n    image: x\n    extends: *b\n",
		"extends not string":  "services:\n  web:\n    image: x\n    extends:\n      file: 1\n      service: db\n",
		"env_file":            "services:\n  web:\n    image: x\n    env_file: " + secret + "\n",
		"env_file list":       "services:\n  web:\n    image: x\n    env_file:\n      - path: " + secret + "\n        required: true\n",
		"label_file":          "services:\n  web:\n    image: x\n    label_file: " + secret + "\n",
		"include merged":      "x-i: &i\n  include: [" + secret + "]\n<<: *i\nservices: {}\n",
		"second document":     "services: {}\n---\ninclude: [" + secret + "]\n",
		"relative include":    "include: [../outside.env]\nservices: {}\n",
		"env_file in include": "services:\n  web:\n    image: x\n    develop: {x: {env_file: " + secret + "}}\n",
	}
	for name, content := range cases {
		_, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Content: content})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, tool.ErrArgs, name)
		assert.Regexp(t, `is not supported: swarm_compose reads only the one compose file`, err.Error(), name)
		assert.NotContains(t, err.Error(), "Outside-planted", name)
		// The same file under the compose root, by path.
		p := filepath.Join(root, "stack.yml")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		_, err = s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Path: p})
		assert.ErrorIs(t, err, tool.ErrArgs, name)
		assert.NotContains(t, err.Error(), "Outside-planted", name)
	}
	_, err = s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Path: secret})
	assert.ErrorContains(t, err, "outside the compose roots")
}

// TestComposeLoaderConfined: behind the check, compose-go itself reads
// nothing: even content that skipped the check could not include or
// extend another file.
func TestComposeLoaderConfined(t *testing.T) {
	_, secret := composeOutside(t)
	for _, content := range []string{
		"include:\n  - " + secret + "\nservices:\n  web: {image: x}\n",
		"services:\n  web:\n    image: x\n    extends:\n      file: " + secret + "\n      service: db\n",
		"services:\n  web:\n    image: x\n    env_file: " + secret + "\n",
	} {
		p, err := loadConfined(context.Background(), content, "compose.yaml", "", "shop")
		if err == nil {
			raw, _ := json.Marshal(p)
			assert.NotContains(t, string(raw), "Outside-planted")
			assert.NotContains(t, string(raw), "\"db\"", "no service came from the other file")
		} else {
			assert.NotContains(t, err.Error(), "Outside-planted")
		}
	}
}

// opened reports whether load opened path, a FIFO: opening a FIFO to read
// blocks until a writer comes, so a reader still waiting after load had
// its time is proof of an attempt to read it (and is let go).
func opened(t *testing.T, path string, load func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); load() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		w.Close() // lets the reader go
	}
	<-done
	return err == nil // else ENXIO: nobody had it open to read
}

// TestComposeOpensNothingOutside: proof by the file system, not by what
// came back: a FIFO outside the root named by include, extends or
// env_file is never opened, neither by swarm_compose nor by compose-go
// behind it; compose-go as configured by default does open it (the
// probe works).
func TestComposeOpensNothingOutside(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "outside.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	contents := []string{
		"include:\n  - " + fifo + "\nservices:\n  web: {image: x}\n",
		"services:\n  web:\n    image: x\n    extends:\n      file: " + fifo + "\n      service: db\n",
		"services:\n  web:\n    image: x\n    env_file: " + fifo + "\n",
		"services:\n  web:\n    image: x\n    label_file: " + fifo + "\n",
	}
	for _, content := range contents {
		assert.False(t, opened(t, fifo, func() { loadConfined(context.Background(), content, "compose.yaml", "", "shop") }), content)
		assert.False(t, opened(t, fifo, func() { loadCompose(context.Background(), &tool.Call{}, content, "compose.yaml", t.TempDir(), "shop") }), content)
	}
	assert.True(t, opened(t, fifo, func() {
		loader.LoadWithContext(context.Background(), types.ConfigDetails{WorkingDir: t.TempDir(),
			ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: []byte(contents[0])}}},
			func(o *loader.Options) { o.SetProjectName("shop", true) })
	}), "compose-go's defaults read an include")
}

// TestComposeErrorsQuoteNothing: a parser error about a file names the
// problem, not the file's text.
func TestComposeErrorsQuoteNothing(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	root := t.TempDir()
	var err error
	s.ComposeRoots, err = fsroot.New("compose roots", []string{root})
	require.NoError(t, err)
	for _, content := range []string{
		"services:\n  web:\n    image: x\n    ports: [\"Quoted-planted-Pw-1:80:x\"]\n",
		"services:\n  web:\n    image: [Quoted-planted-Pw-1]\n",
		"services: Quoted-planted-Pw-1\n",
		"root:$6$Quoted-planted-Pw-1:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n",
		"services:\n  web:\n    image: x\n    deploy: {replicas: Quoted-planted-Pw-1}\n",
		"a: `Quoted-planted-Pw-1\n\tb: 'Quoted-planted-Pw-1",
	} {
		p := filepath.Join(root, "bad.yml")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		_, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Path: p})
		require.Error(t, err, content)
		assert.True(t, errors.Is(err, tool.ErrArgs), "%v", err)
		assert.NotContains(t, err.Error(), "Quoted-planted", content)
	}
}

// TestUnknownServiceNamed: an unrestricted caller is told the service
// does not exist; an engine failure is named as the engine's.
func TestUnknownServiceNamed(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	_, err := s.service(context.Background(), callAs("swarm_service", "sre"), ServiceInput{Service: "nope"})
	assert.ErrorIs(t, err, tool.ErrArgs)
	assert.ErrorContains(t, err, `no service "nope" (see swarm_services`)
	f.srv.Close()
	_, err = s.service(context.Background(), callAs("swarm_service", "sre"), ServiceInput{Service: "nope"})
	assert.NotErrorIs(t, err, tool.ErrArgs)
	assert.ErrorContains(t, err, "docker engine: inspect service")
	assert.ErrorIs(t, err, tool.ErrUpstream)
	assert.ErrorContains(t, err, "Docker engine at tcp://")

	// A caller held to some stacks is told the same: the engine being
	// down says nothing about the name, and is not a denial.
	_, err = s.service(context.Background(), callAs("swarm_service", "shopper"), ServiceInput{Service: "nope"})
	assert.ErrorIs(t, err, tool.ErrUpstream)
	assert.NotErrorIs(t, err, tool.ErrDenied)
}

// TestComposeSeesNoServerEnv: interpolation in a compose file has no
// environment to read: the server's own variables never come back.
func TestComposeSeesNoServerEnv(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	t.Setenv("OPSMCP_TEST_HIDDEN", "Env-planted-Server-7")
	r, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop",
		Content: "services:\n  cron:\n    image: \"x${OPSMCP_TEST_HIDDEN}y${DOCKER_HOST:-z}\"\n"})
	require.NoError(t, err)
	all := dump(t, r)
	assert.NotContains(t, all, "Env-planted-Server")
	assert.NotContains(t, all, "tcp://")
	assert.Contains(t, all, `"file":"xyz"`)
}

// TestDemuxJoinsCutMessages: a long message the engine sent in parts is
// one line again, so a secret across the cut is masked whole; another
// task's frame in between does not join it.
func TestDemuxJoinsCutMessages(t *testing.T) {
	var raw []byte
	raw = append(raw, frame(1, "2026-11-28T10:00:00.1Z com.docker.swarm.task.id=a1 start password=Cut-planted-")...)
	raw = append(raw, frame(1, "2026-11-28T10:00:00.2Z com.docker.swarm.task.id=b2 other task\n")...)
	raw = append(raw, frame(1, "2026-11-28T10:00:00.3Z com.docker.swarm.task.id=a1 Pw-77 end\n")...)
	raw = append(raw, frame(1, "2026-11-28T10:00:00.4Z com.docker.swarm.task.id=a1 next\n")...)
	lines, limited, err := demux(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.False(t, limited)
	require.Len(t, lines, 3)
	assert.Equal(t, "start password=Cut-planted-Pw-77 end", lines[0].Text)
	assert.Equal(t, "a1", lines[0].Task)
	assert.Equal(t, "other task", lines[1].Text)
	assert.Equal(t, "next", lines[2].Text)
	for _, l := range maskLines(callAs("swarm_logs", "sre"), lines) {
		assert.NotContains(t, l.Text, "Cut-planted")
	}
}

// TestNodeLabelsMasked: a node label is masked as NAME=value, and nodes,
// which belong to no stack, stay visible to a restricted role.
func TestNodeLabelsMasked(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	r, err := s.nodes(context.Background(), callAs("swarm_nodes", "shopper"), HostInput{})
	require.NoError(t, err)
	items := r.Data.(NodesOutput).Items
	require.Len(t, items, 1)
	assert.Equal(t, "a", items[0].Labels["zone"])
	assert.True(t, placeholder(items[0].Labels["vault_token"]), items[0].Labels["vault_token"])
}

// TestLogsBadArguments: arguments that would cost or mean nothing are
// clear errors, before any request.
func TestLogsBadArguments(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	c := callAs("swarm_logs", "sre")
	for in, want := range map[*LogsInput]string{
		{Service: "shop_web", Grep: strings.Repeat("a", 5000)}: "grep is 5000 bytes; use at most 4096",
		{Service: "shop_web", Grep: "("}:                       "grep is not a valid RE2 expression",
		{Service: "shop_web", Stream: "both "}:                 `stream "both ": use stdout, stderr or both`,
		{Service: "shop_web", Since: "yesterday"}:              `since "yesterday": use a duration`,
		{Service: "shop_web", Task: shopTaskID}:                "give service or task (one of them)",
		{}:                                                     "give service or task (one of them)",
	} {
		_, err := s.logs(context.Background(), c, *in)
		assert.ErrorIs(t, err, tool.ErrArgs)
		assert.ErrorContains(t, err, want)
	}
	assert.Empty(t, f.requests())
}

// TestComposeAliasCycleRefused: an anchor whose value aliases itself made
// compose-go's merge resolution run 36 s of CPU past the call's deadline
// (found by FuzzComposeLoad); it is refused before compose-go sees it.
func TestComposeAliasCycleRefused(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	for name, content := range map[string]string{
		"merge":       "x-e: &e\n    <<: *e\n",
		"nested":      "services:\n  web: &w\n    image: x\n    labels:\n      <<: *w\n",
		"in sequence": "x: &a [1, *a]\nservices: {}\n",
	} {
		_, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Content: content})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, tool.ErrArgs, name)
		assert.Contains(t, err.Error(), "an alias refers to a node that contains it", name)
	}
	// An alias used beside its anchor, not inside it, still loads.
	_, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Content: "x-env: &env {A: b}\nservices:\n  web: {image: x, environment: *env}\n  api: {image: x, environment: *env}\n"})
	assert.NoError(t, err)
}

// TestComposeShapeBounded: a few hundred bytes of nested merges, or
// thousands of nested braces, kept compose-go busy for minutes past the
// call's deadline; a document whose expanded size or depth is past the
// bound is refused before compose-go sees it, and a usual file loads.
func TestComposeShapeBounded(t *testing.T) {
	f := newFakeEngine(t)
	s := f.server(t)
	var laughs strings.Builder
	laughs.WriteString("x-l0: &l0 {a: 1, b: 2}\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&laughs, "x-l%d: &l%d {", i, i)
		for j := 0; j < 9; j++ {
			fmt.Fprintf(&laughs, "k%d: {<<: *l%d},", j, i-1)
		}
		laughs.WriteString("}\n")
	}
	laughs.WriteString("services: {web: {image: x}}\n")
	for name, c := range map[string]struct{ content, want string }{
		"merge laughs": {laughs.String(), "expand it to more than 20000 nodes"},
		"deep nesting": {"services: {web: {image: x}}\nx-deep: " + strings.Repeat("{a: ", 5000) + "1" + strings.Repeat("}", 5000) + "\n", "nests deeper than 64 levels"},
		"merge chain":  {chain(100), "nests deeper than 64 levels"},
	} {
		_, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Content: c.content})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, tool.ErrArgs, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
	_, err := s.compose(context.Background(), callAs("swarm_compose", "sre"), ComposeInput{Stack: "shop", Content: chain(20)})
	assert.NoError(t, err, "twenty levels of merges is a compose file people write")
}

// chain is n anchors, each merging the one before.
func chain(n int) string {
	var b strings.Builder
	b.WriteString("x-l0: &l0 {A: b}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "x-l%d: &l%d {<<: *l%d, K%d: v}\n", i, i, i-1, i)
	}
	fmt.Fprintf(&b, "services: {web: {image: x, environment: {<<: *l%d}}}\n", n-1)
	return b.String()
}

// TestRenderLogsLine: swarm_logs' text line is "<ts> <task> <stream> |
// <text>", as the formatted line it replaced, with a missing field
// empty.
func TestRenderLogsLine(t *testing.T) {
	d := map[string]any{"items": []any{
		map[string]any{"ts": "2026-11-28T10:00:00.000000001Z", "task": "shop_web.1", "stream": "stdout", "text": "GET /orders/1 %s %d | x"},
		map[string]any{"ts": "", "stream": "stderr", "text": ""},
	}}
	want := "2026-11-28T10:00:00.000000001Z shop_web.1 stdout | GET /orders/1 %s %d | x\n" + "  stderr | \n"
	assert.Equal(t, want, renderLogs(d))
}
