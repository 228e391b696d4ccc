package policy

import (
	"strings"
	"testing"
)

// FuzzAndPatterns asserts that a delegated grant's patterns never let
// through a value that either side refuses, for any patterns (globs,
// classes, escapes, slashes) and any value.
func FuzzAndPatterns(f *testing.F) {
	f.Add("w*", "w?", "web")
	f.Add("*", "?", "api")
	f.Add("ops/*", "*/*", "ops/infra")
	f.Add("w[a-z]", "w\\*", "w*")
	f.Add("web-*\napi", "web-a*", "web-b")
	f.Fuzz(func(t *testing.T, user, delegate, value string) {
		u, d := strings.Split(user, "\n"), strings.Split(delegate, "\n")
		p := &Policy{Roles: map[string]Role{
			"user":     {Tools: []string{"k8s_*"}, Scopes: map[string][]string{"namespaces": u}},
			"delegate": {Tools: []string{"k8s_*"}, Scopes: map[string][]string{"namespaces": d}},
		}}
		g := p.For([]string{"user"}).And(p.For([]string{"delegate"}))
		pats := g.Patterns("k8s_get", "namespaces")
		if pats == nil {
			t.Fatalf("both sides restrict, yet the patterns say unrestricted")
		}
		if matchAny(pats, value) && !g.Allows("k8s_get", "namespaces", value) {
			t.Fatalf("user %q, delegate %q: patterns %q let %q through, which a side refuses", u, d, pats, value)
		}
	})
}
