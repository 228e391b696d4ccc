// Package policy maps roles to the tools they may call and the scopes
// (Kubernetes namespaces, Gitea repositories, Swarm stacks, log roots…)
// they may read. It is the role-based access control the suite enforces on
// every call, before any handler runs.
//
// A policy file is YAML:
//
//	roles:
//	  viewer:
//	    tools: ["k8s_get", "k8s_describe", "k8s_events"]
//	    scopes:
//	      namespaces: ["web", "api-*"]
//	  sre:
//	    tools: ["*"]
//
// Tools and scope values are glob patterns (path.Match). A role without a
// scope key is unrestricted in that scope. A user with several roles gets
// the union of what each allows.
package policy

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Role is what one role may do.
type Role struct {
	Tools  []string            `json:"tools"`
	Scopes map[string][]string `json:"scopes,omitempty"`
}

// Policy is a parsed policy file.
type Policy struct {
	Roles map[string]Role `json:"roles"`
	// Open is true when no policy file was given: every authenticated
	// caller may call every tool, unrestricted. The tools are read-only
	// either way; a policy only narrows what is visible.
	Open bool `json:"-"`
}

// OpenPolicy allows everything to everyone.
func OpenPolicy() *Policy { return &Policy{Open: true} }

// Load reads a policy file; an empty path gives OpenPolicy.
func Load(file string) (*Policy, error) {
	if file == "" {
		return OpenPolicy(), nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", file, err)
	}
	return Parse(raw)
}

// Parse parses a policy document and checks its patterns.
func Parse(raw []byte) (*Policy, error) {
	var p Policy
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	if len(p.Roles) == 0 {
		return nil, fmt.Errorf("parse policy: no roles defined; add a 'roles:' map")
	}
	for name, r := range p.Roles {
		for _, pat := range r.Tools {
			if _, err := path.Match(pat, ""); err != nil {
				return nil, fmt.Errorf("policy role %q: bad tool pattern %q: %w", name, pat, err)
			}
		}
		for scope, pats := range r.Scopes {
			for _, pat := range pats {
				if _, err := path.Match(pat, ""); err != nil {
					return nil, fmt.Errorf("policy role %q scope %q: bad pattern %q: %w", name, scope, pat, err)
				}
			}
		}
	}
	return &p, nil
}

// Grant is what a set of roles may do. A call is allowed when one role
// allows both the tool and the scope value, so a role that unlocks the
// Gitea tools does not widen another role's Kubernetes namespaces.
type Grant struct {
	open  bool
	roles []Role
	names []string
	// also, when set, must allow too: a delegated call is held to both the
	// user's grant and the delegate's.
	also *Grant
}

// And returns a grant that allows what both g and o allow.
func (g *Grant) And(o *Grant) *Grant {
	c := *g
	if c.also != nil {
		c.also = c.also.And(o)
	} else {
		c.also = o
	}
	return &c
}

// For resolves the grant of a caller with the given roles.
func (p *Policy) For(roles []string) *Grant {
	g := &Grant{open: p.Open, names: roles}
	for _, name := range roles {
		if r, ok := p.Roles[name]; ok {
			g.roles = append(g.roles, r)
		}
	}
	return g
}

func matchAny(pats []string, v string) bool {
	for _, pat := range pats {
		if ok, _ := path.Match(pat, v); ok {
			return true
		}
	}
	return false
}

// AllowsTool reports whether the grant covers tool.
func (g *Grant) AllowsTool(tool string) bool {
	if g.also != nil && !g.also.AllowsTool(tool) {
		return false
	}
	if g.open {
		return true
	}
	for _, r := range g.roles {
		if matchAny(r.Tools, tool) {
			return true
		}
	}
	return false
}

// Patterns returns the patterns of scope key that tool may read, or nil
// when some role allowing tool is unrestricted in that scope.
func (g *Grant) Patterns(tool, key string) []string {
	pats := g.own(tool, key)
	if g.also == nil {
		return pats
	}
	other := g.also.Patterns(tool, key)
	switch {
	case other == nil:
		return pats
	case pats == nil:
		return other
	}
	// Both restrict: keep the patterns of each that the other allows as
	// a value, which is exact for plain names and errs narrow for globs.
	var both []string
	for _, p := range pats {
		if matchAny(other, p) {
			both = append(both, p)
		}
	}
	for _, p := range other {
		if matchAny(pats, p) && !slices.Contains(both, p) {
			both = append(both, p)
		}
	}
	if both == nil {
		both = []string{}
	}
	return both
}

func (g *Grant) own(tool, key string) []string {
	if g.open {
		return nil
	}
	var pats []string
	for _, r := range g.roles {
		if !matchAny(r.Tools, tool) {
			continue
		}
		p, ok := r.Scopes[key]
		if !ok {
			return nil
		}
		pats = append(pats, p...)
	}
	if pats == nil {
		pats = []string{} // allowed the tool nowhere: nothing in scope
	}
	return pats
}

// Allows reports whether tool may read value (a namespace, a repo) of
// scope key.
func (g *Grant) Allows(tool, key, value string) bool {
	if g.also != nil && !g.also.Allows(tool, key, value) {
		return false
	}
	pats := g.own(tool, key)
	return pats == nil || matchAny(pats, value)
}

// Describe renders the grant for error messages.
func (g *Grant) Describe() string {
	d := "roles " + strings.Join(g.names, ",")
	switch {
	case g.open:
		d = "all tools"
	case len(g.names) == 0:
		d = "no roles"
	}
	if g.also != nil {
		d += ", within " + g.also.Describe()
	}
	return d
}
