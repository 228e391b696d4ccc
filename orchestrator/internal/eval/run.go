package eval

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
)

// Config is one eval: the questions, the models and modes to run them
// with, and how.
type Config struct {
	Questions []Question
	Models    []string
	Modes     []string
	Repeats   int
	// Timeout bounds one answer.
	Timeout time.Duration
	// Agent returns the agent that answers with model in the agent mode
	// (agent.Native or agent.Constrained).
	Agent func(model, mode string) *agent.Agent
	// Schemas tells the judge each tool's argument names.
	Schemas Schemas
	// Describe says what a model is (its size), for the report; nil: not said.
	Describe func(ctx context.Context, model string) ModelInfo
	// Progress, when set, gets a line per answer.
	Progress io.Writer
	// Notes go at the top of the report.
	Notes []string
}

// ModelInfo is what the report says about a model.
type ModelInfo struct {
	Name       string `json:"name"`
	Parameters int64  `json:"parameters,omitempty"`
	// Note is said beside the model's results (e.g. a tiny test model's
	// rates are no quality figure).
	Note string `json:"note,omitempty"`
}

// tinyParameters: below this, a model is a test fixture and its success
// rate is no quality figure.
const tinyParameters = 100_000_000

// Check refuses a config that cannot run, saying what to fix.
func (c *Config) Check() error {
	switch {
	case len(c.Questions) == 0:
		return fmt.Errorf("no questions to run")
	case len(c.Models) == 0:
		return fmt.Errorf("no model: give --models")
	case c.Repeats < 1:
		return fmt.Errorf("--repeats %d: use at least 1", c.Repeats)
	}
	if len(c.Modes) == 0 {
		return fmt.Errorf("no mode: give --modes (%s)", joinModes())
	}
	for _, m := range c.Modes {
		if !slices.Contains(Modes, m) {
			return fmt.Errorf("--modes %s: use %s", clip(m, 40), joinModes())
		}
	}
	return nil
}

func joinModes() string { return ModeNative + ", " + ModeRecovered + " or " + ModeConstrained }

// Result is one question's run with one model, judged in one mode.
type Result struct {
	Model        string        `json:"model"`
	Mode         string        `json:"mode"`
	Question     string        `json:"question"`
	Kind         string        `json:"kind"`
	Repeat       int           `json:"repeat"`
	Latency      time.Duration `json:"latency_ns"`
	Steps        int           `json:"steps"`
	PromptTokens int           `json:"prompt_tokens"`
	OutputTokens int           `json:"output_tokens"`
	Tools        []string      `json:"tools,omitempty"`
	Endpoint     string        `json:"endpoint,omitempty"`
	// Answer is the model's text with secret-looking values masked.
	Answer string `json:"answer"`
	Verdict
}

// Execute runs every question with every model, once per agent mode the
// eval modes need (native and recovered share their runs), Repeats
// times, and judges each run in each mode asked for.
func Execute(ctx context.Context, c Config) (*Report, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if c.Agent == nil {
		return nil, fmt.Errorf("eval: no agent")
	}
	rep := &Report{Started: time.Now().UTC(), Models: c.Models, Modes: c.Modes, Repeats: c.Repeats, Questions: len(c.Questions), Notes: c.Notes}
	// Group the eval modes by the agent mode they run in.
	var order []string
	byAgent := map[string][]string{}
	for _, m := range Modes {
		if !slices.Contains(c.Modes, m) {
			continue
		}
		am := agentMode(m)
		if _, seen := byAgent[am]; !seen {
			order = append(order, am)
		}
		byAgent[am] = append(byAgent[am], m)
	}
	total := len(c.Models) * len(order) * len(c.Questions) * c.Repeats
	done := 0
	stop := func(err error) (*Report, error) {
		rep.finish()
		return rep, fmt.Errorf("eval stopped after %d of %d answers: %w", done, total, err)
	}
	for _, model := range c.Models {
		info := ModelInfo{Name: model}
		if c.Describe != nil {
			info = c.Describe(ctx, model)
			info.Name = model
		}
		rep.ModelInfo = append(rep.ModelInfo, info)
		for _, am := range order {
			a := c.Agent(model, am)
			for _, q := range c.Questions {
				for rpt := 1; rpt <= c.Repeats; rpt++ {
					if err := ctx.Err(); err != nil {
						return stop(err)
					}
					run := ask(ctx, a, q.Question, c.Timeout)
					if err := ctx.Err(); err != nil {
						return stop(err) // stopped during this answer: it is no result
					}
					done++
					for _, m := range byAgent[am] {
						res := result(model, m, q, rpt, run, c.Schemas)
						rep.Results = append(rep.Results, res)
						progress(c.Progress, done, total, res)
					}
				}
			}
		}
	}
	rep.finish()
	return rep, nil
}

func (r *Report) finish() {
	r.Duration = time.Since(r.Started)
	r.aggregate()
}

// Describe is what the report says about a model, from its /api/show
// model_info: its parameter count, and, below 100M parameters, that it
// is a test fixture whose rates are no quality figure.
func Describe(model string, modelInfo map[string]any) ModelInfo {
	info := ModelInfo{Name: model}
	switch n := modelInfo["general.parameter_count"].(type) {
	case float64:
		info.Parameters = int64(n)
	case int64:
		info.Parameters = n
	case int:
		info.Parameters = int64(n)
	}
	if info.Parameters > 0 && info.Parameters < tinyParameters {
		info.Note = "tiny test model: its success rate is not a quality figure"
	}
	return info
}

// ask answers one question within timeout.
func ask(ctx context.Context, a *agent.Agent, question string, timeout time.Duration) Run {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	ans, err := a.Ask(ctx, question)
	return Run{Answer: ans, Err: err, Latency: time.Since(start)}
}

func result(model, mode string, q Question, repeat int, run Run, schemas Schemas) Result {
	ans := run.Answer
	r := Result{Model: model, Mode: mode, Question: q.ID, Kind: q.Kind, Repeat: repeat, Latency: run.Latency,
		Steps: ans.Steps, Endpoint: ans.Endpoint, Verdict: Judge(q, run, mode, schemas)}
	// What the report keeps of the answer and of the reasons (an error's
	// text is upstream text): secret-looking values masked, and the
	// question's not_contains entries (planted secrets the masker may not
	// recognise) withheld.
	r.Answer = withhold(clip(ans.Text, 2000), q)
	for i, reason := range r.Reasons {
		r.Reasons[i] = withhold(reason, q)
	}
	for _, t := range ans.Turns {
		r.PromptTokens += t.PromptTokens
		r.OutputTokens += t.OutputTokens
	}
	for _, c := range ans.Calls {
		r.Tools = append(r.Tools, c.Tool)
	}
	return r
}

// withhold masks s and replaces each of q's not_contains entries in it,
// in any case, by a placeholder that names the entry.
func withhold(s string, q Question) string {
	for i, c := range q.NotContains {
		s = looseMatch(c).ReplaceAllLiteralString(s, fmt.Sprintf("[withheld: not_contains %d]", i+1))
	}
	s, _ = secrets.Text(s)
	return s
}

// looseMatch matches text as the judge's normalize compares it: any
// case, with the white space, backticks and stars a model may put in
// between its characters.
func looseMatch(text string) *regexp.Regexp {
	var parts []string
	for _, r := range strings.Join(strings.Fields(text), "") {
		parts = append(parts, regexp.QuoteMeta(string(r)))
	}
	return regexp.MustCompile(`(?i)` + strings.Join(parts, "[`*\\s\\x{00a0}]*"))
}

func progress(w io.Writer, done, total int, r Result) {
	if w == nil {
		return
	}
	status := "passed"
	if !r.Passed {
		status = "failed: " + r.Reasons[0]
		if len(r.Reasons) > 1 {
			status += fmt.Sprintf(" (+%d more)", len(r.Reasons)-1)
		}
	}
	fmt.Fprintf(w, "[%d/%d] %s %s %s #%d: %s (%s, %d steps, %d calls)\n", done, total, r.Model, r.Mode, r.Question, r.Repeat,
		status, r.Latency.Round(time.Millisecond), r.Steps, r.Calls)
}
