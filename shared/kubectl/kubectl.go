// Package kubectl names, for each read-only kubectl subcommand the suite
// answers, the tool that does the same work, so that policy is applied to
// what runs: a role that may not call k8s_logs may not run "kubectl logs"
// through k8s_kubectl either. mcp-kubernetes and the orchestrator's
// kubectl fast path both check it.
package kubectl

// tools maps a kubectl subcommand to the tool whose policy governs it.
var tools = map[string]string{
	"get":           "k8s_get",
	"describe":      "k8s_describe",
	"rollout":       "k8s_describe",
	"logs":          "k8s_logs",
	"log":           "k8s_logs",
	"events":        "k8s_events",
	"api-resources": "k8s_api_resources",
	"config":        "k8s_contexts",
	"version":       "k8s_api_resources",
	"explain":       "k8s_api_resources",
	"api-versions":  "k8s_api_resources",
	"cluster-info":  "k8s_get",
	"top":           "k8s_get",
	// can-i tells what the server's identity may do: governed as a read
	// of objects.
	"auth": "k8s_get",
}

// ToolFor returns the tool whose policy governs kubectl subcommand verb,
// and false for a subcommand the suite does not answer.
func ToolFor(verb string) (string, bool) {
	t, ok := tools[verb]
	return t, ok
}

// Verbs lists the subcommands ToolFor knows, for tests that cover every
// pair.
func Verbs() []string {
	out := make([]string, 0, len(tools))
	for v := range tools {
		out = append(out, v)
	}
	return out
}
