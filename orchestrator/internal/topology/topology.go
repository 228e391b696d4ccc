// Package topology checks the Ollama endpoints the way an operator would
// before sending people to them: tags answer, the expected models are
// there, what each host held warm before the check (and, with lanes,
// whether each lane's model is warm on each of its hosts), a short
// generation works, the model then shows as loaded, and a CPU-only load
// (size_vram 0) is called out.
package topology

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ollama/ollama/api"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
)

// Warm is a model a host held loaded when the check began (/api/ps,
// before the check's own generation).
type Warm struct {
	Model     string    `json:"model"`
	Processor string    `json:"processor" jsonschema:"gpu, cpu or mixed"`
	Size      int64     `json:"size"`
	SizeVRAM  int64     `json:"size_vram"`
	ExpiresAt time.Time `json:"expires_at"`
}

// LaneWarmth is whether a lane's model was warm on one of its hosts.
type LaneWarmth struct {
	Lane  string `json:"lane"`
	Model string `json:"model"`
	Host  string `json:"host"`
	Warm  bool   `json:"warm"`
	// Processor is where it runs when warm.
	Processor string `json:"processor,omitempty"`
	// KeptWarm: the warm-up keeps this lane warm, and now is within its
	// hours.
	KeptWarm bool   `json:"kept_warm"`
	Note     string `json:"note,omitempty"`
}

// Check is one endpoint's result.
type Check struct {
	Endpoint   string   `json:"endpoint"`
	URL        string   `json:"url"`
	OK         bool     `json:"ok"`
	Version    string   `json:"version,omitempty"`
	Models     []string `json:"models,omitempty" jsonschema:"pulled models"`
	Missing    []string `json:"missing,omitempty"`
	Generated  string   `json:"generated,omitempty" jsonschema:"the model a short generation ran on"`
	GenerateMS float64  `json:"generate_ms,omitempty"`
	Warm       []Warm   `json:"warm,omitempty" jsonschema:"what the host held loaded before the check's generation"`
	Loaded     bool     `json:"loaded,omitempty" jsonschema:"/api/ps lists the model after the generation"`
	SizeVRAM   int64    `json:"size_vram,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

// Report is the whole check, with where the gateway would route each
// expected model now.
type Report struct {
	OK     bool                      `json:"ok"`
	Checks []Check                   `json:"checks"`
	Routes map[string]gateway.Choice `json:"routes,omitempty"`
	// Lanes say, per lane and host, whether the lane's model was warm
	// (with --config).
	Lanes  []LaneWarmth `json:"lanes,omitempty"`
	Errors []string     `json:"errors,omitempty"`
}

// AddLanes fills r.Lanes: each lane's model on each of its hosts (every
// checked host when it names none), warm or not as the check found it
// before its own generation, and whether the warm-up (set, when enabled)
// keeps it warm at now. A lane kept warm whose model is cold is a
// warning, since its next question pays the load.
func (r *Report) AddLanes(lanes []warmup.Lane, set *warmup.Settings, now time.Time) {
	kept := map[string]bool{}
	if set != nil && set.Window.Contains(now) {
		for _, l := range lanes {
			kept[l.Name] = len(set.Lanes) == 0
		}
		for _, n := range set.Lanes {
			kept[n] = true
		}
	}
	for _, l := range lanes {
		for _, c := range r.Checks {
			if len(l.Hosts) > 0 && !slices.Contains(l.Hosts, c.Endpoint) {
				continue
			}
			lw := LaneWarmth{Lane: l.Name, Model: l.Model, Host: c.Endpoint, KeptWarm: kept[l.Name]}
			for _, w := range c.Warm {
				if gateway.SameModel(w.Model, l.Model) {
					lw.Warm, lw.Processor = true, w.Processor
				}
			}
			switch {
			case c.Version == "":
				lw.Note = "host not reachable"
			case !slices.ContainsFunc(c.Models, func(m string) bool { return gateway.SameModel(m, l.Model) }):
				lw.Note = "model not pulled here"
			case lw.KeptWarm && !lw.Warm:
				lw.Note = "the warm-up should keep it loaded here: see the orchestrator's warm-up log and opsmcp_orchestrator_warmup_total"
			}
			r.Lanes = append(r.Lanes, lw)
		}
	}
}

// Run checks every endpoint of gw for the expected models (none: any
// pulled model is used for the generation). The generation carries the
// runner options a question for its model would (a lane's, else the
// context the model is loaded with there), so it does not make Ollama
// reload a warm model.
func Run(ctx context.Context, gw *gateway.Gateway, expect []string, lanes ...warmup.Lane) Report {
	rep := Report{OK: true, Routes: map[string]gateway.Choice{}}
	gw.Poll(ctx) // the loaded contexts, for the generation's options
	for _, ep := range gw.Endpoints() {
		c := check(ctx, gw, ep, expect, lanes)
		if !c.OK {
			rep.OK = false
		}
		rep.Checks = append(rep.Checks, c)
	}
	gw.Poll(ctx)
	for _, m := range expect {
		ch, err := gw.Pick(m)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			rep.OK = false
			continue
		}
		rep.Routes[m] = ch
	}
	return rep
}

func check(ctx context.Context, gw *gateway.Gateway, ep gateway.Endpoint, expect []string, lanes []warmup.Lane) Check {
	c := Check{Endpoint: ep.Name, URL: ep.URL}
	fail := func(format string, args ...any) Check {
		c.Errors = append(c.Errors, fmt.Sprintf(format, args...))
		return c
	}
	v, err := ep.API.Version(ctx)
	if err != nil {
		return fail("not reachable: %v", err)
	}
	c.Version = v
	tags, err := ep.API.List(ctx)
	if err != nil {
		return fail("/api/tags: %v", err)
	}
	for _, m := range tags.Models {
		c.Models = append(c.Models, m.Name)
	}
	target := ""
	for _, want := range expect {
		found := false
		for _, have := range c.Models {
			if gateway.SameModel(have, want) {
				found = true
			}
		}
		if !found {
			c.Missing = append(c.Missing, want)
		} else if target == "" {
			target = want
		}
	}
	if len(c.Missing) > 0 {
		c.Errors = append(c.Errors, "missing models: "+strings.Join(c.Missing, ", "))
	}
	if target == "" && len(expect) == 0 && len(c.Models) > 0 {
		target = c.Models[0]
	}
	// What was warm, before this check's own generation loads anything.
	if ps, err := ep.API.ListRunning(ctx); err != nil {
		c.Errors = append(c.Errors, fmt.Sprintf("/api/ps: %v", err))
	} else {
		for _, m := range ps.Models {
			l := gateway.Loaded{Model: m.Name, Size: m.Size, SizeVRAM: m.SizeVRAM}
			c.Warm = append(c.Warm, Warm{Model: m.Name, Processor: l.Processor(), Size: m.Size, SizeVRAM: m.SizeVRAM, ExpiresAt: m.ExpiresAt})
		}
	}
	if target == "" {
		if len(c.Errors) == 0 {
			c.Errors = append(c.Errors, "no model pulled")
		}
		return c
	}
	start := time.Now()
	stream := false
	var base map[string]any
	for _, l := range lanes {
		if gateway.SameModel(l.Model, target) && (len(l.Hosts) == 0 || slices.Contains(l.Hosts, ep.Name)) {
			base = l.Options
			break
		}
	}
	opts := map[string]any{"num_predict": 1}
	for k, v := range gw.RunnerOptions(ctx, base, ep, target) {
		opts[k] = v
	}
	err = ep.API.Generate(ctx, &api.GenerateRequest{Model: target, Prompt: "ok", Stream: &stream, Options: opts}, func(api.GenerateResponse) error { return nil })
	if err != nil {
		return fail("generation on %s: %v", target, err)
	}
	c.Generated, c.GenerateMS = target, float64(time.Since(start).Microseconds())/1000
	ps, err := ep.API.ListRunning(ctx)
	if err != nil {
		return fail("/api/ps: %v", err)
	}
	for _, m := range ps.Models {
		if gateway.SameModel(m.Name, target) {
			c.Loaded, c.SizeVRAM = true, m.SizeVRAM
		}
	}
	switch {
	case !c.Loaded:
		c.Errors = append(c.Errors, fmt.Sprintf("%s does not show in /api/ps after a generation", target))
	case c.SizeVRAM == 0:
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s runs on CPU here (size_vram 0)", target))
	}
	c.OK = len(c.Errors) == 0
	return c
}

// safe is s for a terminal: a host's model names, version and errors
// are its own text, and a control character in them (an escape
// sequence, a line break that fakes a line of the report) is shown as
// '?'.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, s)
}

func safeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = safe(s)
	}
	return out
}

// Text renders a report for a terminal.
func (r Report) Text() string {
	var b strings.Builder
	for _, c := range r.Checks {
		status := "ok"
		if !c.OK {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "%-9s %-4s %s  version %s  models %v\n", c.Endpoint, status, c.URL, safe(c.Version), safeAll(c.Models))
		for _, w := range c.Warm {
			fmt.Fprintf(&b, "          warm: %s on %s, size_vram %d, until %s\n", safe(w.Model), w.Processor, w.SizeVRAM, w.ExpiresAt.Format(time.RFC3339))
		}
		if c.Generated != "" {
			fmt.Fprintf(&b, "          generation on %s: %.0f ms; loaded: %v, size_vram %d\n", safe(c.Generated), c.GenerateMS, c.Loaded, c.SizeVRAM)
		}
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "          warning: %s\n", safe(w))
		}
		for _, e := range c.Errors {
			fmt.Fprintf(&b, "          error: %s\n", safe(e))
		}
	}
	for _, l := range r.Lanes {
		state := "cold"
		if l.Warm {
			state = "warm on " + l.Processor
		}
		kept := ""
		if l.KeptWarm {
			kept = " (kept warm now)"
		}
		fmt.Fprintf(&b, "lane %s: %s on %s: %s%s", l.Lane, l.Model, l.Host, state, kept)
		if l.Note != "" {
			fmt.Fprintf(&b, "; %s", l.Note)
		}
		b.WriteString("\n")
	}
	for m, ch := range r.Routes {
		fmt.Fprintf(&b, "route %s -> %s (%s)\n", safe(m), ch.Endpoint, safe(ch.Reason))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", safe(e))
	}
	return b.String()
}
