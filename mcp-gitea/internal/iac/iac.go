// Package iac inventories infrastructure code (Kubernetes manifests,
// Kustomize and Flux objects, Helm charts, Terraform, CI pipelines,
// docker-compose files) and flags common problems with file and line.
// It reads bytes and never echoes a value it flags as a secret.
package iac

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"
)

// Item is one thing found: an object of some kind, or a finding.
type Item struct {
	Kind      string   `json:"kind" jsonschema:"manifest, kustomization, flux, helm-chart, terraform, workflow, jenkinsfile, compose, or finding"`
	Path      string   `json:"path"`
	Line      int      `json:"line,omitempty"`
	Type      string   `json:"type,omitempty" jsonschema:"the object's kind (Deployment, HelmRelease, resource aws_instance, job, service…)"`
	Name      string   `json:"name,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	Images    []string `json:"images,omitempty"`
	Details   []string `json:"details,omitempty"`
	Rule      string   `json:"rule,omitempty" jsonschema:"a finding's rule: image-latest, image-unpinned, no-resources, privileged, host-path, plaintext-secret, parse-error, not-analysed"`
	Message   string   `json:"message,omitempty"`
}

// Candidate reports whether a path may hold infrastructure code, so a
// caller reads only those files.
func Candidate(p string) bool {
	base := path.Base(p)
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml" || ext == ".tf" || base == "Jenkinsfile"
}

// FileTimeout bounds the analysis of one file: file contents are hostile,
// and one file that parses slowly must not hold up the rest of the call.
var FileTimeout = 2 * time.Second

// Analyze inventories files (path -> content), findings first by path
// and line, then objects.
func Analyze(files map[string][]byte) []Item {
	var items []Item
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	charts := map[string]bool{}
	for _, p := range paths {
		if path.Base(p) == "Chart.yaml" {
			charts[path.Dir(p)] = true
		}
	}
	for _, p := range paths {
		items = append(items, limited(p, func() []Item { return analyzeFile(p, files, charts) })...)
	}
	sort.SliceStable(items, func(i, j int) bool {
		fi, fj := items[i].Kind == "finding", items[j].Kind == "finding"
		if fi != fj {
			return fi
		}
		if items[i].Path != items[j].Path {
			return items[i].Path < items[j].Path
		}
		return items[i].Line < items[j].Line
	})
	return items
}

// AnalyzeFile inventories one file alone (a Chart.yaml without its
// values), within FileTimeout: the entry point for one file's content.
func AnalyzeFile(p string, b []byte) []Item {
	files := map[string][]byte{p: b}
	charts := map[string]bool{}
	if path.Base(p) == "Chart.yaml" {
		charts[path.Dir(p)] = true
	}
	return limited(p, func() []Item { return analyzeFile(p, files, charts) })
}

// limited runs one file's analysis with FileTimeout and a recover: past
// the limit, or on a parser panic, the file gets one finding saying it
// was not analysed, and the call goes on. (A goroutine cannot be stopped:
// a slow one finishes in the background, its result dropped.)
func limited(p string, f func() []Item) []Item {
	done := make(chan []Item, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				// The panic's value may quote the file: not in the message.
				done <- []Item{finding(p, 0, "not-analysed", "this file could not be analysed (the parser failed on it)")}
			}
		}()
		done <- f()
	}()
	t := time.NewTimer(FileTimeout)
	defer t.Stop()
	select {
	case items := <-done:
		return items
	case <-t.C:
		return []Item{finding(p, 0, "not-analysed", "this file was not analysed: it took longer than %s", FileTimeout)}
	}
}

func analyzeFile(p string, files map[string][]byte, charts map[string]bool) []Item {
	b := files[p]
	base := path.Base(p)
	switch {
	case base == "Jenkinsfile":
		return jenkinsfile(p, b)
	case path.Ext(p) == ".tf":
		return terraform(p, b)
	case base == "Chart.yaml":
		return chart(p, b, files[path.Join(path.Dir(p), "values.yaml")])
	case inChart(p, charts):
		// Templates are not YAML until rendered; values.yaml is read
		// with its Chart.yaml.
		return nil
	case isWorkflow(p):
		return workflow(p, b)
	case isCompose(base):
		return compose(p, b)
	default:
		return manifests(p, b)
	}
}

func inChart(p string, charts map[string]bool) bool {
	for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if charts[dir] {
			return true
		}
	}
	return charts["."] && path.Dir(p) != "."
}

func isWorkflow(p string) bool {
	return strings.HasPrefix(p, ".gitea/workflows/") || strings.HasPrefix(p, ".github/workflows/") || strings.HasPrefix(p, ".forgejo/workflows/")
}

func isCompose(base string) bool {
	return strings.HasPrefix(base, "docker-compose") || base == "compose.yaml" || base == "compose.yml"
}

// docs parses every YAML document of b; unparsable files give none.
func docs(b []byte) []*yaml.Node {
	var out []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return out
		}
		if len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
			out = append(out, n.Content[0])
		}
	}
}

// get walks a mapping by keys.
func get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

func val(n *yaml.Node, keys ...string) string {
	if v := get(n, keys...); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// pairs iterates a mapping's key/value nodes.
func pairs(n *yaml.Node, f func(k, v *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f(n.Content[i], n.Content[i+1])
	}
}

func seq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func keys(n *yaml.Node) []string {
	var out []string
	pairs(n, func(k, _ *yaml.Node) { out = append(out, k.Value) })
	return out
}

func finding(p string, line int, rule, format string, args ...any) Item {
	return Item{Kind: "finding", Path: p, Line: line, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// imageFindings flags an image that floats: no tag, or :latest (a digest
// pins it).
func imageFindings(p string, line int, image, where string) []Item {
	if image == "" || strings.Contains(image, "@sha256:") || strings.Contains(image, "${") || strings.Contains(image, "{{") {
		return nil
	}
	last := image[strings.LastIndex(image, "/")+1:]
	tag := ""
	if i := strings.LastIndex(last, ":"); i >= 0 {
		tag = last[i+1:]
	}
	switch tag {
	case "":
		return []Item{finding(p, line, "image-unpinned", "%s: image %s has no tag (it floats to latest); pin a version or digest", where, image)}
	case "latest":
		return []Item{finding(p, line, "image-latest", "%s: image %s uses :latest; pin a version or digest", where, image)}
	}
	return nil
}

var secretName = regexp.MustCompile(`(?i)(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|dsn)`)

// podSpec is where a workload kind keeps its pod spec.
func podSpec(doc *yaml.Node, kind string) *yaml.Node {
	switch kind {
	case "Pod":
		return get(doc, "spec")
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController":
		return get(doc, "spec", "template", "spec")
	case "CronJob":
		return get(doc, "spec", "jobTemplate", "spec", "template", "spec")
	}
	return nil
}

func manifests(p string, b []byte) []Item {
	var out []Item
	for _, doc := range docs(b) {
		apiVersion, kind := val(doc, "apiVersion"), val(doc, "kind")
		if apiVersion == "" || kind == "" {
			continue
		}
		it := Item{Kind: "manifest", Path: p, Line: doc.Line, Type: kind, Name: val(doc, "metadata", "name"), Namespace: val(doc, "metadata", "namespace")}
		switch {
		case strings.HasPrefix(apiVersion, "kustomize.config.k8s.io"):
			it.Kind = "kustomization"
			for _, r := range seq(get(doc, "resources")) {
				it.Details = append(it.Details, "resource "+r.Value)
			}
			for _, im := range seq(get(doc, "images")) {
				it.Details = append(it.Details, fmt.Sprintf("image %s -> %s:%s", val(im, "name"), val(im, "newName"), val(im, "newTag")))
			}
			if ns := val(doc, "namespace"); ns != "" {
				it.Namespace = ns
			}
		case strings.Contains(apiVersion, "fluxcd.io"):
			it.Kind = "flux"
			switch kind {
			case "HelmRelease":
				it.Details = append(it.Details, fmt.Sprintf("chart %s %s from %s/%s", val(doc, "spec", "chart", "spec", "chart"), val(doc, "spec", "chart", "spec", "version"),
					val(doc, "spec", "chart", "spec", "sourceRef", "kind"), val(doc, "spec", "chart", "spec", "sourceRef", "name")))
			case "Kustomization":
				it.Details = append(it.Details, fmt.Sprintf("path %s from %s/%s", val(doc, "spec", "path"), val(doc, "spec", "sourceRef", "kind"), val(doc, "spec", "sourceRef", "name")))
			case "GitRepository", "HelmRepository", "OCIRepository":
				it.Details = append(it.Details, "url "+val(doc, "spec", "url"))
			}
		case kind == "Secret":
			for _, field := range []string{"data", "stringData"} {
				if d := get(doc, field); d != nil && len(d.Content) > 0 {
					out = append(out, finding(p, d.Line, "plaintext-secret", "Secret %s has %s committed in the repository (%s); use SealedSecrets, SOPS or an ExternalSecret", it.Name, field, strings.Join(keys(d), ", ")))
				}
			}
		}
		if spec := podSpec(doc, kind); spec != nil {
			where := kind + "/" + it.Name
			for _, list := range []string{"initContainers", "containers"} {
				for _, ctr := range seq(get(spec, list)) {
					name := val(ctr, "name")
					image := get(ctr, "image")
					if image != nil {
						it.Images = append(it.Images, image.Value)
						out = append(out, imageFindings(p, image.Line, image.Value, where+" container "+name)...)
					}
					res := get(ctr, "resources")
					req, lim := get(res, "requests"), get(res, "limits")
					if list == "containers" && (req == nil || lim == nil) {
						missing := []string{}
						if req == nil {
							missing = append(missing, "requests")
						}
						if lim == nil {
							missing = append(missing, "limits")
						}
						out = append(out, finding(p, ctr.Line, "no-resources", "%s container %s has no resource %s", where, name, strings.Join(missing, " or ")))
					}
					if req != nil {
						it.Details = append(it.Details, fmt.Sprintf("%s requests cpu=%s memory=%s", name, val(req, "cpu"), val(req, "memory")))
					}
					if lim != nil {
						it.Details = append(it.Details, fmt.Sprintf("%s limits cpu=%s memory=%s", name, val(lim, "cpu"), val(lim, "memory")))
					}
					if pv := get(ctr, "securityContext", "privileged"); pv != nil && pv.Value == "true" {
						out = append(out, finding(p, pv.Line, "privileged", "%s container %s runs privileged", where, name))
					}
					for _, env := range seq(get(ctr, "env")) {
						if v := get(env, "value"); v != nil && v.Value != "" && secretName.MatchString(val(env, "name")) {
							out = append(out, finding(p, v.Line, "plaintext-secret", "%s container %s sets %s in plain text; use a secretKeyRef", where, name, val(env, "name")))
						}
					}
				}
			}
			for _, vol := range seq(get(spec, "volumes")) {
				if hp := get(vol, "hostPath"); hp != nil {
					out = append(out, finding(p, hp.Line, "host-path", "%s mounts host path %s (volume %s)", where, val(hp, "path"), val(vol, "name")))
				}
			}
		}
		out = append(out, it)
	}
	return out
}

func chart(p string, b, values []byte) []Item {
	ds := docs(b)
	if len(ds) == 0 {
		return nil
	}
	doc := ds[0]
	it := Item{Kind: "helm-chart", Path: p, Line: 1, Name: val(doc, "name"), Type: "chart " + val(doc, "version")}
	if av := val(doc, "appVersion"); av != "" {
		it.Details = append(it.Details, "appVersion "+av)
	}
	for _, dep := range seq(get(doc, "dependencies")) {
		it.Details = append(it.Details, fmt.Sprintf("dependency %s %s from %s", val(dep, "name"), val(dep, "version"), val(dep, "repository")))
	}
	var out []Item
	if vd := docs(values); len(vd) > 0 {
		it.Details = append(it.Details, "values keys: "+strings.Join(keys(vd[0]), ", "))
		out = append(out, valueFindings(path.Join(path.Dir(p), "values.yaml"), vd[0], "")...)
	}
	return append(out, it)
}

// valueFindings flags secret-named scalar values in a values file.
func valueFindings(p string, n *yaml.Node, prefix string) []Item {
	var out []Item
	pairs(n, func(k, v *yaml.Node) {
		key := strings.TrimPrefix(prefix+"."+k.Value, ".")
		switch {
		case v.Kind == yaml.MappingNode:
			out = append(out, valueFindings(p, v, key)...)
		case v.Kind == yaml.ScalarNode && v.Value != "" && secretName.MatchString(k.Value) && !strings.HasSuffix(strings.ToLower(k.Value), "name") && !strings.HasSuffix(strings.ToLower(k.Value), "ref"):
			out = append(out, finding(p, v.Line, "plaintext-secret", "value %s is set in plain text; pass it from a Secret", key))
		case v.Kind == yaml.ScalarNode && (k.Value == "image" || strings.HasSuffix(key, "image.repository")):
			out = append(out, imageFindings(p, v.Line, v.Value+tagOf(n), "values "+key)...)
		}
	})
	return out
}

func tagOf(n *yaml.Node) string {
	if t := val(n, "tag"); t != "" {
		return ":" + t
	}
	return ""
}

func terraform(p string, b []byte) []Item {
	f, diags := hclsyntax.ParseConfig(b, p, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() || f == nil {
		return []Item{finding(p, firstLine(diags), "parse-error", "Terraform file does not parse: %s", diags.Error())}
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var out []Item
	for _, blk := range body.Blocks {
		it := Item{Kind: "terraform", Path: p, Line: blk.DefRange().Start.Line, Type: blk.Type}
		switch blk.Type {
		case "resource", "data":
			if len(blk.Labels) == 2 {
				it.Type, it.Name = blk.Type+" "+blk.Labels[0], blk.Labels[1]
			}
		case "module":
			if len(blk.Labels) > 0 {
				it.Name = blk.Labels[0]
			}
			if a, ok := blk.Body.Attributes["source"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type().FriendlyName() == "string" {
					it.Details = append(it.Details, "source "+v.AsString())
				}
			}
		case "provider":
			if len(blk.Labels) > 0 {
				it.Name = blk.Labels[0]
			}
		case "terraform":
			for _, inner := range blk.Body.Blocks {
				if inner.Type == "required_providers" {
					for name := range inner.Body.Attributes {
						it.Details = append(it.Details, "requires provider "+name)
					}
					sort.Strings(it.Details)
				}
			}
		case "variable", "output", "locals":
			if len(blk.Labels) > 0 {
				it.Name = blk.Labels[0]
			}
		}
		out = append(out, it)
		out = append(out, hclSecrets(p, blk.Body)...)
	}
	return out
}

// hclSecrets flags secret-named attributes set to a literal string.
func hclSecrets(p string, body *hclsyntax.Body) []Item {
	var out []Item
	for name, a := range body.Attributes {
		if !secretName.MatchString(name) {
			continue
		}
		if t, ok := a.Expr.(*hclsyntax.TemplateExpr); ok && t.IsStringLiteral() {
			out = append(out, finding(p, a.SrcRange.Start.Line, "plaintext-secret", "%s is set to a literal string; use a variable marked sensitive or a secret store", name))
		}
	}
	for _, blk := range body.Blocks {
		out = append(out, hclSecrets(p, blk.Body)...)
	}
	return out
}

func firstLine(d hcl.Diagnostics) int {
	for _, x := range d {
		if x.Subject != nil {
			return x.Subject.Start.Line
		}
	}
	return 0
}

func workflow(p string, b []byte) []Item {
	var out []Item
	for _, doc := range docs(b) {
		pairs(get(doc, "jobs"), func(k, job *yaml.Node) {
			it := Item{Kind: "workflow", Path: p, Line: k.Line, Type: "job", Name: k.Value}
			if ro := val(job, "runs-on"); ro != "" {
				it.Details = append(it.Details, "runs-on "+ro)
			}
			if img := val(job, "container", "image"); img != "" {
				it.Images = append(it.Images, img)
				out = append(out, imageFindings(p, get(job, "container", "image").Line, img, "job "+k.Value)...)
			}
			for i, st := range seq(get(job, "steps")) {
				name := val(st, "name")
				if uses := val(st, "uses"); uses != "" {
					it.Details = append(it.Details, fmt.Sprintf("step %d uses %s", i+1, uses))
				} else if name != "" {
					it.Details = append(it.Details, fmt.Sprintf("step %d %s", i+1, name))
				} else {
					it.Details = append(it.Details, fmt.Sprintf("step %d run", i+1))
				}
			}
			out = append(out, it)
		})
	}
	return out
}

var stageRE = regexp.MustCompile(`stage\s*\(\s*['"]([^'"]+)['"]`)

func jenkinsfile(p string, b []byte) []Item {
	var out []Item
	for i, line := range strings.Split(string(b), "\n") {
		for _, m := range stageRE.FindAllStringSubmatch(line, -1) {
			out = append(out, Item{Kind: "jenkinsfile", Path: p, Line: i + 1, Type: "stage", Name: m[1]})
		}
	}
	return out
}

func compose(p string, b []byte) []Item {
	var out []Item
	for _, doc := range docs(b) {
		pairs(get(doc, "services"), func(k, svc *yaml.Node) {
			it := Item{Kind: "compose", Path: p, Line: k.Line, Type: "service", Name: k.Value}
			if im := get(svc, "image"); im != nil {
				it.Images = append(it.Images, im.Value)
				out = append(out, imageFindings(p, im.Line, im.Value, "service "+k.Value)...)
			}
			if pv := get(svc, "privileged"); pv != nil && pv.Value == "true" {
				out = append(out, finding(p, pv.Line, "privileged", "service %s runs privileged", k.Value))
			}
			for _, port := range seq(get(svc, "ports")) {
				it.Details = append(it.Details, "port "+port.Value)
			}
			envs := get(svc, "environment")
			pairs(envs, func(ek, ev *yaml.Node) {
				if ev.Value != "" && secretName.MatchString(ek.Value) {
					out = append(out, finding(p, ev.Line, "plaintext-secret", "service %s sets %s in plain text; use secrets or an env file kept out of git", k.Value, ek.Value))
				}
			})
			for _, e := range seq(envs) {
				if name, v, ok := strings.Cut(e.Value, "="); ok && v != "" && secretName.MatchString(name) {
					out = append(out, finding(p, e.Line, "plaintext-secret", "service %s sets %s in plain text; use secrets or an env file kept out of git", k.Value, name))
				}
			}
			out = append(out, it)
		})
	}
	return out
}
