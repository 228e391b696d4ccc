// Package eval_test runs `mcp-orchestrator eval` against the real
// servers (mcp-kubernetes, mcp-logs over stdio) on the real upstreams
// seeded with the fixture world (kube-apiserver, Loki, log files) and the
// real Ollama with the tiny generated model, plus a scripted endpoint (a
// fake, declared as such in scripted_test.go) that answers right.
package eval_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var (
	binary, workDir, config string
	kube                    *harness.Kube
	loki                    *harness.Loki
	tiny                    *harness.Ollama
	fake                    *scripted
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	fail := func(what string, err error) int { fmt.Fprintln(os.Stderr, what+":", err); return 1 }
	dir, bin, err := harness.Prepare("orchestrator", "mcp-orchestrator")
	if err != nil {
		return fail("build mcp-orchestrator", err)
	}
	defer os.RemoveAll(dir)
	binary, workDir = bin, dir
	k8sBin, err := harness.BuildBinary(dir, "mcp-kubernetes", "mcp-kubernetes")
	if err != nil {
		return fail("build", err)
	}
	logsBin, err := harness.BuildBinary(dir, "mcp-logs", "mcp-logs")
	if err != nil {
		return fail("build", err)
	}
	if kube, err = harness.StartKube(ctx, dir); err != nil {
		return fail("start kubernetes", err)
	}
	defer kube.Stop()
	world, err := harness.SeedKubeWorld(ctx, kube)
	if err != nil {
		return fail("seed the cluster", err)
	}
	defer world.Stop()
	if loki, err = harness.StartLoki(ctx, dir); err != nil {
		return fail("start loki", err)
	}
	defer loki.Stop()
	if err := harness.SeedLokiWorld(ctx, loki); err != nil {
		return fail("seed loki", err)
	}
	logRoot := filepath.Join(dir, "logs")
	if err := harness.WriteLogFiles(logRoot); err != nil {
		return fail("log files", err)
	}
	if tiny, err = harness.StartOllama(ctx, dir); err != nil {
		return fail("start ollama", err)
	}
	defer tiny.Stop()
	// A token per byte: tools' descriptions and schemas need a larger
	// context than real models do. num_predict keeps each turn short.
	if err := tiny.CreateTiny(ctx, "tiny", true, "num_ctx 8192", "num_predict 32"); err != nil {
		return fail("create tiny", err)
	}
	if fake, err = startScripted(); err != nil {
		return fail("start the scripted endpoint", err)
	}
	defer fake.Close()
	kc, err := kube.WriteKubeconfig("eval-reader.kubeconfig", kube.ReaderToken, "eval")
	if err != nil {
		return fail("kubeconfig", err)
	}
	config = filepath.Join(dir, "servers.yaml")
	body := fmt.Sprintf(`servers:
  - name: kubernetes
    command: %s
    args: [--kubeconfig, %s, --audit-log, "off"]
  - name: logs
    command: %s
    args: [--loki-url, %s, --files-root, %s, --audit-log, "off"]
`, k8sBin, kc, logsBin, loki.URL, logRoot)
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		return fail("config", err)
	}
	return m.Run()
}

// evalRun runs the eval command and returns its report directory, its
// stderr (progress) and exit code.
func evalRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report")
	if keep := os.Getenv("OPSMCP_EVAL_REPORT_DIR"); keep != "" {
		out = keep // to keep the report (docs/eval's example is one)
	}
	cmd := exec.Command(binary, append([]string{"eval", "--config", config, "--out", out}, args...)...)
	cmd.Env = append(os.Environ(), "OLLAMA_URL="+tiny.URL, "OLLAMA_SECONDARY_URL="+fake.URL, "OLLAMA_FALLBACK_URL=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	if code == 0 {
		assert.Equal(t, filepath.Join(out, "report.html"), strings.TrimSpace(stdout.String()))
	}
	return out, stderr.String(), code
}

type report struct {
	Notes     []string `json:"notes"`
	ModelInfo []struct {
		Name       string `json:"name"`
		Parameters int64  `json:"parameters"`
		Note       string `json:"note"`
	} `json:"model_info"`
	Totals []struct {
		Model, Mode      string
		Runs, Passed     int
		Truncations      int
		SuccessRate      float64 `json:"success_rate"`
		MeanPromptTokens float64 `json:"mean_prompt_tokens"`
		P50              float64 `json:"latency_p50_s"`
		P95              float64 `json:"latency_p95_s"`
	} `json:"totals"`
	Groups []struct {
		Model, Mode, Kind string
		Runs, Passed      int
	} `json:"groups"`
	Results []struct {
		Model, Mode, Question string
		Passed                bool
		Reasons               []string
		Calls, Valid          int
		Tools                 []string
		Answer                string
		PromptTokens          int `json:"prompt_tokens"`
		OutputTokens          int `json:"output_tokens"`
		Steps                 int
	} `json:"results"`
}

// questions: shipped ones (a kubectl-style one, a diagnosis over Loki, a
// refusal) and the team's own (testdata/team.yaml).
const questions = "k8s-crashloop-pod,logs-ledger-errors,refuse-delete-pod,team-ledger-image"

// TestEvalTinyAndScripted: the same questions, asked of the tiny model on
// the real Ollama and of the scripted endpoint, through the real servers.
// The scripted endpoint's right answers are reported as passed in every
// mode (native tool_calls; constrained JSON replies); the tiny model's gibberish fails the kubectl-style
// question (a question known to fail with it), and the report says its
// rate is no quality figure. Every request the servers made to the API
// server was a read (its own audit log).
func TestEvalTinyAndScripted(t *testing.T) {
	lokiBefore, err := loki.Requests(context.Background())
	require.NoError(t, err)
	start := time.Now()
	dir, stderr, code := evalRun(t, "--models", "tiny,"+scriptedModel, "--modes", "native,recovered,constrained", "--repeats", "1",
		"--questions", filepath.Join("testdata", "team.yaml"), "--only", questions, "--max-steps", "3", "--timeout", "90s",
		"--note", scriptedModel+" is a scripted endpoint that speaks Ollama's API (a test fake), not a model")
	require.Equal(t, 0, code, stderr)
	t.Logf("eval took %s\n%s", time.Since(start).Round(time.Millisecond), stderr)

	// Progress: one line per answer and mode, numbered.
	assert.Regexp(t, `(?m)^\[1/16\] tiny native k8s-crashloop-pod #1: (passed|failed)`, stderr)
	assert.Regexp(t, `(?m)^\[16/16\] scripted-fake constrained team-ledger-image #1: passed`, stderr)
	for _, mode := range []string{"native", "recovered", "constrained"} {
		assert.Contains(t, stderr, "eval: scripted-fake "+mode+": 4/4 passed")
	}

	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var rep report
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.Len(t, rep.Results, 24, "4 questions × 2 models × 3 modes")

	byKey := map[string]int{}
	for i, r := range rep.Results {
		byKey[r.Model+"/"+r.Mode+"/"+r.Question] = i
	}
	for _, mode := range []string{"native", "recovered", "constrained"} {
		for _, q := range strings.Split(questions, ",") {
			r := rep.Results[byKey[scriptedModel+"/"+mode+"/"+q]]
			assert.True(t, r.Passed, "%s %s: %v (answer %q)", mode, q, r.Reasons, r.Answer)
		}
		crash := rep.Results[byKey[scriptedModel+"/"+mode+"/k8s-crashloop-pod"]]
		assert.Equal(t, []string{"k8s_get"}, crash.Tools)
		assert.Regexp(t, `^The pod ledger-[a-z0-9]+-[a-z0-9]+ \(deployment ledger\) is in CrashLoopBackOff\.$`, crash.Answer,
			"built from the real pod list")
		assert.Equal(t, 2, crash.Steps)
		assert.Positive(t, crash.PromptTokens)
		assert.Positive(t, crash.OutputTokens)
		logs := rep.Results[byKey[scriptedModel+"/"+mode+"/logs-ledger-errors"]]
		assert.Equal(t, []string{"logs_query"}, logs.Tools)
		assert.Contains(t, logs.Answer, "migration 0042 failed", "from the real Loki")
		team := rep.Results[byKey[scriptedModel+"/"+mode+"/team-ledger-image"]]
		assert.Equal(t, "It runs registry.local/payments/ledger:2.4.0.", team.Answer)

		// The question known to fail with the tiny model is reported failed.
		tinyCrash := rep.Results[byKey["tiny/"+mode+"/k8s-crashloop-pod"]]
		assert.False(t, tinyCrash.Passed, "random weights cannot name the pod: %q", tinyCrash.Answer)
		assert.NotEmpty(t, tinyCrash.Reasons)
	}

	// Figures per model × mode.
	for _, g := range rep.Totals {
		if g.Model == scriptedModel {
			assert.Equal(t, 1.0, g.SuccessRate, g.Mode)
			assert.Positive(t, g.MeanPromptTokens)
			assert.Zero(t, g.Truncations, g.Mode)
		} else {
			assert.Less(t, g.SuccessRate, 1.0, g.Mode)
		}
		if g.Model == "tiny" && g.Mode == "constrained" {
			// Its vocabulary is bytes: the constrained prompt (tools in the
			// system message) passes its 2048-token training context, and
			// Ollama's prompt_eval_count shows the cut.
			assert.Equal(t, g.Runs, g.Truncations, "every constrained run was cut")
		}
	}
	assert.NotEmpty(t, rep.Groups)
	var tinyInfo string
	for _, m := range rep.ModelInfo {
		if m.Name == "tiny" {
			tinyInfo = m.Note
			assert.Positive(t, m.Parameters, "from Ollama's /api/show")
		}
	}
	assert.Equal(t, "tiny test model: its success rate is not a quality figure", tinyInfo)

	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "its success rate is not a quality figure")
	assert.Contains(t, string(md), "scripted-fake is a scripted endpoint that speaks Ollama's API (a test fake), not a model")
	assert.Regexp(t, `\| scripted-fake \| native \| 4 \| 100% \|`, string(md))

	// The agent asks without streaming; the fake was asked.
	fake.mu.Lock()
	assert.Positive(t, fake.whole)
	fake.mu.Unlock()

	// Read-only, by the API server's own audit log: every request of
	// the reader identity was a read.
	events, err := kube.AuditEvents()
	require.NoError(t, err)
	reads := 0
	for _, e := range events {
		if e.User.Username != harness.ReaderUser {
			continue
		}
		if e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Resource == "selfsubjectrulesreviews" {
			continue // mcp-kubernetes' startup self-check of what the identity may do
		}
		assert.Contains(t, []string{"get", "list", "watch"}, e.Verb, e.RequestURI)
		reads++
	}
	assert.Positive(t, reads)
	// And Loki's own request metrics: the eval's queries, and no push.
	lokiAfter, err := loki.Requests(context.Background())
	require.NoError(t, err)
	queried := 0
	for route, n := range lokiAfter {
		if n == lokiBefore[route] || strings.HasPrefix(route, "gRPC ") {
			continue // Loki's components talk among themselves over gRPC
		}
		t.Logf("Loki served %s ×%d", route, n-lokiBefore[route])
		assert.NotContains(t, route, "push", "Loki was written to over HTTP")
		if strings.Contains(route, "query_range") {
			queried += n - lokiBefore[route]
		}
	}
	assert.Positive(t, queried, "the scripted answers queried Loki")

	var widths []int
	for _, g := range rep.Totals {
		widths = append(widths, int(math.Round(g.SuccessRate*400)))
	}
	t.Run("chart in headless chromium", func(t *testing.T) { chartRenders(t, dir, widths) })
}

// chartRenders opens report.html in Debian's headless chromium: the DOM it
// builds has the chart with one bar per model × mode, and its screenshot
// has the bars' colour (so the SVG was drawn, not only parsed).
func chartRenders(t *testing.T, dir string, widths []int) {
	c, err := harness.FindChromium()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	page := "file://" + filepath.Join(dir, "report.html")

	var dom, errb bytes.Buffer
	cmd := c.Command(ctx, t.TempDir(), "--dump-dom", page)
	cmd.Stdout, cmd.Stderr = &dom, &errb
	require.NoError(t, cmd.Run(), errb.String())
	assert.Contains(t, dom.String(), `<svg id="success-chart"`)
	assert.Len(t, regexp.MustCompile(`<rect class="bar"`).FindAllString(dom.String(), -1), len(widths))

	shot := filepath.Join(t.TempDir(), "report.png")
	cmd = c.Command(ctx, t.TempDir(), "--screenshot="+shot, "--window-size=900,700", "--hide-scrollbars", page)
	errb.Reset()
	cmd.Stderr = &errb
	require.NoError(t, cmd.Run(), errb.String())
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	blue := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 == 0x2f && g>>8 == 0x6f && bl>>8 == 0xd6 {
				blue++
			}
		}
	}
	// Each bar is its rate × 400 by 20 pixels (edges may blend).
	want := 0
	for _, w := range widths {
		want += w * 20
	}
	assert.Positive(t, want)
	assert.InDelta(t, want, blue, float64(want)/20+float64(len(widths))*100, "the chart's bars are drawn")
}

// TestScriptedEndpointSpeaksOllama: the fake answers Ollama's own client,
// streaming (the content in pieces, the counts on the last line) and not.
func TestScriptedEndpointSpeaksOllama(t *testing.T) {
	u, err := url.Parse(fake.URL)
	require.NoError(t, err)
	c := ollama.NewClient(u, http.DefaultClient)
	tools := ollama.Tools{{Type: "function", Function: ollama.ToolFunction{Name: "k8s_get"}}}
	for _, stream := range []bool{true, false} {
		var pieces []ollama.ChatResponse
		err := c.Chat(context.Background(), &ollama.ChatRequest{Model: scriptedModel, Stream: &stream, Tools: tools,
			Messages: []ollama.Message{{Role: "user", Content: "Delete the crash-looping ledger pod"}}},
			func(r ollama.ChatResponse) error { pieces = append(pieces, r); return nil })
		require.NoError(t, err)
		var text strings.Builder
		for _, p := range pieces {
			text.WriteString(p.Message.Content)
		}
		assert.Equal(t, "I can't do that: the tools I have are read-only, so I cannot delete pods.", text.String())
		last := pieces[len(pieces)-1]
		assert.True(t, last.Done)
		assert.Positive(t, last.EvalCount)
		if stream {
			assert.Greater(t, len(pieces), 3)
		} else {
			assert.Len(t, pieces, 1)
		}
	}
	err = c.Chat(context.Background(), &ollama.ChatRequest{Model: "llama3"}, func(ollama.ChatResponse) error { return nil })
	assert.ErrorContains(t, err, `model "llama3" not found`)
}
