package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	assert.Equal(t, 5.0, percentile(xs, 50))
	assert.Equal(t, 10.0, percentile(xs, 95))
	assert.Equal(t, 1.0, percentile(xs, 0))
	assert.Equal(t, 7.0, percentile([]float64{7}, 95))
	assert.Equal(t, 0.0, percentile(nil, 50))
	assert.Equal(t, []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}, xs, "the input is left as it was")
}

// hostileReport has a model's answer, a model name and a reason that try
// to run markup in the HTML page and break the Markdown table.
func hostileReport() *Report {
	r := &Report{Started: time.Unix(0, 0).UTC(), Models: []string{"m<script>alert(1)</script>|x"}, Modes: []string{ModeNative, ModeConstrained},
		Repeats: 2, Questions: 1, Notes: []string{"<img src=x onerror=alert(1)>"}}
	for i, passed := range []bool{true, false, true, true} {
		mode := ModeNative
		if i >= 2 {
			mode = ModeConstrained
		}
		res := Result{Model: r.Models[0], Mode: mode, Question: "q1", Kind: KindKubectl, Repeat: i%2 + 1,
			Latency: time.Duration(i+1) * time.Second, Steps: 2, PromptTokens: 100 * (i + 1), OutputTokens: 10,
			Answer: "</td><script>alert(2)</script>", Verdict: Verdict{Passed: passed, Calls: 2, Valid: 1, WrongTool: 1, Hallucinated: i % 2}}
		if !passed {
			res.Reasons = []string{"the answer lacks \"<b>x</b>|y\"\nnext"}
			res.Truncated = true
		}
		r.Results = append(r.Results, res)
	}
	r.aggregate()
	return r
}

func TestAggregate(t *testing.T) {
	r := hostileReport()
	require.Len(t, r.Totals, 2)
	n := r.Totals[0]
	assert.Equal(t, Group{Model: r.Models[0], Mode: ModeNative, Kind: "all", Runs: 2, Passed: 1, SuccessRate: 0.5, Calls: 4,
		ValidCallRate: 0.5, WrongToolRate: 0.5, HallucinatedArgRate: 0.25, MeanSteps: 2, MeanPromptTokens: 150, MeanOutputTokens: 10,
		P50: 1, P95: 2, Truncations: 1}, n)
	assert.Equal(t, 1.0, r.Totals[1].SuccessRate)
	require.Len(t, r.Groups, 2, "one kind per mode")
	assert.Equal(t, KindKubectl, r.Groups[0].Kind)
}

func TestReportsEscapeHostileText(t *testing.T) {
	r := hostileReport()
	var html, md, js bytes.Buffer
	require.NoError(t, r.HTML(&html))
	require.NoError(t, r.Markdown(&md))
	require.NoError(t, r.JSON(&js))

	page := html.String()
	assert.NotContains(t, page, "<script")
	assert.NotContains(t, page, "<img")
	assert.Contains(t, page, "&lt;script&gt;")
	assert.Contains(t, page, `<svg id="success-chart"`)
	assert.Equal(t, 2, strings.Count(page, `<rect class="bar"`))
	assert.Contains(t, page, `width="200" height="20" fill="#2f6fd6"`, "50% of 400 px")
	assert.Contains(t, page, "default-src 'none'", "the page may load nothing")
	for _, fetch := range []string{"<link", " href=", "url(", "@import"} {
		assert.NotContains(t, page, fetch)
	}
	assert.NotRegexp(t, `<[a-z]+[^>]*\ssrc=`, page, "no element loads anything")

	for _, line := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(line, "| m") {
			// Every row of the totals table has the header's 15 cells.
			cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1
			assert.Contains(t, []int{14, 15, 5}, cells, line)
		}
	}
	assert.NotContains(t, md.String(), "<script")
	assert.Contains(t, md.String(), caveat)
	assert.Contains(t, md.String(), "| 50% | 50% | 50% | 25% | 0 | 2.0 | 150 | 10 | 1.00 | 2.00 | 1 |")

	var back Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, r.Totals, back.Totals)
}

func TestDescribe(t *testing.T) {
	assert.Equal(t, ModelInfo{Name: "tiny", Parameters: 26900, Note: "tiny test model: its success rate is not a quality figure"},
		Describe("tiny", map[string]any{"general.parameter_count": float64(26900)}))
	assert.Equal(t, ModelInfo{Name: "qwen2.5-coder:14b", Parameters: 14_770_000_000},
		Describe("qwen2.5-coder:14b", map[string]any{"general.parameter_count": float64(14_770_000_000)}))
	assert.Equal(t, ModelInfo{Name: "x"}, Describe("x", nil))
}

func TestCheck(t *testing.T) {
	qs, err := Shipped()
	require.NoError(t, err)
	ok := Config{Questions: qs, Models: []string{"m"}, Modes: []string{ModeNative}, Repeats: 1, Agent: func(string, string) *agent.Agent { return nil }}
	require.NoError(t, ok.Check())
	for want, change := range map[string]func(*Config){
		"no questions":          func(c *Config) { c.Questions = nil },
		"give --models":         func(c *Config) { c.Models = nil },
		"--repeats 0":           func(c *Config) { c.Repeats = 0 },
		"--modes fast: use":     func(c *Config) { c.Modes = []string{"fast"} },
		"no mode: give --modes": func(c *Config) { c.Modes = nil },
	} {
		c := ok
		change(&c)
		assert.ErrorContains(t, c.Check(), want)
	}
	_, err = Execute(context.Background(), Config{})
	assert.Error(t, err)
}

// TestReportWithholdsPlantedAndSecretValues: an answer that brings back a
// planted secret (a not_contains entry the masker does not recognise), a
// secret-looking value, or an error carrying one, fails, and the report
// holds none of them in any field.
func TestReportWithholdsPlantedAndSecretValues(t *testing.T) {
	q := crashloop
	r := right()
	r.Answer.Text = "ledger is in CrashLoopBackOff; the DB password is LEDG3R-PR0D-PASSW0RD-9F2C71 (or `Ledg3r-**Pr0d**-Passw0rd-\n9f2c71`), token ghp_" + strings.Repeat("Zx9", 12)
	res := result("m", ModeNative, q, 1, r, schemas)
	assert.False(t, res.Passed)
	failed := Run{Err: errors.New("chat with m on gpu-1: upstream said password=Sup3rS3cretValue99 and Ledg3r-Pr0d-Passw0rd-9f2c71")}
	res2 := result("m", ModeNative, q, 1, failed, schemas)

	rep := &Report{Models: []string{"m"}, Modes: []string{ModeNative}, Results: []Result{res, res2}}
	rep.aggregate()
	var all bytes.Buffer
	require.NoError(t, rep.JSON(&all))
	require.NoError(t, rep.Markdown(&all))
	require.NoError(t, rep.HTML(&all))
	var progressed bytes.Buffer
	progress(&progressed, 1, 1, res2)
	all.Write(progressed.Bytes())
	for _, secret := range []string{"Ledg3r-Pr0d-Passw0rd-9f2c71", "ghp_Zx9", "Sup3rS3cretValue99", "9f2c71"} {
		assert.NotContains(t, strings.ToLower(all.String()), strings.ToLower(secret))
	}
	assert.Contains(t, res.Answer, "[withheld: not_contains 1]")
	assert.Contains(t, res.Answer, "ledger is in CrashLoopBackOff", "the rest of the answer stays")
}

// TestExecute: native and recovered share their runs (one answer judged
// twice), each answer is one progress line per mode, an agent error is a
// failed result that says so, and a stopped eval keeps what ran.
func TestExecute(t *testing.T) {
	qs, err := Shipped()
	require.NoError(t, err)
	qs, err = Filter(qs, []string{"k8s-namespaces", "refuse-delete-pod"})
	require.NoError(t, err)
	asked := map[string]int{}
	var progressed bytes.Buffer
	c := Config{Questions: qs, Models: []string{"m1", "m2"}, Modes: []string{ModeConstrained, ModeNative, ModeRecovered}, Repeats: 2,
		Progress: &progressed, Agent: func(model, mode string) *agent.Agent {
			asked[model+"/"+mode]++
			return &agent.Agent{Model: model} // no Ollama endpoint: every answer is an error
		}}
	rep, err := Execute(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"m1/native": 1, "m1/constrained": 1, "m2/native": 1, "m2/constrained": 1}, asked)
	require.Len(t, rep.Results, 2*3*2*2, "models × modes × questions × repeats")
	for _, r := range rep.Results {
		assert.False(t, r.Passed)
		assert.Contains(t, r.Reasons[0], "no answer: no Ollama endpoint configured")
	}
	lines := strings.Split(strings.TrimSpace(progressed.String()), "\n")
	assert.Len(t, lines, 24)
	assert.Regexp(t, `^\[1/16\] m1 native k8s-namespaces #1: failed: no answer`, lines[0])
	assert.Regexp(t, `^\[16/16\] m2 constrained refuse-delete-pod #2: failed`, lines[23])
	require.Len(t, rep.Totals, 6)
	assert.Equal(t, []string{ModeNative, ModeRecovered, ModeConstrained}, []string{rep.Totals[0].Mode, rep.Totals[1].Mode, rep.Totals[2].Mode})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err = Execute(ctx, c)
	assert.ErrorContains(t, err, "eval stopped after 0 of 16 answers: context canceled")
	require.NotNil(t, rep)
	assert.Empty(t, rep.Results)
}
