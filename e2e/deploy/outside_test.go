package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/opsmcp/opsmcp/e2e/deploy"
	"github.com/opsmcp/opsmcp/e2e/harness"
)

var suite = []string{"mcp-kubernetes", "mcp-gitea", "mcp-swarm", "mcp-logs", "mcp-docs", "mcp-orchestrator"}

// served: binaries whose server is the serve subcommand.
var served = map[string]bool{"mcp-docs": true, "mcp-orchestrator": true}

// composeProject loads deploy/compose with compose-go, as `docker
// compose config` would, with the variables it requires set to loopback.
func composeProject(t *testing.T) *composetypes.Project {
	t.Helper()
	dir := filepath.Join(harness.Root(), "deploy", "compose")
	raw, err := os.ReadFile(filepath.Join(dir, "docker-compose.yaml"))
	require.NoError(t, err)
	p, err := loader.LoadWithContext(context.Background(), composetypes.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []composetypes.ConfigFile{{Filename: "docker-compose.yaml", Content: raw}},
		Environment: composetypes.Mapping{
			"OLLAMA_URL": "http://127.0.0.1:11434", "GITEA_URL": "http://127.0.0.1:3000",
			"LOKI_URL": "http://127.0.0.1:3100", "SWARM_DOCKER_HOST": "tcp://127.0.0.1:2376",
			"OIDC_ISSUER": "http://127.0.0.1:3000", "OIDC_CLIENT_ID": "opsmcp", "MCP_PUBLIC_URL": "https://localhost",
		},
	}, func(o *loader.Options) { o.SetProjectName("opsmcp", true) })
	require.NoError(t, err)
	return p
}

// TestCompose: the single-host file loads, has every binary and a proxy,
// and holds each server to the same stance as the Kubernetes manifests.
func TestCompose(t *testing.T) {
	p := composeProject(t)
	names := p.ServiceNames()
	slices.Sort(names)
	assert.Equal(t, []string{"mcp-docs", "mcp-gitea", "mcp-kubernetes", "mcp-logs", "mcp-orchestrator", "mcp-swarm", "oauth2-proxy", "proxy"}, names)
	for _, s := range p.Services {
		assert.True(t, s.ReadOnly, "%s: read-only root", s.Name)
		assert.False(t, s.Privileged, s.Name)
		assert.Contains(t, s.CapDrop, "ALL", s.Name)
		assert.Contains(t, s.SecurityOpt, "no-new-privileges:true", s.Name)
		assert.Empty(t, s.NetworkMode, "%s: no host network", s.Name)
		assert.Greater(t, int64(s.MemLimit), int64(0), "%s: memory limit", s.Name)
		assert.Greater(t, float64(s.CPUS), 0.0, "%s: cpu limit", s.Name)
		assert.Regexp(t, `:v?[0-9][^:]*$`, s.Image, "%s: image pinned to a version (oauth2-proxy tags theirs v7.x.y)", s.Name)
		for _, v := range s.Volumes {
			assert.NotContains(t, v.Source, "docker.sock", s.Name)
			if v.Type == composetypes.VolumeTypeBind {
				assert.True(t, v.ReadOnly, "%s: bind mount %s read-only", s.Name, v.Source)
			}
		}
		if s.Name != "proxy" {
			assert.Equal(t, "65532:65532", s.User, s.Name)
			assert.Empty(t, s.CapAdd, s.Name)
			assert.Empty(t, s.Ports, "%s: only the proxy publishes a port", s.Name)
		}
	}
	assert.Equal(t, "http://127.0.0.1:11434", *p.Services["mcp-orchestrator"].Environment["OLLAMA_URL"])
	// SSO as e2e/proxy runs it: nginx asks oauth2-proxy, which verifies
	// bearer ID tokens and hands the session's back; every server and the
	// orchestrator verify the same issuer and audience again.
	sso := p.Services["oauth2-proxy"]
	for _, flag := range []string{"--http-address=0.0.0.0:4180", "--provider=oidc", "--set-authorization-header", "--skip-jwt-bearer-tokens", "--bearer-token-login-fallback=false", "--upstream=static://202"} {
		assert.Contains(t, sso.Command, flag)
	}
	assert.Equal(t, "https://localhost/oauth2/callback", *sso.Environment["OAUTH2_PROXY_REDIRECT_URL"])
	assert.Contains(t, p.Services["proxy"].DependsOn, "oauth2-proxy")
	nginx, err := os.ReadFile(filepath.Join(harness.Root(), "deploy", "proxy", "nginx.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(nginx), "server oauth2-proxy:4180;", "nginx's upstream is the compose service")
	for _, name := range []string{"mcp-kubernetes", "mcp-gitea", "mcp-swarm", "mcp-logs", "mcp-docs"} {
		env := p.Services[name].Environment
		assert.Equal(t, "http://127.0.0.1:3000", *env["OPSMCP_OIDC_ISSUER"], name)
		assert.Equal(t, "opsmcp", *env["OPSMCP_OIDC_AUDIENCE"], name)
	}
	assert.Contains(t, p.Services["mcp-orchestrator"].Command, "--oidc-issuer=http://127.0.0.1:3000")
}

// TestComposeNeedsItsURLs: with no Ollama URL given, compose stops with a
// message saying what to set, rather than defaulting to some host.
func TestComposeNeedsItsURLs(t *testing.T) {
	dir := filepath.Join(harness.Root(), "deploy", "compose")
	raw, err := os.ReadFile(filepath.Join(dir, "docker-compose.yaml"))
	require.NoError(t, err)
	_, err = loader.LoadWithContext(context.Background(), composetypes.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []composetypes.ConfigFile{{Filename: "docker-compose.yaml", Content: raw}},
		Environment: composetypes.Mapping{"GITEA_URL": "x", "LOKI_URL": "x", "SWARM_DOCKER_HOST": "x", "OIDC_ISSUER": "x", "OIDC_CLIENT_ID": "x", "MCP_PUBLIC_URL": "x"},
	}, func(o *loader.Options) { o.SetProjectName("opsmcp", true) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set OLLAMA_URL")
}

// TestSystemdUnits: systemd's own verifier accepts the template unit and
// each binary's drop-in, with no warning (an unknown or misspelt
// directive is a warning). It runs on a copy of this machine's unit tree
// with stand-in binaries, since verify checks that ExecStart exists.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	require.NoError(t, err, "systemd-analyze (Debian's systemd) verifies the units")
	root := t.TempDir()
	src := filepath.Join(harness.Root(), "deploy", "systemd")
	require.NoError(t, os.CopyFS(filepath.Join(root, "lib", "systemd", "system"), os.DirFS("/lib/systemd/system")))
	require.NoError(t, os.CopyFS(filepath.Join(root, "etc", "systemd", "system"), os.DirFS(src)))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr", "local", "bin"), 0o755))
	for _, b := range suite {
		require.NoError(t, os.WriteFile(filepath.Join(root, "usr", "local", "bin", b), []byte("#!/bin/true\n"), 0o755))
		out, err := exec.Command(analyze, "verify", "--man=no", "--root="+root, "opsmcp@"+b+".service").CombinedOutput()
		assert.NoError(t, err, "%s: %s", b, out)
		assert.Empty(t, strings.TrimSpace(string(out)), b)
	}
	// The verifier is not lenient: a misspelt directive is reported.
	unit := filepath.Join(root, "etc", "systemd", "system", "opsmcp@.service")
	raw, err := os.ReadFile(unit)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(unit, []byte(strings.Replace(string(raw), "ProtectClock=", "ProtectClok=", 1)), 0o644))
	out, _ := exec.Command(analyze, "verify", "--man=no", "--root="+root, "opsmcp@mcp-logs.service").CombinedOutput()
	assert.Contains(t, string(out), "Unknown key 'ProtectClok'")
}

var envFlag = regexp.MustCompile(`\bOPSMCP_([A-Z0-9_]+)=`)

// TestSettingsNameRealFlags: every OPSMCP_* setting and every argument
// the manifests, the compose file and the systemd files give a binary is
// a flag that binary has (`--help`), so a misspelt setting cannot be
// silently ignored in production.
func TestSettingsNameRealFlags(t *testing.T) {
	dir := t.TempDir()
	help := map[string]string{}
	for _, b := range suite {
		module := b
		if b == "mcp-orchestrator" {
			module = "orchestrator"
		}
		bin, err := harness.BuildBinary(dir, module, b)
		require.NoError(t, err)
		args := []string{"--help"}
		if served[b] {
			args = []string{"serve", "--help"}
		}
		out, _ := exec.Command(bin, args...).CombinedOutput()
		require.Contains(t, string(out), "--listen", b)
		help[b] = string(out)
	}
	check := func(where, bin string, flags []string) {
		t.Helper()
		require.NotEmpty(t, flags, where)
		for _, f := range flags {
			assert.Contains(t, help[bin], "--"+f+" ", "%s: %s has no flag --%s", where, bin, f)
		}
	}
	fromEnv := func(text string) []string {
		var out []string
		for _, m := range envFlag.FindAllStringSubmatch(text, -1) {
			out = append(out, strings.ReplaceAll(strings.ToLower(m[1]), "_", "-"))
		}
		return out
	}
	fromArgs := func(args []string) []string {
		var out []string
		for _, a := range args {
			if name, ok := strings.CutPrefix(a, "--"); ok {
				name, _, _ = strings.Cut(name, "=")
				out = append(out, name)
			}
		}
		return out
	}

	// Kubernetes: each Deployment's env and args, and the shared ConfigMap.
	objs, err := deploy.Render(kube("overlays/mesh"))
	require.NoError(t, err)
	var shared []string
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && strings.HasPrefix(o.GetName(), "opsmcp-server-env") {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			for k, v := range data {
				shared = append(shared, fromEnv(k+"="+v)...)
			}
		}
	}
	for _, b := range suite {
		dep := deploy.Find(objs, "Deployment", b)
		require.NotNil(t, dep, b)
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		c := containers[0].(map[string]any)
		if b == "mcp-orchestrator" {
			args, _, _ := unstructured.NestedStringSlice(c, "args")
			check("Deployment "+b, b, fromArgs(args[1:]))
			continue
		}
		check("opsmcp-server-env for "+b, b, shared)
		if served[b] {
			args, _, _ := unstructured.NestedStringSlice(c, "args")
			assert.Equal(t, []string{"serve"}, args, b)
		}
		env, _, _ := unstructured.NestedSlice(c, "env")
		var text strings.Builder
		for _, e := range env {
			e := e.(map[string]any)
			text.WriteString(e["name"].(string) + "=" + e["value"].(string) + "\n")
		}
		check("Deployment "+b, b, fromEnv(text.String()))
	}

	// Compose.
	p := composeProject(t)
	for _, b := range suite {
		s := p.Services[b]
		if b == "mcp-orchestrator" {
			check("compose "+b, b, fromArgs(s.Command[1:]))
			continue
		}
		var text strings.Builder
		for k, v := range s.Environment {
			text.WriteString(k + "=" + *v + "\n")
		}
		check("compose "+b, b, fromEnv(text.String()))
		if served[b] {
			assert.Equal(t, composetypes.ShellCommand{"serve"}, s.Command, b)
		}
	}

	// systemd: the unit's own settings, each env file, each drop-in.
	sd := filepath.Join(harness.Root(), "deploy", "systemd")
	unit, err := os.ReadFile(filepath.Join(sd, "opsmcp@.service"))
	require.NoError(t, err)
	for _, b := range suite {
		env, err := os.ReadFile(filepath.Join(sd, "env", b+".env"))
		require.NoError(t, err)
		dropIn, _ := os.ReadFile(filepath.Join(sd, "opsmcp@"+b+".service.d", "credentials.conf"))
		if b == "mcp-orchestrator" {
			line := regexp.MustCompile(`(?m)^OPSMCP_ARGS=(.*)$`).FindStringSubmatch(string(env))
			require.NotNil(t, line)
			check("systemd "+b, b, fromArgs(strings.Fields(line[1])[1:]))
			continue
		}
		args := regexp.MustCompile(`(?m)^OPSMCP_ARGS=.*$`)
		if served[b] {
			assert.Regexp(t, `(?m)^OPSMCP_ARGS=serve$`, string(env), b)
		}
		text := args.ReplaceAllString(string(unit)+"\n"+string(env)+"\n"+string(dropIn), "")
		check("systemd "+b, b, fromEnv(strings.ReplaceAll(text, " OPSMCP_", "\nOPSMCP_")))
	}
}
