package eval

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is an eval's outcome: every judged run and the figures per
// model, mode and question kind.
type Report struct {
	Started   time.Time     `json:"started"`
	Duration  time.Duration `json:"duration_ns"`
	Models    []string      `json:"models"`
	Modes     []string      `json:"modes"`
	Repeats   int           `json:"repeats"`
	Questions int           `json:"questions"`
	Notes     []string      `json:"notes,omitempty"`
	ModelInfo []ModelInfo   `json:"model_info,omitempty"`
	// Groups are per model × mode × kind; Totals per model × mode (kind
	// "all").
	Groups  []Group  `json:"groups"`
	Totals  []Group  `json:"totals"`
	Results []Result `json:"results"`
}

// Group is the figures of a set of judged runs.
type Group struct {
	Model               string  `json:"model"`
	Mode                string  `json:"mode"`
	Kind                string  `json:"kind"`
	Runs                int     `json:"runs"`
	Passed              int     `json:"passed"`
	SuccessRate         float64 `json:"success_rate"`
	Calls               int     `json:"calls"`
	ValidCallRate       float64 `json:"valid_call_rate"`
	WrongToolRate       float64 `json:"wrong_tool_rate"`
	HallucinatedArgRate float64 `json:"hallucinated_arg_rate"`
	RecoveredCalls      int     `json:"recovered_calls"`
	MeanSteps           float64 `json:"mean_steps"`
	MeanPromptTokens    float64 `json:"mean_prompt_tokens"`
	MeanOutputTokens    float64 `json:"mean_output_tokens"`
	P50                 float64 `json:"latency_p50_s"`
	P95                 float64 `json:"latency_p95_s"`
	Truncations         int     `json:"truncations"`
	FellBack            int     `json:"fell_back,omitempty"`
}

// aggregate fills Groups and Totals from Results.
func (r *Report) aggregate() {
	type key struct{ model, mode, kind string }
	groups := map[key][]Result{}
	for _, res := range r.Results {
		groups[key{res.Model, res.Mode, res.Kind}] = append(groups[key{res.Model, res.Mode, res.Kind}], res)
		groups[key{res.Model, res.Mode, "all"}] = append(groups[key{res.Model, res.Mode, "all"}], res)
	}
	r.Groups, r.Totals = nil, nil
	for _, model := range r.Models {
		for _, mode := range Modes {
			if !slices.Contains(r.Modes, mode) {
				continue
			}
			for _, kind := range append(append([]string(nil), kinds...), "all") {
				rs, ok := groups[key{model, mode, kind}]
				if !ok {
					continue
				}
				g := group(model, mode, kind, rs)
				if kind == "all" {
					r.Totals = append(r.Totals, g)
				} else {
					r.Groups = append(r.Groups, g)
				}
			}
		}
	}
}

func group(model, mode, kind string, rs []Result) Group {
	g := Group{Model: model, Mode: mode, Kind: kind, Runs: len(rs)}
	var lat []float64
	var valid, wrong, halluc, steps, prompt, output int
	for _, r := range rs {
		if r.Passed {
			g.Passed++
		}
		g.Calls += r.Calls
		valid += r.Valid
		wrong += r.WrongTool
		halluc += r.Hallucinated
		g.RecoveredCalls += r.Recovered
		steps += r.Steps
		prompt += r.PromptTokens
		output += r.OutputTokens
		if r.Truncated {
			g.Truncations++
		}
		if r.FellBack {
			g.FellBack++
		}
		lat = append(lat, r.Latency.Seconds())
	}
	n := float64(len(rs))
	g.SuccessRate = float64(g.Passed) / n
	g.ValidCallRate = ratio(valid, g.Calls)
	g.WrongToolRate = ratio(wrong, g.Calls)
	g.HallucinatedArgRate = ratio(halluc, g.Calls)
	g.MeanSteps = float64(steps) / n
	g.MeanPromptTokens = float64(prompt) / n
	g.MeanOutputTokens = float64(output) / n
	g.P50, g.P95 = percentile(lat, 50), percentile(lat, 95)
	return g
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// percentile is the nearest-rank percentile of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(min(i, len(s)-1), 0)]
}

// caveat is said at the top of every report.
const caveat = "Success rates hold for these questions, this world and these hosts only. A model marked tiny is a test fixture: its success rate is not a quality figure."

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Markdown writes the report as Markdown tables.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# mcp-orchestrator eval\n\n%s, %s; %d questions × %d repeat(s); modes %s.\n\n> %s\n", r.Started.Format(time.RFC3339),
		r.Duration.Round(time.Second), r.Questions, r.Repeats, strings.Join(r.Modes, ", "), caveat)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, ">\n> %s\n", md(n))
	}
	b.WriteString("\n## Models\n\n")
	for _, m := range r.ModelInfo {
		fmt.Fprintf(&b, "- %s%s\n", md(m.Name), describe(m))
	}
	b.WriteString("\n## Per model and mode\n\n")
	writeTable(&b, r.Totals, false)
	b.WriteString("\n## Per model, mode and question kind\n\n")
	writeTable(&b, r.Groups, true)
	b.WriteString("\n## Failed answers\n\n| model | mode | question | # | why |\n|---|---|---|---|---|\n")
	failed := 0
	for _, res := range r.Results {
		if !res.Passed {
			failed++
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n", md(res.Model), res.Mode, md(res.Question), res.Repeat, md(strings.Join(res.Reasons, "; ")))
		}
	}
	if failed == 0 {
		b.WriteString("| | | none | | |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func describe(m ModelInfo) string {
	s := ""
	if m.Parameters > 0 {
		s = fmt.Sprintf(" (%s parameters)", humanCount(m.Parameters))
	}
	if m.Note != "" {
		s += ": " + md(m.Note)
	}
	return s
}

func writeTable(b *strings.Builder, gs []Group, withKind bool) {
	kind := ""
	if withKind {
		kind = " kind |"
	}
	fmt.Fprintf(b, "| model | mode |%s runs | success | valid calls | wrong tool | hallucinated args | recovered calls | steps | prompt tok | output tok | p50 s | p95 s | truncations |\n", kind)
	b.WriteString("|---|---|" + strings.Repeat("---|", strings.Count(kind, "|")) + "---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, g := range gs {
		k := ""
		if withKind {
			k = " " + g.Kind + " |"
		}
		fb := ""
		if g.FellBack > 0 {
			fb = fmt.Sprintf(" (%d fell back)", g.FellBack)
		}
		fmt.Fprintf(b, "| %s | %s%s |%s %d | %s | %s | %s | %s | %d | %.1f | %.0f | %.0f | %.2f | %.2f | %d |\n", md(g.Model), g.Mode, fb, k, g.Runs,
			pct(g.SuccessRate), pctOf(g.ValidCallRate, g.Calls), pctOf(g.WrongToolRate, g.Calls), pctOf(g.HallucinatedArgRate, g.Calls),
			g.RecoveredCalls, g.MeanSteps, g.MeanPromptTokens, g.MeanOutputTokens, g.P50, g.P95, g.Truncations)
	}
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// pctOf is a rate over n calls, "–" when there were none.
func pctOf(f float64, n int) string {
	if n == 0 {
		return "–"
	}
	return pct(f)
}

// md makes text safe in a Markdown table cell: one line, no pipes, no
// markup that would run.
func md(s string) string {
	s = oneLine(s)
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "`", "'", "[", "\\[", "]", "\\]").Replace(s)
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// bar is one bar of the chart.
type bar struct {
	Label       string
	Rate        string
	Y, W, TextY int
}

// chart lays out the success-rate bars, one per model × mode.
func (r *Report) chart() (bars []bar, height int) {
	const rowH, top, maxW = 28, 30, 400
	for i, g := range r.Totals {
		y := top + i*rowH
		bars = append(bars, bar{Label: clip(g.Model, 40) + " · " + g.Mode, Rate: pct(g.SuccessRate), Y: y, W: int(math.Round(g.SuccessRate * maxW)), TextY: y + 15})
	}
	return bars, top + len(r.Totals)*rowH + 30
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": pct, "pctOf": pctOf, "describe": func(m ModelInfo) string { return strings.TrimPrefix(describe(m), ": ") },
	"reasons": func(rs []string) string { return strings.Join(rs, "; ") },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>mcp-orchestrator eval</title>
<style>
body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}td.n{text-align:right}
.caveat{background:#fff4d6;border-left:4px solid #e0a800;padding:8px 12px}
</style></head><body>
<h1>mcp-orchestrator eval</h1>
<p>{{.R.Started.Format "2006-01-02T15:04:05Z07:00"}}; {{.R.Questions}} questions × {{.R.Repeats}} repeat(s).</p>
<p class="caveat">{{.Caveat}}{{range .R.Notes}}<br>{{.}}{{end}}</p>
<h2>Models</h2><ul>{{range .R.ModelInfo}}<li>{{.Name}} {{describe .}}</li>{{end}}</ul>
<h2>Success rate per model and mode</h2>
<svg id="success-chart" xmlns="http://www.w3.org/2000/svg" width="760" height="{{.Height}}" role="img" aria-label="Success rate per model and mode">
<line x1="300" y1="20" x2="300" y2="{{.Height}}" stroke="#888"/>
<text x="300" y="14" font-size="11">0%</text><text x="680" y="14" font-size="11">100%</text>
{{range .Bars}}<text x="292" y="{{.TextY}}" font-size="12" text-anchor="end">{{.Label}}</text>
<rect class="bar" x="300" y="{{.Y}}" width="{{.W}}" height="20" fill="#2f6fd6"/>
<text x="{{.W}}" dx="306" y="{{.TextY}}" font-size="12">{{.Rate}}</text>
{{end}}</svg>
<h2>Per model, mode and question kind</h2>
<table><tr><th>model</th><th>mode</th><th>kind</th><th>runs</th><th>success</th><th>valid calls</th><th>wrong tool</th><th>hallucinated args</th><th>recovered calls</th><th>steps</th><th>prompt tok</th><th>output tok</th><th>p50 s</th><th>p95 s</th><th>truncations</th></tr>
{{range .Rows}}<tr><td>{{.Model}}</td><td>{{.Mode}}</td><td>{{.Kind}}</td><td class="n">{{.Runs}}</td><td class="n">{{pct .SuccessRate}}</td><td class="n">{{pctOf .ValidCallRate .Calls}}</td><td class="n">{{pctOf .WrongToolRate .Calls}}</td><td class="n">{{pctOf .HallucinatedArgRate .Calls}}</td><td class="n">{{.RecoveredCalls}}</td><td class="n">{{printf "%.1f" .MeanSteps}}</td><td class="n">{{printf "%.0f" .MeanPromptTokens}}</td><td class="n">{{printf "%.0f" .MeanOutputTokens}}</td><td class="n">{{printf "%.2f" .P50}}</td><td class="n">{{printf "%.2f" .P95}}</td><td class="n">{{.Truncations}}</td></tr>
{{end}}</table>
<h2>Answers</h2>
<table><tr><th>model</th><th>mode</th><th>question</th><th>#</th><th>verdict</th><th>tools</th><th>why</th></tr>
{{range .R.Results}}<tr><td>{{.Model}}</td><td>{{.Mode}}</td><td>{{.Question}}</td><td class="n">{{.Repeat}}</td><td>{{if .Passed}}passed{{else}}failed{{end}}</td><td>{{range $i, $t := .Tools}}{{if $i}}, {{end}}{{$t}}{{end}}</td><td>{{reasons .Reasons}}</td></tr>
{{end}}</table>
</body></html>
`))

// HTML writes the report as one self-contained page: the tables and an
// inline SVG chart of the success rate per model and mode. It loads
// nothing (no script, no font, no image) and its policy forbids it.
func (r *Report) HTML(w io.Writer) error {
	bars, h := r.chart()
	return page.Execute(w, map[string]any{"R": r, "Caveat": caveat, "Bars": bars, "Height": h,
		"Rows": append(append([]Group(nil), r.Totals...), r.Groups...)})
}
