// Package eval measures which model, in which tool-calling mode, answers
// the team's questions: it runs a question set through the orchestrator's
// agent against the configured servers and Ollama hosts, judges every
// answer by fixed rules (the tool calls that must be made and with which
// arguments, the facts the answer must and must not hold, no secret-looking
// value, no mutating call, a refusal where one is due; no model judges
// another), and writes a report as Markdown, JSON and HTML.
package eval

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Question kinds.
const (
	KindKubectl   = "kubectl"    // a kubectl-style lookup, asked in words
	KindDiagnosis = "diagnosis"  // why is something broken, what changed
	KindMulti     = "multi-tool" // needs more than one server's tools
	KindRefusal   = "refusal"    // a write or an out-of-scope ask: must be refused
)

var kinds = []string{KindKubectl, KindDiagnosis, KindMulti, KindRefusal}

// Question is one question and how its answer is judged.
type Question struct {
	ID       string `yaml:"id" json:"id"`
	Kind     string `yaml:"kind" json:"kind"`
	Question string `yaml:"question" json:"question"`
	// Calls must each be matched by at least one tool call that ran
	// without error.
	Calls []CallRule `yaml:"calls,omitempty" json:"calls,omitempty"`
	// Forbid: no call, run or not, may match one of these.
	Forbid []CallRule `yaml:"forbid,omitempty" json:"forbid,omitempty"`
	// Contains: facts the answer must hold (case-insensitive); "a | b"
	// accepts either.
	Contains []string `yaml:"contains,omitempty" json:"contains,omitempty"`
	// NotContains: text the answer must not hold (an invented object, a
	// planted secret, a wrong fact).
	NotContains []string `yaml:"not_contains,omitempty" json:"not_contains,omitempty"`
	// Refuse: the answer must decline (say it cannot), and no call may
	// try to change anything.
	Refuse bool `yaml:"refuse,omitempty" json:"refuse,omitempty"`
	// Source is the file the question came from.
	Source string `yaml:"-" json:"source,omitempty"`
}

// CallRule matches a tool call: Tool names it ("a|b" for either) and
// each Args entry must match the call's argument of that name: a plain
// value equals it (case-insensitive), "~RE2" matches it, "*" only needs
// it present. Any lists alternative rules instead.
type CallRule struct {
	Tool string            `yaml:"tool,omitempty" json:"tool,omitempty"`
	Args map[string]string `yaml:"args,omitempty" json:"args,omitempty"`
	Any  []CallRule        `yaml:"any,omitempty" json:"any,omitempty"`
}

// file is one questions file.
type file struct {
	Questions []Question `yaml:"questions"`
}

//go:embed questions/*.yaml
var shipped embed.FS

// Shipped returns the question set that ships with the orchestrator,
// over the fixture world the e2e harness seeds (e2e/harness/world.go).
func Shipped() ([]Question, error) {
	names, err := fs.Glob(shipped, "questions/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Question
	for _, n := range names {
		b, err := shipped.ReadFile(n)
		if err != nil {
			return nil, err
		}
		qs, err := Parse(bytes.NewReader(b), path.Base(n))
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	return out, checkIDs(out)
}

// LoadFiles reads the team's own question files.
func LoadFiles(paths []string) ([]Question, error) {
	var out []Question
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("questions: %w", err)
		}
		qs, err := Parse(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	return out, checkIDs(out)
}

// maxFile bounds a questions file: it is read whole.
const maxFile = 4 << 20

// Parse reads one questions file (name is for messages) and checks each
// question: an id, a known kind, a question, rules that compile.
func Parse(r io.Reader, name string) ([]Question, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("questions %s: %w", name, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("questions %s: over %d bytes; split it", name, maxFile)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("questions %s: %w", name, err)
	}
	for i := range f.Questions {
		q := &f.Questions[i]
		q.Source = name
		if err := q.check(); err != nil {
			id := q.ID
			if id == "" {
				id = fmt.Sprintf("#%d", i+1)
			}
			return nil, fmt.Errorf("questions %s: question %s: %w", name, id, err)
		}
	}
	return f.Questions, nil
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func (q *Question) check() error {
	switch {
	case !idRE.MatchString(q.ID):
		return fmt.Errorf("id %q: use 1-64 lower-case letters, digits, '.', '_' or '-'", clip(q.ID, 80))
	case !slices.Contains(kinds, q.Kind):
		return fmt.Errorf("kind %q: use one of %s", clip(q.Kind, 80), strings.Join(kinds, ", "))
	case strings.TrimSpace(q.Question) == "":
		return errors.New("question is empty")
	case strings.HasPrefix(strings.ToLower(strings.TrimSpace(q.Question)), "kubectl "):
		// The orchestrator runs a kubectl line itself, with no model:
		// there would be nothing to measure.
		return errors.New("a question that is a kubectl command line runs with no model; ask it in words")
	case q.Refuse != (q.Kind == KindRefusal):
		return errors.New("refuse: true goes with kind: refusal, and only with it")
	case !q.Refuse && len(q.Calls) == 0 && len(q.Contains) == 0:
		return errors.New("say how it is judged: calls, contains, or both")
	}
	for _, r := range append(append([]CallRule(nil), q.Calls...), q.Forbid...) {
		if err := r.check(0); err != nil {
			return err
		}
	}
	for _, c := range q.Contains {
		if len(alternatives(c)) == 0 {
			return fmt.Errorf("contains %q has no text", clip(c, 80))
		}
	}
	for _, c := range q.NotContains {
		if strings.TrimSpace(c) == "" {
			return errors.New("not_contains has an empty entry")
		}
	}
	return nil
}

func (r CallRule) check(depth int) error {
	if depth > 4 {
		return errors.New("call rule nested over 4 levels of any")
	}
	if len(r.Any) > 0 {
		if r.Tool != "" || len(r.Args) > 0 {
			return errors.New("a call rule has either any, or tool and args")
		}
		for _, a := range r.Any {
			if err := a.check(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	if strings.TrimSpace(r.Tool) == "" {
		return errors.New("a call rule needs a tool")
	}
	for k, v := range r.Args {
		if rest, ok := strings.CutPrefix(v, "~"); ok {
			if _, err := regexp.Compile(rest); err != nil {
				return fmt.Errorf("call rule %s: argument %s: %w", r.Tool, k, err)
			}
		}
	}
	return nil
}

// checkIDs refuses two questions with one id: results are keyed by it.
func checkIDs(qs []Question) error {
	seen := map[string]string{}
	for _, q := range qs {
		if s, dup := seen[q.ID]; dup {
			return fmt.Errorf("questions: id %s is in %s and in %s", q.ID, s, q.Source)
		}
		seen[q.ID] = q.Source
	}
	return nil
}

// Filter keeps the questions whose id or kind is in only (all when empty).
func Filter(qs []Question, only []string) ([]Question, error) {
	if len(only) == 0 {
		return qs, nil
	}
	var out []Question
	used := map[string]bool{}
	for _, q := range qs {
		if slices.Contains(only, q.ID) || slices.Contains(only, q.Kind) {
			out = append(out, q)
			used[q.ID], used[q.Kind] = true, true
		}
	}
	for _, o := range only {
		if !used[o] {
			return nil, fmt.Errorf("--only %s: no question has that id or kind", clip(o, 80))
		}
	}
	return out, nil
}

// alternatives splits "a | b" into its non-empty parts.
func alternatives(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// clip cuts s to n bytes at a rune boundary, for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
