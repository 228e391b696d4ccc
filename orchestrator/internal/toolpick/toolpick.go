// Package toolpick chooses which of the catalog's tools to offer a model
// for a question. Small models do best with few tools, so the choice
// matters: a needed tool left out is a question no model can answer.
//
// The score is a term-weighted overlap, as a search engine ranks
// documents: each tool is a document (its name, weighted, and its
// description), each distinct question word counts once, weighted by how
// rare it is among the tools (inverse document frequency), so words every
// tool has ("the", "namespace", "optionally") weigh little and a long
// description does not win by repeating them.
package toolpick

import (
	"math"
	"regexp"
	"sort"
	"strings"
)

// Doc is what a tool is ranked by.
type Doc struct {
	Name, Description string
}

// nameWeight is how much more a word of the tool's name counts than one
// of its description: "k8s_events" is about events.
const nameWeight = 3

// Rank returns the indexes of docs to offer for question, best first, at
// most max; docs that share no weighted word with it are left out.
func Rank(question string, docs []Doc, max int) []int {
	q := questionTerms(question)
	if len(q) == 0 || max <= 0 {
		return nil
	}
	weights := make([]map[string]float64, len(docs))
	df := map[string]int{}
	for i, d := range docs {
		w := map[string]float64{}
		for t := range terms(d.Description) {
			w[t] = 1
		}
		for t := range terms(strings.NewReplacer("_", " ", "-", " ").Replace(d.Name)) {
			w[t] = nameWeight
		}
		for t := range w {
			df[t]++
		}
		weights[i] = w
	}
	n := float64(len(docs))
	type scored struct {
		i     int
		score float64
	}
	var all []scored
	for i, w := range weights {
		s := 0.0
		for t := range q {
			if w[t] > 0 {
				s += w[t] * math.Log((n+1)/(float64(df[t])+0.5))
			}
		}
		if s > 0 {
			all = append(all, scored{i, s})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	out := make([]int, 0, min(max, len(all)))
	for _, s := range all[:min(max, len(all))] {
		out = append(out, s.i)
	}
	return out
}

var (
	word = regexp.MustCompile(`[a-z0-9]+`)
	// pathLike is a word with a slash in it ("platform/infra", "k8s/",
	// "k8s/payments/ledger.yaml").
	pathLike = regexp.MustCompile(`(?i)[a-z0-9_.-]*[a-z0-9_-]/[a-z0-9_./-]*`)
	fileName = regexp.MustCompile(`(?i)\b[a-z0-9_-]+\.(?:ya?ml|json|md|tf|tfvars|hcl|toml|conf|ini|txt|sh|go|py|js|ts|env|cfg|properties)\b`)
)

// terms is the set of a text's words, lower-cased, stemmed, with aliases
// resolved and words that say nothing about a tool dropped.
func terms(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range word.FindAllString(strings.ToLower(text), -1) {
		if stop[w] || len(w) < 2 {
			continue
		}
		if a, ok := alias[w]; ok {
			w = a
		}
		w = stem(w)
		if a, ok := alias[w]; ok {
			w = a
		}
		if !stop[w] {
			out[w] = true
		}
	}
	return out
}

// questionTerms is terms of a question, where a path stands for what it
// names, not its words: "platform/infra" is a repository and
// "k8s/payments/ledger.yaml" a file path, not a question about k8s.
func questionTerms(question string) map[string]bool {
	hints := map[string]bool{}
	question = pathLike.ReplaceAllStringFunc(question, func(p string) string {
		hints["path"] = true
		if fileName.MatchString(p) {
			hints["file"] = true
		} else if strings.Count(strings.Trim(p, "/"), "/") == 1 {
			hints["repository"] = true
		}
		return " "
	})
	question = fileName.ReplaceAllStringFunc(question, func(string) string { hints["file"] = true; return " " })
	out := terms(question)
	for h := range hints {
		out[h] = true
	}
	return out
}

// stem folds the plural and verb endings English questions and tool
// descriptions differ by ("pods"/"pod", "crashed"/"crash",
// "repositories"/"repository"); it is deliberately crude and applied to
// both sides alike.
func stem(w string) string {
	switch {
	case len(w) > 5 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		return w[:len(w)-3]
	case len(w) > 4 && strings.HasSuffix(w, "ed") && !strings.HasSuffix(w, "eed"):
		return w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}

// alias maps the words people use to the ones the tools' names and
// descriptions use.
var alias = map[string]string{
	"kubernetes": "k8s", "kube": "k8s", "kubectl": "k8s",
	"po": "pod", "deploy": "deployment", "ns": "namespace", "svc": "service", "sts": "statefulset",
	"crashloop": "restart", "crashloopbackoff": "restart", "crash": "restart", "loop": "restart",
	"repo": "repository", "pr": "pull", "mr": "pull", "branch": "ref", "tag": "ref",
	"loki": "logql", "logql": "logql", "grep": "search",
	"runbook": "runbook", "adr": "adr", "wiki": "docs", "documentation": "docs", "doc": "docs",
	"ready": "status", "readiness": "status", "healthy": "status", "unhealthy": "status", "failing": "status",
	"broken": "status", "pending": "status",
}

// stop lists words that carry no hint of which tool answers.
var stop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or but of in on at to for from by with without into over about as is are was were be been being
		do does did done has have had what which who whom whose when where why how this that these those it its there their they them
		me my we our us you your he she his her i can could would should will shall may might must not no yes any all some each every
		one two than then so if only also just more most less such same other others per via up out like show tell give
		please look see check whether within across current currently now ever never`) {
		stop[w] = true
	}
}
