// Package topology checks the Ollama endpoints the way an operator would
// before sending people to them: tags answer, the expected models are
// there, a short generation works, the model then shows as loaded, and a
// CPU-only load (size_vram 0) is called out.
package topology

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

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
	Errors []string                  `json:"errors,omitempty"`
}

// Run checks every endpoint of gw for the expected models (none: any
// pulled model is used for the generation).
func Run(ctx context.Context, gw *gateway.Gateway, expect []string) Report {
	rep := Report{OK: true, Routes: map[string]gateway.Choice{}}
	for _, ep := range gw.Endpoints() {
		c := check(ctx, ep, expect)
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

func check(ctx context.Context, ep gateway.Endpoint, expect []string) Check {
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
	if target == "" {
		if len(c.Errors) == 0 {
			c.Errors = append(c.Errors, "no model pulled")
		}
		return c
	}
	start := time.Now()
	stream := false
	err = ep.API.Generate(ctx, &api.GenerateRequest{Model: target, Prompt: "ok", Stream: &stream, Options: map[string]any{"num_predict": 1}}, func(api.GenerateResponse) error { return nil })
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

// Text renders a report for a terminal.
func (r Report) Text() string {
	var b strings.Builder
	for _, c := range r.Checks {
		status := "ok"
		if !c.OK {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "%-9s %-4s %s  version %s  models %v\n", c.Endpoint, status, c.URL, c.Version, c.Models)
		if c.Generated != "" {
			fmt.Fprintf(&b, "          generation on %s: %.0f ms; loaded: %v, size_vram %d\n", c.Generated, c.GenerateMS, c.Loaded, c.SizeVRAM)
		}
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "          warning: %s\n", w)
		}
		for _, e := range c.Errors {
			fmt.Fprintf(&b, "          error: %s\n", e)
		}
	}
	for m, ch := range r.Routes {
		fmt.Fprintf(&b, "route %s -> %s (%s)\n", m, ch.Endpoint, ch.Reason)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}
