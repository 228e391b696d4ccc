package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/orchestrator/internal/eval"
)

// evalCmd runs the question set with each model and mode and writes the
// report (report.md, report.json, report.html) to --out.
func evalCmd(args []string) int {
	s := newSession("eval")
	models := s.fs.StringSlice("models", nil, "models to measure, comma-separated (default: --model)")
	modes := s.fs.StringSlice("modes", eval.Modes, "tool-calling modes: native, recovered (native, with calls written as JSON in the content accepted), constrained")
	repeats := s.fs.Int("repeats", 1, "times each question is asked per model and mode")
	files := s.fs.StringArray("questions", nil, "a YAML file of your own questions (repeatable); the shipped set runs too unless --no-shipped")
	noShipped := s.fs.Bool("no-shipped", false, "run only the --questions files")
	only := s.fs.StringSlice("only", nil, "run only these question ids or kinds (kubectl, diagnosis, multi-tool, refusal)")
	out := s.fs.String("out", "eval-report", "directory the report is written to")
	notes := s.fs.StringArray("note", nil, "a line said at the top of the report (repeatable)")
	total := s.fs.Duration("total-timeout", 0, "time limit of the whole eval (0: none; Ctrl-C stops it and writes what ran)")
	if err := s.fs.Parse(args); err != nil {
		return 2
	}
	usage := "usage: mcp-orchestrator eval --config servers.yaml --models M1,M2 [--modes native,recovered,constrained] [--repeats N] [--questions mine.yaml] [--out DIR]"
	if *s.config == "" || s.fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	if len(*models) == 0 && *s.model != "" {
		*models = []string{*s.model}
	}
	qs, err := questions(*files, *noShipped, *only)
	if err == nil {
		err = checkCallCaps(*s.perTurn, *s.perAnswer)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval:", err)
		return 2
	}
	cfg := eval.Config{Questions: qs, Models: *models, Modes: *modes, Repeats: *repeats, Timeout: *s.timeout, Progress: os.Stderr, Notes: *notes}
	if err := cfg.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval:", err)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval:", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *total)
		defer cancel()
	}
	base, closeAll, err := s.agent(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval:", err)
		return 1
	}
	defer closeAll()
	if base.Gateway == nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval: no Ollama endpoint configured (OLLAMA_URL, or endpoints: in the config)")
		return 2
	}
	base.Events = nil // progress is one line per answer
	cfg.Agent = func(model, mode string) *agent.Agent {
		a := *base
		a.Model = model
		// The eval's mode wins over the config's for this model.
		a.Modes = map[string]string{}
		for m, v := range base.Modes {
			a.Modes[m] = v
		}
		a.Modes[model] = mode
		return &a
	}
	cfg.Schemas = func(tool string) (map[string]bool, bool) {
		t, ok := base.Catalog.Lookup(tool)
		if !ok {
			return nil, false
		}
		return schemaArgs(t.Tool.InputSchema), true
	}
	cfg.Describe = func(ctx context.Context, model string) eval.ModelInfo {
		return describeModel(ctx, base, model)
	}
	fmt.Fprintf(os.Stderr, "eval: %d questions × %d model(s) × modes %s × %d repeat(s); report in %s\n",
		len(qs), len(*models), strings.Join(*modes, ","), *repeats, *out)
	rep, err := eval.Execute(ctx, cfg)
	if rep == nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval:", err)
		return 1
	}
	if err != nil {
		// Stopped part-way: write what ran, and say so.
		rep.Notes = append(rep.Notes, "Incomplete: "+err.Error())
	}
	if werr := writeReport(rep, *out); werr != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval:", werr)
		return 1
	}
	for _, g := range rep.Totals {
		fmt.Fprintf(os.Stderr, "eval: %s %s: %d/%d passed\n", g.Model, g.Mode, g.Passed, g.Runs)
	}
	fmt.Println(filepath.Join(*out, "report.html"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-orchestrator eval:", err)
		return 1
	}
	return 0
}

// questions are the shipped set (unless noShipped) and the team's files,
// narrowed to only.
func questions(files []string, noShipped bool, only []string) ([]eval.Question, error) {
	var qs []eval.Question
	if !noShipped {
		shipped, err := eval.Shipped()
		if err != nil {
			return nil, err
		}
		qs = shipped
	}
	own, err := eval.LoadFiles(files)
	if err != nil {
		return nil, err
	}
	qs = append(qs, own...)
	if noShipped && len(files) == 0 {
		return nil, fmt.Errorf("--no-shipped needs --questions")
	}
	return eval.Filter(qs, only)
}

// schemaArgs are the argument names of a tool's input schema.
func schemaArgs(schema any) map[string]bool {
	raw, _ := json.Marshal(schema)
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	json.Unmarshal(raw, &s)
	out := map[string]bool{}
	for k := range s.Properties {
		out[k] = true
	}
	return out
}

// describeModel reads the model's size from its host's /api/show; a
// model under 100M parameters is marked a test fixture.
func describeModel(ctx context.Context, a *agent.Agent, model string) eval.ModelInfo {
	info := eval.ModelInfo{Name: model}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ep, err := a.Gateway.Route(ctx, model, 0)
	if err != nil {
		info.Note = "not described: " + err.Error()
		return info
	}
	show, err := a.Gateway.Show(ctx, ep, model)
	if err != nil {
		info.Note = "not described: " + err.Error()
		return info
	}
	return eval.Describe(model, show.ModelInfo)
}

// writeReport writes report.md, report.json and report.html into dir.
func writeReport(rep *eval.Report, dir string) error {
	for name, write := range map[string]func(*os.File) error{
		"report.md":   func(f *os.File) error { return rep.Markdown(f) },
		"report.json": func(f *os.File) error { return rep.JSON(f) },
		"report.html": func(f *os.File) error { return rep.HTML(f) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
