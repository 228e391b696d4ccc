// Package orchestrator_test runs mcp-orchestrator's topology check against
// real Ollama servers (built by the harness, serving a tiny generated
// model) and a closed port.
package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var (
	binary  string
	kube    *harness.Kube
	k8sBin  string
	workDir string
	primary *harness.Ollama // has tiny, and plain (a model without tool support)
	second  *harness.Ollama // has tiny2 only
	closed  string          // a loopback port nothing listens on
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir, bin, err := harness.Prepare("orchestrator", "mcp-orchestrator")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary, workDir = bin, dir
	if k8sBin, err = harness.BuildBinary(dir, "mcp-kubernetes", "mcp-kubernetes"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if kube, err = harness.StartKube(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "start kubernetes:", err)
		return 1
	}
	defer kube.Stop()
	for i, spec := range []struct {
		o     **harness.Ollama
		model string
	}{{&primary, "tiny"}, {&second, "tiny2"}} {
		o, err := harness.StartOllama(ctx, fmt.Sprintf("%s/o%d", dir, i))
		if err != nil {
			fmt.Fprintln(os.Stderr, "start ollama:", err)
			return 1
		}
		defer o.Stop()
		if err := o.CreateTiny(ctx, spec.model, true); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		*spec.o = o
	}
	// The tiny model's vocabulary is bytes: a token per byte, so a tool's
	// description and schema need a larger context than real models do.
	if err := primary.CreateTiny(ctx, "plain", false, "num_ctx 8192"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	port, err := harness.FreePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	closed = fmt.Sprintf("http://127.0.0.1:%d", port)
	return m.Run()
}

type check struct {
	Endpoint  string   `json:"endpoint"`
	OK        bool     `json:"ok"`
	Version   string   `json:"version"`
	Missing   []string `json:"missing"`
	Generated string   `json:"generated"`
	Warm      []struct {
		Model string `json:"model"`
	} `json:"warm"`
	Loaded   bool     `json:"loaded"`
	SizeVRAM int64    `json:"size_vram"`
	Warnings []string `json:"warnings"`
	Errors   []string `json:"errors"`
}

type report struct {
	OK     bool                         `json:"ok"`
	Checks []check                      `json:"checks"`
	Routes map[string]map[string]string `json:"routes"`
	Lanes  []lane                       `json:"lanes"`
	Errors []string                     `json:"errors"`
}

// lane is topology-check's per lane and host warmth.
type lane struct {
	Lane      string `json:"lane"`
	Model     string `json:"model"`
	Host      string `json:"host"`
	Warm      bool   `json:"warm"`
	Processor string `json:"processor"`
	KeptWarm  bool   `json:"kept_warm"`
	Note      string `json:"note"`
}

func topologyCheck(t *testing.T, env map[string]string, args ...string) (report, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"topology-check", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "OLLAMA_URL=", "OLLAMA_SECONDARY_URL=", "OLLAMA_FALLBACK_URL=")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	var r report
	require.NoError(t, json.Unmarshal(out, &r), string(out))
	return r, code
}

func TestHealthyEndpoint(t *testing.T) {
	r, code := topologyCheck(t, map[string]string{"OLLAMA_URL": primary.URL}, "--model", "tiny")
	assert.Equal(t, 0, code)
	require.Len(t, r.Checks, 1)
	c := r.Checks[0]
	assert.True(t, c.OK, c.Errors)
	assert.Equal(t, "primary", c.Endpoint)
	assert.Equal(t, "0.17.4", c.Version)
	assert.Equal(t, "tiny", c.Generated)
	assert.True(t, c.Loaded, "/api/ps lists the model after the generation")
	assert.Equal(t, int64(0), c.SizeVRAM)
	assert.Equal(t, []string{"tiny runs on CPU here (size_vram 0)"}, c.Warnings)
	assert.Equal(t, "primary", r.Routes["tiny"]["endpoint"])
	assert.Equal(t, "model loaded on CPU", r.Routes["tiny"]["reason"])
}

func TestFailuresAndRoutes(t *testing.T) {
	r, code := topologyCheck(t, map[string]string{"OLLAMA_URL": primary.URL, "OLLAMA_SECONDARY_URL": second.URL, "OLLAMA_FALLBACK_URL": closed},
		"--model", "tiny", "--model", "tiny2")
	assert.Equal(t, 1, code, "a failed endpoint fails the check")
	require.Len(t, r.Checks, 3)
	assert.Equal(t, []string{"tiny2"}, r.Checks[0].Missing)
	assert.Equal(t, "tiny", r.Checks[0].Generated, "the model it has still gets a generation")
	assert.Equal(t, []string{"tiny"}, r.Checks[1].Missing)
	assert.Equal(t, "tiny2", r.Checks[1].Generated)
	require.Len(t, r.Checks[2].Errors, 1)
	assert.Contains(t, r.Checks[2].Errors[0], "not reachable")
	assert.Equal(t, "primary", r.Routes["tiny"]["endpoint"], "each model routes to the host that has it")
	assert.Equal(t, "secondary", r.Routes["tiny2"]["endpoint"])

	_, code = topologyCheck(t, map[string]string{"OLLAMA_URL": primary.URL}, "--model", "nope")
	assert.Equal(t, 1, code)
}

func TestNoEndpoint(t *testing.T) {
	cmd := exec.Command(binary, "topology-check")
	cmd.Env = append(os.Environ(), "OLLAMA_URL=", "OLLAMA_SECONDARY_URL=", "OLLAMA_FALLBACK_URL=")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Equal(t, 2, err.(*exec.ExitError).ExitCode())
	assert.Contains(t, string(out), "set OLLAMA_URL")
}
