package tools

import (
	"slices"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// access is the policy a handler applies: the tool that was called and,
// for k8s_kubectl, the tool its subcommand maps to (shared/kubectl). A
// value is in scope only when every one of them allows it, so kubectl
// never reaches further than the tool that does the same work.
type access struct {
	c     *tool.Call
	tools []string
}

// direct is the access of a tool called by name.
func direct(c *tool.Call) access { return access{c: c, tools: []string{c.Tool}} }

// allows reports whether every tool of a lets the caller read value in
// scope key.
func (a access) allows(key, value string) bool {
	if a.c.Grant == nil {
		return true
	}
	for _, t := range a.tools {
		if !a.c.Grant.Allows(t, key, value) {
			return false
		}
	}
	return true
}

// patterns returns the allowed patterns of scope key for messages, those
// of the last (most specific) tool that restricts it, or nil when no tool
// of a is restricted in that scope.
func (a access) patterns(key string) []string {
	if a.c.Grant == nil {
		return nil
	}
	for i := len(a.tools) - 1; i >= 0; i-- {
		if p := a.c.Grant.Patterns(a.tools[i], key); p != nil {
			return p
		}
	}
	return nil
}

// everyNamespace reports whether every tool of a may read every
// namespace (no scope, or the pattern "*": a namespace name has no "/").
func (a access) everyNamespace() bool {
	if a.c.Grant == nil {
		return true
	}
	for _, t := range a.tools {
		if p := a.c.Grant.Patterns(t, "namespaces"); p != nil && !slices.Contains(p, "*") {
			return false
		}
	}
	return true
}
