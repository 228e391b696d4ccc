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
	"maps"
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
		for scope := range r.Scopes {
			if !slices.Contains(ScopeKeys, scope) {
				return nil, fmt.Errorf("policy role %q: unknown scope %q: the scopes are %s (a misspelt scope would otherwise leave that role unrestricted)", name, scope, strings.Join(ScopeKeys, ", "))
			}
		}
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

// ScopeKeys are the scopes some part of the suite enforces: Kubernetes
// namespaces (mcp-kubernetes, and Loki's namespace label in mcp-logs),
// Gitea repositories (owner/name), Swarm stacks, log file paths, mcp-docs
// sources, and the model context a user may fill (the orchestrator).
var ScopeKeys = []string{"namespaces", "repos", "stacks", "files", "sources", "context"}

// families are the tool-name prefixes of the suite's servers, and the
// orchestrator's name for the model itself. A policy is shared by every
// server, so each judges only the patterns aimed at its own family.
var families = []string{"k8s_", "gitea_", "swarm_", "logs_", "docs_", "model"}

// CheckTools reports a tool pattern that can match no tool: one aimed at
// this server's family (tools are this server's tools) that matches none
// of them, or one aimed at no family of the suite. A misspelt pattern
// would otherwise silently grant nothing, or leave a role's intent unmet.
func (p *Policy) CheckTools(tools []string) error {
	if p.Open {
		return nil
	}
	ours := map[string]bool{}
	for _, f := range families {
		for _, t := range tools {
			if strings.HasPrefix(t, f) {
				ours[f] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Roles)) {
		for _, pat := range p.Roles[name].Tools {
			lit := pat
			if i := strings.IndexAny(pat, "*?[\\"); i >= 0 {
				lit = pat[:i]
			}
			if lit == "" {
				continue // "*", "?*": aimed at every family
			}
			family := ""
			for _, f := range families {
				if strings.HasPrefix(lit, f) || strings.HasPrefix(f, lit) {
					family = f
					break
				}
			}
			switch {
			case family == "":
				return fmt.Errorf("policy role %q: tool pattern %q matches no tool of the suite (tools start with %s)", name, pat, strings.Join(families, ", "))
			case !ours[family]:
				continue // another server's tools: that server judges it
			}
			if !slices.ContainsFunc(tools, func(t string) bool { return matchAny([]string{pat}, t) }) {
				return fmt.Errorf("policy role %q: tool pattern %q matches no tool of this server (%s)", name, pat, strings.Join(tools, ", "))
			}
		}
	}
	return nil
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
	// Both restrict: keep the patterns of each that a pattern of the
	// other covers, exact for plain names and narrow for globs. (Taking
	// a glob as a value was wrong: "w*" matches the string "w?", yet lets
	// through "web", which "w?" does not.)
	var both []string
	for _, p := range pats {
		if coveredBy(other, p) {
			both = append(both, p)
		}
	}
	for _, p := range other {
		if coveredBy(pats, p) && !slices.Contains(both, p) {
			both = append(both, p)
		}
	}
	if both == nil {
		both = []string{}
	}
	return both
}

// coveredBy reports whether one of pats matches every value p matches, in
// the few cases where that is plain to see: p is a literal name one of
// pats matches, one of pats is p itself, or one is a literal prefix and a
// star ("web-*") and p starts with that prefix and holds no '/', '[' or
// '\\' (which '*' or a class could match differently). Anything else is
// not covered: an intersection of globs errs narrow.
func coveredBy(pats []string, p string) bool {
	if !strings.ContainsAny(p, "*?[\\") {
		return matchAny(pats, p)
	}
	for _, q := range pats {
		if q == p {
			return true
		}
		lit, ok := strings.CutSuffix(q, "*")
		if ok && !strings.ContainsAny(lit, "*?[\\") && strings.HasPrefix(p, lit) && !strings.ContainsAny(p, "/[\\") {
			return true
		}
	}
	return false
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
