package agent

import (
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	sharedkubectl "github.com/opsmcp/opsmcp/shared/kubectl"
)

// kubectl recognizes a message that is a kubectl command line.
func kubectl(q string) (string, bool) {
	q = strings.TrimSpace(q)
	if rest, ok := strings.CutPrefix(q, "kubectl "); ok && !strings.Contains(q, "\n") {
		return strings.TrimSpace(rest), true
	}
	return "", false
}

// kubectlTools are the tools whose policy must allow a kubectl command line
// before the fast path runs it through k8s_kubectl: k8s_kubectl itself,
// and the tool the subcommand does the work of (shared/kubectl.ToolFor:
// logs→k8s_logs, get→k8s_get…), so a role left without k8s_logs cannot
// read logs through "kubectl logs". When the subcommand cannot be told for
// sure (quotes or escapes, a flag this parser does not know, a subcommand
// the suite does not answer), every tool a kubectl subcommand maps to is
// required: a parser that disagrees with mcp-kubernetes' can then only
// refuse more, never run something the role may not.
func kubectlTools(cmd string) (verb string, need []string) {
	need = []string{"k8s_kubectl"}
	verb = kubectlVerb(cmd)
	if t, ok := sharedkubectl.ToolFor(verb); ok && verb != "" {
		return verb, append(need, t)
	}
	seen := map[string]bool{}
	for _, v := range sharedkubectl.Verbs() {
		if t, _ := sharedkubectl.ToolFor(v); !seen[t] {
			seen[t] = true
			need = append(need, t)
		}
	}
	sort.Strings(need[1:])
	return "", need
}

// kubectlVerb finds the subcommand of a kubectl command line the way
// mcp-kubernetes' k8s_kubectl does (a leading "kubectl" or "k" dropped,
// its read-only flags parsed with pflag, the first argument left), or ""
// when it cannot be sure: only plain words split on blanks are read,
// since a quote or a backslash would need the shell's rules to agree.
func kubectlVerb(cmd string) string {
	if strings.ContainsAny(cmd, "'\"\\`$") {
		return ""
	}
	words := strings.Fields(cmd)
	if len(words) > 0 && (words[0] == "kubectl" || words[0] == "k") {
		words = words[1:]
	}
	fs := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The same flags, of the same kinds, as mcp-kubernetes' parser: a
	// flag that takes a value takes the next word, so "-n get logs x"
	// is logs.
	for _, f := range []struct{ name, short string }{{"namespace", "n"}, {"selector", "l"}, {"field-selector", ""},
		{"output", "o"}, {"container", "c"}, {"since", ""}, {"context", ""}, {"types", ""}} {
		fs.StringP(f.name, f.short, "", "")
	}
	fs.Int64("tail", -1, "")
	fs.Int64("chunk-size", 0, "")
	fs.Int64("limit", 0, "")
	for _, f := range []struct{ name, short string }{{"all-namespaces", "A"}, {"previous", "p"}, {"watch", "w"}, {"show-labels", ""}} {
		fs.BoolP(f.name, f.short, false, "")
	}
	if err := fs.Parse(words); err != nil || fs.NArg() == 0 {
		return ""
	}
	return fs.Arg(0)
}
