package parse

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	yaml3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

// yamlDocs splits a YAML stream at "---" document markers.
func yamlDocs(src string) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(src, "\n") {
		if t := strings.TrimRight(line, " \t\r\n"); t == "---" || strings.HasPrefix(t, "--- ") {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}

// objectName is "Kind namespace/name" of a manifest, or "" when the
// document is not one.
func objectName(doc string) string {
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj.Kind == "" {
		return ""
	}
	name := obj.Metadata.Name
	if obj.Metadata.Namespace != "" {
		name = obj.Metadata.Namespace + "/" + name
	}
	return strings.TrimSpace(obj.Kind + " " + name)
}

// manifests: one section per YAML document, named by its object.
func manifests(src []byte) []Section {
	var out []Section
	for i, doc := range yamlDocs(string(src)) {
		name := objectName(doc)
		if name == "" {
			name = fmt.Sprintf("document %d", i+1)
		}
		out = appendSection(out, []string{name}, 0, doc)
	}
	return out
}

var (
	templKind = regexp.MustCompile(`(?m)^kind:\s*([A-Za-z0-9]+)`)
	templName = regexp.MustCompile(`(?m)^  name:\s*(\S+)`)
)

// helm: Chart.yaml whole; values files by top-level key; templates by
// document, named by their kind (templates are not YAML until rendered,
// so the kind is read from the text).
func helm(name string, src []byte) []Section {
	base := strings.ToLower(path.Base(name))
	switch {
	case base == "chart.yaml":
		return appendSection(nil, []string{"Chart"}, 0, string(src))
	case strings.HasPrefix(base, "values"):
		return topLevelKeys(src, nil)
	}
	var out []Section
	for i, doc := range yamlDocs(string(src)) {
		title := fmt.Sprintf("document %d", i+1)
		if m := templKind.FindStringSubmatch(doc); m != nil {
			title = m[1]
			if n := templName.FindStringSubmatch(doc); n != nil && !strings.Contains(n[1], "{{") {
				title += " " + n[1]
			}
		}
		out = appendSection(out, []string{title}, 0, doc)
	}
	return out
}

// topLevelKeys splits a YAML file at its unindented keys (comments just
// above a key stay with it).
func topLevelKeys(src []byte, prefix []string) []Section {
	var out []Section
	var cur strings.Builder
	var pending strings.Builder // comment lines waiting for the next key
	key := ""
	flush := func() {
		h := prefix
		if key != "" {
			h = append(append([]string(nil), prefix...), key)
		}
		out = appendSection(out, h, 0, cur.String())
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(src), "\n") {
		t := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(t, "#"):
			pending.WriteString(line)
			continue
		case t != "" && t[0] != ' ' && t[0] != '-' && strings.Contains(t, ":"):
			flush()
			key = strings.TrimSpace(t[:strings.Index(t, ":")])
		}
		cur.WriteString(pending.String())
		pending.Reset()
		cur.WriteString(line)
	}
	cur.WriteString(pending.String())
	flush()
	return out
}

// pipeline: GitHub/Gitea Actions and Woodpecker by job or step, GitLab CI
// by job, anything else (Jenkinsfile, Drone) whole. Jobs are cut from the
// source text by the lines yaml.v3 reports, not re-rendered: a rendering
// would expand aliases (a hundred bytes of anchors become megabytes) and
// reshape what the file says.
func pipeline(name string, src []byte) []Section {
	var root yaml3.Node
	if err := yaml3.Unmarshal(src, &root); err != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml3.MappingNode {
		return plain(src)
	}
	top := root.Content[0]
	lines := strings.SplitAfter(string(src), "\n")
	text := func(from, to int) string { // lines from..to, 1-based, inclusive
		from, to = max(from, 1), min(to, len(lines))
		if from > to {
			return ""
		}
		return strings.Join(lines[from-1:to], "")
	}
	title := path.Base(name)
	for k := 0; k+1 < len(top.Content); k += 2 {
		if top.Content[k].Value == "name" && top.Content[k+1].Kind == yaml3.ScalarNode && top.Content[k+1].Value != "" {
			title = top.Content[k+1].Value
		}
	}
	for _, key := range []string{"jobs", "steps"} {
		for k := 0; k+1 < len(top.Content); k += 2 {
			jobs := top.Content[k+1]
			if top.Content[k].Value != key || jobs.Kind != yaml3.MappingNode || len(jobs.Content) == 0 {
				continue
			}
			// The jobs block runs from its key to the next top-level key.
			start, end := top.Content[k].Line, len(lines)
			if k+2 < len(top.Content) {
				end = top.Content[k+2].Line - 1
			}
			type job struct {
				name     string
				from, to int
			}
			var js []job
			for j := 0; j+1 < len(jobs.Content); j += 2 {
				js = append(js, job{name: jobs.Content[j].Value, from: jobs.Content[j].Line})
			}
			for j := range js {
				js[j].to = end
				if j+1 < len(js) {
					js[j].to = js[j+1].from - 1
				}
				if js[j].from <= start || js[j].to < js[j].from {
					// Jobs on one line (flow style): the block is one piece.
					js = []job{{name: key, from: start + 1, to: end}}
					break
				}
			}
			// The workflow's header (name, triggers, env) first, then each job.
			out := appendSection(nil, []string{title}, 0, text(1, start-1)+text(end+1, len(lines)))
			sort.SliceStable(js, func(a, b int) bool { return js[a].name < js[b].name })
			for _, j := range js {
				out = appendSection(out, []string{title, "job " + j.name}, 0, text(j.from, j.to))
			}
			return out
		}
	}
	if strings.HasSuffix(strings.ToLower(name), ".gitlab-ci.yml") {
		return topLevelKeys(src, []string{title})
	}
	return appendSection(nil, []string{title}, 0, string(src))
}

// terraform: one section per top-level block (resource "x" "y", module,
// variable…), its source text as written.
func terraform(name string, src []byte) ([]Section, error) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		// Still indexable as text; the error is the file's, not the run's.
		return plain(src), nil
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return plain(src), nil
	}
	var out []Section
	for _, b := range body.Blocks {
		title := b.Type
		for _, l := range b.Labels {
			title += fmt.Sprintf(" %q", l)
		}
		r := b.Range()
		out = appendSection(out, []string{title}, 0, string(src[r.Start.Byte:r.End.Byte]))
	}
	if len(body.Attributes) > 0 && len(body.Blocks) == 0 {
		return plain(src), nil
	}
	return out, nil
}
