// Package parse turns a document into sections by its structure:
// Markdown and AsciiDoc by heading tree, PDF by page, Kubernetes manifests
// and Helm templates by object, Terraform by top-level block, CI
// pipelines by job, anything else as plain text. A section keeps its
// heading path, so a chunk of it can be cited as path#heading.
package parse

import (
	"bytes"
	"path"
	"strings"
	"unicode/utf8"
)

// Section is one structural unit of a document.
type Section struct {
	// Heading is the path of headings (or object names) above the text,
	// outermost first; empty for text before the first heading.
	Heading []string
	// Page is the 1-based PDF page, 0 elsewhere.
	Page int
	Text string
}

// Kinds of documents, as stored and filtered on.
const (
	Markdown  = "markdown"
	AsciiDoc  = "asciidoc"
	Text      = "text"
	PDF       = "pdf"
	Manifest  = "manifest"
	Helm      = "helm"
	Terraform = "terraform"
	Pipeline  = "pipeline"
)

// Kinds lists every kind, for filters and their error messages.
var Kinds = []string{Markdown, AsciiDoc, Text, PDF, Manifest, Helm, Terraform, Pipeline}

// KindOf names the kind of the file at p (slash-separated, relative to
// its source), or "" when it is not a document the index reads. charts
// holds the folders that contain a Chart.yaml: their Chart.yaml,
// values*.yaml and templates/ are Helm.
func KindOf(p string, charts map[string]bool) string {
	base := strings.ToLower(path.Base(p))
	ext := path.Ext(base)
	if isPipeline(p) {
		return Pipeline
	}
	if chart := ChartOf(p, charts); chart != "" {
		rel := strings.TrimPrefix(p, chart+"/")
		if chart == "." {
			rel = p
		}
		if base == "chart.yaml" || (strings.HasPrefix(base, "values") && (ext == ".yaml" || ext == ".yml")) ||
			(strings.HasPrefix(rel, "templates/") && (ext == ".yaml" || ext == ".yml" || ext == ".tpl")) {
			return Helm
		}
	}
	switch ext {
	case ".md", ".markdown":
		return Markdown
	case ".adoc", ".asciidoc":
		return AsciiDoc
	case ".txt", ".rst":
		return Text
	case ".pdf":
		return PDF
	case ".yaml", ".yml":
		return Manifest
	case ".tf", ".tfvars":
		return Terraform
	}
	return ""
}

// ChartOf is the innermost chart folder holding p, or "".
func ChartOf(p string, charts map[string]bool) string {
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if charts[dir] {
			return dir
		}
		if dir == "." || dir == "/" {
			return ""
		}
	}
}

// isPipeline: the CI files of Gitea/GitHub Actions, GitLab, Drone,
// Woodpecker and Jenkins.
func isPipeline(p string) bool {
	lp := strings.ToLower(p)
	base := path.Base(lp)
	dir := path.Dir(lp)
	switch {
	case strings.HasSuffix(dir, ".gitea/workflows"), strings.HasSuffix(dir, ".github/workflows"), strings.HasSuffix(dir, ".forgejo/workflows"):
		return strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml")
	case base == ".gitlab-ci.yml", base == ".drone.yml", base == ".woodpecker.yml", base == "jenkinsfile":
		return true
	case strings.HasSuffix(dir, ".woodpecker"):
		return strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml")
	}
	return false
}

// Parse splits data by the structure of its kind. Binary data that is not
// a PDF comes back as no sections.
func Parse(kind, name string, data []byte) ([]Section, error) {
	if kind != PDF && !utf8.Valid(data) && bytes.IndexByte(data, 0) >= 0 {
		return nil, nil
	}
	switch kind {
	case Markdown:
		return markdown(data), nil
	case AsciiDoc:
		return asciidoc(data), nil
	case PDF:
		return pdfPages(data)
	case Manifest:
		return manifests(data), nil
	case Helm:
		return helm(name, data), nil
	case Terraform:
		return terraform(name, data)
	case Pipeline:
		return pipeline(name, data), nil
	default:
		return plain(data), nil
	}
}

func plain(data []byte) []Section {
	t := strings.TrimSpace(string(data))
	if t == "" {
		return nil
	}
	return []Section{{Text: t}}
}

// appendSection adds a section unless its text is blank.
func appendSection(out []Section, heading []string, page int, text string) []Section {
	text = strings.TrimSpace(text)
	if text == "" {
		return out
	}
	return append(out, Section{Heading: append([]string(nil), heading...), Page: page, Text: text})
}
