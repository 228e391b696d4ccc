package swarm_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// badPaths are what the recording proxy must never see in a request the
// servers sent (lower-cased URIs).
var badPaths = []string{"..", "%2e", "%2f", "%5c", "/distribution/", "/containers/", "standalone-db/", "/attach", "/exec", "/export", "/archive"}

// TestPathAttacksSendNothing (issue 13): arguments that would pick an
// upstream path (another container's logs, a registry the engine should
// contact) are refused by Docker's name rules with a clear error, and the
// recording proxy in front of dockerd proves no request was sent for any
// of them.
func TestPathAttacksSendNothing(t *testing.T) {
	s, _ := session(t)
	attacks := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"swarm_logs", map[string]any{"service": "../containers/standalone-db"}, `service "../containers/standalone-db" is not a Docker name or ID`},
		{"swarm_logs", map[string]any{"service": "shop_web/../../containers/standalone-db"}, "is not a Docker name or ID"},
		{"swarm_logs", map[string]any{"task": "../containers/standalone-db"}, "is not a task ID"},
		{"swarm_logs", map[string]any{"service": "%2e%2e%2fcontainers%2fstandalone-db"}, "is not a Docker name or ID"},
		{"swarm_service", map[string]any{"service": "x/../../distribution/127.0.0.1:1/img/json"}, `service "x/../../distribution/127.0.0.1:1/img/json" is not a Docker name or ID`},
		{"swarm_service", map[string]any{"service": "../containers/standalone-db/json"}, "no '/'"},
		{"swarm_service", map[string]any{"service": ".."}, "is not a Docker name or ID"},
		{"swarm_tasks", map[string]any{"service": "../containers/standalone-db"}, "is not a Docker name or ID"},
		{"swarm_tasks", map[string]any{"node": "../containers/standalone-db"}, `node "../containers/standalone-db"`},
		{"swarm_tasks", map[string]any{"stack": "shop/../x"}, `stack "shop/../x"`},
		{"swarm_services", map[string]any{"stack": "../x"}, "is not a Docker name or ID"},
		{"swarm_stacks", map[string]any{"stack": "../x"}, "is not a Docker name or ID"},
		{"swarm_compose", map[string]any{"stack": "../x", "content": "services: {}"}, "is not a Docker name or ID"},
		{"swarm_info", map[string]any{"host": "../x"}, "is not a docker host name"},
	}
	before := len(rec.Requests())
	for _, a := range attacks {
		r := call(t, s, a.tool, a.args)
		assert.True(t, r.IsError, "%s %v: %s", a.tool, a.args, r.Text)
		assert.Contains(t, r.Text, a.want, "%s %v", a.tool, a.args)
		assert.NotContains(t, r.Text, "Standalone-planted")
	}
	assert.Empty(t, rec.Requests()[before:], "no request reached the engine for any attack")

	// A valid name that is no service (the container's) is looked up as
	// a service, found to be none, and nothing else is asked.
	before = len(rec.Requests())
	r := call(t, s, "swarm_logs", map[string]any{"service": "standalone-db"})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, `no service "standalone-db"`)
	after := rec.Requests()[before:]
	var asked []string
	for _, r := range stripVersion(after) {
		if !strings.HasSuffix(r, " /_ping") { // the client's version check
			asked = append(asked, r)
		}
	}
	assert.Equal(t, []string{"GET /services/standalone-db"}, asked)
	assertCleanRequests(t, after)
}

// stripVersion drops the /v1.41 prefix of recorded requests.
func stripVersion(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		m, uri, _ := strings.Cut(r, " ")
		if strings.HasPrefix(uri, "/v1.") {
			if i := strings.Index(uri[1:], "/"); i >= 0 {
				uri = uri[i+1:]
			}
		}
		out = append(out, m+" "+uri)
	}
	return out
}

func assertCleanRequests(t *testing.T, reqs []string) {
	t.Helper()
	for _, r := range reqs {
		method, uri, _ := strings.Cut(r, " ")
		assert.Contains(t, []string{"GET", "HEAD"}, method, r)
		for _, bad := range badPaths {
			assert.NotContains(t, strings.ToLower(uri), bad, r)
		}
	}
}

// TestServiceEnvDiffAndArgsMasked (issue 13): after billing_pay's update,
// its change list shows that DB_PASSWORD and the --db-password argument
// changed, with both values masked before and after.
func TestServiceEnvDiffAndArgsMasked(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_service", map[string]any{"service": "billing_pay"})
	assert.Equal(t, "completed", r.Data["rollout"])
	changes := map[string]map[string]any{}
	for _, c := range r.Data["changes"].([]any) {
		m := c.(map[string]any)
		changes[fmt.Sprint(m["field"])] = m
	}
	env := changes["env DB_PASSWORD"]
	require.NotNil(t, env, "%v", r.Data["changes"])
	assert.Contains(t, env["previous"], "[MASKED:")
	assert.Contains(t, env["current"], "[MASKED:")
	assert.NotEqual(t, env["previous"], env["current"], "the change shows as one")
	args := changes["args"]
	require.NotNil(t, args, "%v", r.Data["changes"])
	assert.Contains(t, args["previous"], "pay --db-password [MASKED:")
	assert.Contains(t, args["current"], "pay --db-password [MASKED:")
	assert.Contains(t, r.Data["command"], "--db-password [MASKED:")
	assert.Contains(t, r.Text, "env DB_PASSWORD: [MASKED:")
	for _, p := range []string{"Pay-planted-Old-21", "Pay-planted-New-83", "Pay-planted-Arg-64", "Pay-planted-Arg2-65"} {
		assert.NotContains(t, r.Text, p)
		assert.NotContains(t, fmt.Sprint(r.Data), p)
	}
}

// TestLogsKeyMaskedWholeAndGrepBlind (issue 13): the private key
// billing_pay logs over five lines comes back as one placeholder, and
// grep, which runs on masked text only, neither finds nor counts it.
func TestLogsKeyMaskedWholeAndGrepBlind(t *testing.T) {
	s, _ := session(t)
	r := mustCall(t, s, "swarm_logs", map[string]any{"service": "billing_pay"})
	texts := field(items(r), "text")
	keys := 0
	for _, tx := range texts {
		if strings.Contains(tx, "[MASKED:private-key:") {
			keys++
		}
		assert.NotContains(t, tx, "MIIBVAIBADAN")
		assert.NotContains(t, tx, "PemPlanted")
		assert.NotContains(t, tx, "-----END")
	}
	assert.GreaterOrEqual(t, keys, 1, "the key, one placeholder per task: %q", texts)
	assert.Contains(t, texts, "pay ready")
	for _, grep := range []string{"PemPlanted", "MIIB", "q83bB7VZ", "BEGIN PRIVATE", "END PRIVATE", `0x7Q9`} {
		g := mustCall(t, s, "swarm_logs", map[string]any{"service": "billing_pay", "grep": grep})
		assert.Empty(t, items(g), "grep %q matched a hidden value", grep)
	}
	g := mustCall(t, s, "swarm_logs", map[string]any{"service": "billing_pay", "grep": `MASKED:private-key`})
	assert.Len(t, items(g), keys)
	// A tail that starts inside the key hides its body too.
	tail := mustCall(t, s, "swarm_logs", map[string]any{"service": "billing_pay", "tail": 3})
	for _, tx := range field(items(tail), "text") {
		assert.NotContains(t, tx, "PemPlanted")
		assert.NotContains(t, tx, "q83bB7VZ")
	}
}

// TestComposeReadsOnlyItsFile (issue 13): content that includes, extends
// or loads env from a host file is refused by name, and the file's lines
// never come back in an error; a file of the compose root that does the
// same is refused the same way.
func TestComposeReadsOnlyItsFile(t *testing.T) {
	s, _ := session(t)
	outside := filepath.Join(workDir, "outside-shadow")
	require.NoError(t, os.WriteFile(outside, []byte("root:$6$Shadow-planted-Hash-5:19000:0:99999:7:::\n"), 0o600))
	for _, content := range []string{
		"include: [/etc/shadow]\nservices: {}\n",
		"include: [" + outside + "]\nservices: {}\n",
		"services:\n  web:\n    image: x\n    extends: {file: " + outside + ", service: db}\n",
		"services:\n  web:\n    image: x\n    env_file: [" + outside + "]\n",
		"x-f: &f {file: " + outside + ", service: db}\nservices:\n  web: {image: x, extends: {<<: *f}}\n",
	} {
		r := call(t, s, "swarm_compose", map[string]any{"stack": "shop", "content": content})
		assert.True(t, r.IsError, content)
		assert.Contains(t, r.Text, "is not supported: swarm_compose reads only the one compose file")
		assert.NotContains(t, r.Text, "Shadow-planted")
		assert.NotContains(t, r.Text, "root:")
	}
	inRoot := filepath.Join(stackDir, "sneaky.yml")
	require.NoError(t, os.WriteFile(inRoot, []byte("include: ["+outside+"]\nservices: {}\n"), 0o600))
	t.Cleanup(func() { os.Remove(inRoot) })
	r := call(t, s, "swarm_compose", map[string]any{"stack": "shop", "path": inRoot})
	assert.True(t, r.IsError)
	assert.Contains(t, r.Text, "include is not supported")
	// An error about the file's own values names the problem, not them.
	bad := call(t, s, "swarm_compose", map[string]any{"stack": "shop", "content": "services:\n  web:\n    image: x\n    ports: [\"Shadow-planted-Hash-5:80\"]\n"})
	assert.True(t, bad.IsError)
	assert.Contains(t, bad.Text, "compose file does not load")
	assert.NotContains(t, bad.Text, "Shadow-planted")
}

const (
	sreToken     = "sre-token-5c1e02aa"
	shopperToken = "shopper-token-9b7d3f10"
)

// httpServer starts the binary over HTTP with tokens for an SRE
// (unrestricted) and a shopper (the shop stack only).
func httpServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte(sreToken+",alice,sre\n"+shopperToken+",bob,shopper\n"), 0o600))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`roles:
  sre:
    tools: ["*"]
  shopper:
    tools: ["swarm_*"]
    scopes:
      stacks: ["shop"]
`), 0o600))
	port, err := harness.FreePort()
	require.NoError(t, err)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	harness.StartServer(t, &seen, dir, "mcp-swarm-http", url, binary, "--transport", "http", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--auth-tokens", tokens, "--policy", policy, "--audit-log", filepath.Join(dir, "audit.log"), "--rate-limit", "0", "--compose-root", stackDir)
	return url
}

// TestStacksScope (issue 13): a role limited to the shop stack sees shop's
// services, tasks, configs and secrets only; billing's and the stackless
// services (api, broken) are invisible in lists and refused by name, and
// the proxy shows their logs were never asked for.
func TestStacksScope(t *testing.T) {
	url := httpServer(t)
	as := func(token string) *mcp.ClientSession {
		return harness.Connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: harness.HTTPClient(token)})
	}
	bob, alice := as(shopperToken), as(sreToken)
	before := len(rec.Requests())

	svcs := mustCall(t, bob, "swarm_services", map[string]any{})
	assert.Equal(t, []string{"shop_web", "shop_worker"}, field(items(svcs), "name"))
	all := mustCall(t, alice, "swarm_services", map[string]any{})
	assert.Subset(t, field(items(all), "name"), []string{"api", "billing_pay", "broken", "shop_web", "shop_worker"})

	for _, name := range []string{"billing_pay", "api", "broken", "nope"} {
		for _, c := range []struct {
			tool string
			args map[string]any
		}{
			{"swarm_service", map[string]any{"service": name}},
			{"swarm_logs", map[string]any{"service": name}},
			{"swarm_tasks", map[string]any{"service": name}},
		} {
			r := call(t, bob, c.tool, c.args)
			assert.True(t, r.IsError, "%s %v", c.tool, c.args)
			assert.Contains(t, r.Text, fmt.Sprintf("service %q is not in a stack your role may read (allowed stacks: shop", name))
		}
	}
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"swarm_services", map[string]any{"stack": "billing"}},
		{"swarm_tasks", map[string]any{"stack": "billing"}},
		{"swarm_stacks", map[string]any{"stack": "billing"}},
		{"swarm_compose", map[string]any{"stack": "billing", "content": billingFile}},
	} {
		r := call(t, bob, c.tool, c.args)
		assert.True(t, r.IsError, "%s %v", c.tool, c.args)
		assert.Contains(t, r.Text, `your role may not read stack "billing"`)
	}

	tasks := mustCall(t, bob, "swarm_tasks", map[string]any{})
	require.NotEmpty(t, items(tasks))
	for _, svc := range field(items(tasks), "service") {
		assert.True(t, strings.HasPrefix(svc, "shop_"), svc)
	}
	stacks := mustCall(t, bob, "swarm_stacks", map[string]any{})
	assert.Equal(t, []string{"shop"}, field(items(stacks), "name"))
	cfg := mustCall(t, bob, "swarm_configs", map[string]any{})
	assert.Equal(t, []string{"shop_app_conf"}, field(items(cfg), "name"))
	sec := mustCall(t, bob, "swarm_secrets", map[string]any{})
	assert.Equal(t, []string{"shop_db_pass"}, field(items(sec), "name"))
	info := mustCall(t, bob, "swarm_info", map[string]any{})
	assert.EqualValues(t, 2, info.Data["services"], "counts count only what the caller may see")
	logs := mustCall(t, bob, "swarm_logs", map[string]any{"service": "shop_web", "tail": 2})
	assert.NotEmpty(t, items(logs))

	// The refused services' logs were never asked for.
	ids := map[string]string{}
	for _, name := range []string{"billing_pay", "api", "broken"} {
		id, err := sw.CLI(context.Background(), "service", "inspect", "--format", "{{.ID}}", name)
		require.NoError(t, err)
		ids[name] = id
	}
	reqs := rec.Requests()[before:]
	assertCleanRequests(t, reqs)
	for _, r := range reqs {
		for name, id := range ids {
			assert.False(t, strings.Contains(r, "/logs") && (strings.Contains(r, id) || strings.Contains(r, "/"+name+"/")), "%s logs asked for: %s", name, r)
		}
	}
}

// TestLogsCutMessageMaskedWhole: the engine cuts a message longer than
// 16 KiB into frames (here inside "password", so neither part alone
// looks like a secret); swarm_logs joins them, and the secret is masked
// and found by no grep.
func TestLogsCutMessageMaskedWhole(t *testing.T) {
	// The fixture does what it says: the engine sends the message in
	// more than one frame, the first without a newline.
	raw, err := engineGet("/services/longline/logs?stdout=1&timestamps=1&details=1")
	require.NoError(t, err)
	var frames []string
	for len(raw) >= 8 {
		n := int(raw[4])<<24 | int(raw[5])<<16 | int(raw[6])<<8 | int(raw[7])
		require.LessOrEqual(t, 8+n, len(raw))
		frames = append(frames, string(raw[8:8+n]))
		raw = raw[8+n:]
	}
	require.GreaterOrEqual(t, len(frames), 2, "the engine cut the message")
	assert.False(t, strings.HasSuffix(frames[0], "\n"), "the first part does not end the message")
	assert.True(t, strings.HasSuffix(frames[0], "pass"), "cut inside the key: %q", frames[0][len(frames[0])-20:])

	s, _ := session(t)
	r := mustCall(t, s, "swarm_logs", map[string]any{"service": "longline"})
	require.Len(t, items(r), 1, "one message, one line")
	text := fmt.Sprint(items(r)[0]["text"])
	require.Greater(t, len(text), 16380)
	assert.Equal(t, strings.Repeat(" ", 16380), text[:16380])
	assert.Regexp(t, `^password=\[MASKED:[a-z-]+:[0-9a-f]+\] end$`, text[16380:])
	for _, grep := range []string{"Cut-planted", "word=Cut", "Pw-77"} {
		g := mustCall(t, s, "swarm_logs", map[string]any{"service": "longline", "grep": grep})
		assert.Empty(t, items(g), grep)
	}
}

// engineGet reads a path of the engine's API directly (not through the
// recording proxy: this is the test looking, not a server under test).
func engineGet(path string) ([]byte, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", strings.TrimPrefix(sw.Host, "unix://"))
	}}}
	resp, err := c.Get("http://docker/v1.41" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
