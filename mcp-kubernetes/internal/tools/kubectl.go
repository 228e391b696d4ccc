package tools

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/kubectl"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// KubectlInput are k8s_kubectl's arguments.
type KubectlInput struct {
	Command string `json:"command" jsonschema:"a kubectl command line, with or without the leading 'kubectl', e.g. 'get pods -n web -l app=api -o wide'"`
}

// KubectlOutput is the structured result of whichever tool the command maps to.
type KubectlOutput = map[string]any

// refused are kubectl verbs that change the cluster or open an interactive
// session; the message names the verb so the model knows why, and what to
// use instead.
var refused = map[string]string{
	"apply": "writes", "create": "writes", "delete": "writes", "edit": "writes (use get -o yaml to read the object)", "patch": "writes",
	"replace": "writes", "scale": "writes", "autoscale": "writes", "label": "writes", "annotate": "writes",
	"set": "writes", "run": "writes", "expose": "writes", "taint": "writes", "drain": "writes",
	"cordon": "writes", "uncordon": "writes", "certificate": "writes", "exec": "runs a process in a container (use logs)",
	"attach": "attaches to a running process (use logs)", "cp": "reads and writes files in containers (use logs)",
	"port-forward": "opens a tunnel (use get or describe)", "proxy": "opens a tunnel (use get --raw /version, /healthz, /livez or /readyz)",
	"debug": "creates debug containers (use describe and logs)", "wait": "is interactive (use get or rollout status and call again)",
	"plugin": "runs local programs", "kustomize": "reads local files", "diff": "reads local files (use get -o yaml)",
	"alpha": "is not offered", "completion": "is not offered", "kuberc": "reads local files",
}

// Command is a parsed kubectl command line.
type Command struct {
	Verb string
	Args []string
	// Words is the command line split as a shell would, without a
	// leading "kubectl".
	Words []string
	// Flags as kubectl spells them, those ParseKubectl knows.
	Namespace, LabelSelector, FieldSelector, Output, Container, Since, Context, Types string
	AllNamespaces, Previous, Watch, ShowLabels                                        bool
	Tail, Limit                                                                       int64
}

// ParseKubectl splits a kubectl command line, finds its verb and refuses
// a verb that writes or is interactive, by name. Flags are checked
// against kubectl's own commands later (checkKubectl).
func ParseKubectl(line string) (*Command, error) {
	words, err := shellquote.Split(line)
	if err != nil {
		return nil, tool.Argf("cannot split the command line: %v", err)
	}
	if len(words) > 0 && (words[0] == "kubectl" || words[0] == "k") {
		words = words[1:]
	}
	// The verb decides first: a refused verb is refused by name, whatever
	// flags it came with.
	cmd, fs, err := kubectlFlags(words)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return nil, tool.Argf("empty command: e.g. 'get pods -n default'")
	}
	cmd.Verb, cmd.Args, cmd.Words = rest[0], rest[1:], words
	if err := refuse(cmd.Verb, cmd.Args); err != nil {
		return nil, err
	}
	if cmd.Watch {
		return nil, tool.Deniedf("kubectl %s --watch is refused: it never ends; call again to see changes", cmd.Verb)
	}
	return cmd, nil
}

// kubectlFlags parses words leniently with the flags that find the verb
// (a flag's value is never taken for it).
func kubectlFlags(words []string) (*Command, *pflag.FlagSet, error) {
	cmd := &Command{Tail: -1}
	fs := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVarP(&cmd.Namespace, "namespace", "n", "", "")
	fs.BoolVarP(&cmd.AllNamespaces, "all-namespaces", "A", false, "")
	fs.StringVarP(&cmd.LabelSelector, "selector", "l", "", "")
	fs.StringVar(&cmd.FieldSelector, "field-selector", "", "")
	fs.StringVarP(&cmd.Output, "output", "o", "", "")
	fs.StringVarP(&cmd.Container, "container", "c", "", "")
	fs.Int64Var(&cmd.Tail, "tail", -1, "")
	fs.StringVar(&cmd.Since, "since", "", "")
	fs.BoolVarP(&cmd.Previous, "previous", "p", false, "")
	fs.StringVar(&cmd.Context, "context", "", "")
	fs.Int64Var(&cmd.Limit, "chunk-size", 0, "")
	fs.BoolVarP(&cmd.Watch, "watch", "w", false, "")
	fs.BoolVar(&cmd.ShowLabels, "show-labels", false, "")
	fs.StringVar(&cmd.Types, "types", "", "")
	// Value-taking flags of kubectl's commands, so that their value is
	// never mistaken for the verb.
	for _, name := range []string{"sort-by", "template", "for", "since-time", "api-version", "api-group", "subresource", "revision", "timeout", "limit-bytes", "max-log-requests", "pod-running-timeout", "verbs", "categories", "max-depth"} {
		fs.String(name, "", "")
	}
	fs.StringSliceP("label-columns", "L", nil, "")
	fs.ParseErrorsAllowlist.UnknownFlags = true
	return cmd, fs, fs.Parse(words)
}

// refuse returns a denial naming verb when it writes or is interactive.
func refuse(verb string, args []string) error {
	if why, ok := refused[verb]; ok {
		return tool.Deniedf("kubectl %s is refused: it %s, and this server is read-only", verb, why)
	}
	if verb == "rollout" && len(args) > 0 && args[0] != "status" && args[0] != "history" {
		return tool.Deniedf("kubectl rollout %s is refused: it writes, and this server is read-only (rollout history and rollout status are offered)", args[0])
	}
	if verb == "config" && len(args) > 0 {
		switch args[0] {
		case "get-contexts", "current-context":
		default:
			return tool.Deniedf("kubectl config %s is refused: only get-contexts and current-context are offered (credentials are never shown)", args[0])
		}
	}
	return nil
}

func (s *Server) kubectl(ctx context.Context, c *tool.Call, in KubectlInput) (*tool.Result, error) {
	cmd, err := ParseKubectl(in.Command)
	if err != nil {
		return nil, err
	}
	// Each subcommand is held to the policy of the tool that does the
	// same work, so kubectl is never a way around a role's tool list or
	// scopes (issue 23).
	mapped, ok := kubectl.ToolFor(cmd.Verb)
	if !ok {
		return nil, tool.Argf("kubectl %s is not supported; offered: get, describe, logs, events, explain, api-resources, api-versions, cluster-info, top, auth can-i, rollout history, rollout status, version, config get-contexts, config current-context", cmd.Verb)
	}
	if c.Grant != nil && !c.Grant.AllowsTool(mapped) {
		return nil, tool.Deniedf("kubectl %s runs as %s, which your role may not call (%s)", cmd.Verb, mapped, c.Grant.Describe())
	}
	a := access{c: c, tools: []string{c.Tool, mapped}}
	switch cmd.Verb {
	case "config":
		return s.kubectlConfig(ctx, c, cmd)
	case "version":
		return s.kubectlVersion(cmd)
	}
	path, flags, err := checkKubectl(cmd.Words)
	if err != nil {
		return nil, err
	}
	words := cmd.Words
	if path == "rollout status" && !flags.Changed("watch") {
		// kubectl waits for the rollout by default; here the status is
		// read once (call again to see progress).
		words = append(append([]string(nil), words...), "--watch=false")
	}
	if path == "rollout status" && !flags.Changed("timeout") {
		// Without a timeout kubectl waits for the object forever when the
		// list does not have it.
		words = append(append([]string(nil), words...), "--timeout=5s")
	}
	if err := checkKubectlArgs(path, flags); err != nil {
		return nil, err
	}
	cl, err := s.Clusters.Get(flagValue(flags, "context"))
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	if !a.everyNamespace() {
		if err := kubectlScope(a, cl, path, flags); err != nil {
			return nil, err
		}
	}
	memory.HoldFrom(ctx).SetCost(answerCost(flags))
	run, guard, err := s.runGuarded(ctx, a, cl, words, flagSet(flags, "all-namespaces"))
	if err != nil {
		return nil, err
	}
	data := map[string]any{"command": strings.Join(cmd.Words, " "), "output": run.stdout, "exit_code": run.code}
	if run.code == 0 || run.msg == "" {
		// auth can-i answers "no" with exit code 1 and no message.
		return &tool.Result{Data: data, Text: run.stdout + run.stderr}, nil
	}
	msg := strings.TrimSpace(run.msg)
	if err := kubectlFailure(msg, guard, cl, a); err != nil {
		return nil, err
	}
	if run.stdout == "" {
		return nil, tool.Argf("%s", msg)
	}
	data["error"] = msg
	return &tool.Result{Data: data, Text: run.stdout + msg + "\n"}, nil
}

// runGuarded runs words (already checked) with kubectl's own code on
// cluster cl for a caller with access a, behind a Guard that masks every
// answer and holds a's namespaces. With spread, a list across namespaces
// is answered from a's namespaces alone (kubectl -A; a namespace's events
// for k8s_describe). k8s_kubectl and the typed tools that print what
// kubectl prints run through it, so they print the same.
func (s *Server) runGuarded(ctx context.Context, a access, cl *kube.Cluster, words []string, spread bool) (kubectlRun, *kube.Guard, error) {
	// The binder's masker, so that a value's placeholder is the one every
	// tool gives it (valueMasker without a binder).
	m := a.c.Masker()
	if m == nil {
		m = valueMasker
	}
	guard := &kube.Guard{Masker: m, RawPaths: rawPaths, Hold: memory.HoldFrom(ctx),
		Text: func(t string) string { return maskText(a.c, t) }}
	if !a.everyNamespace() {
		guard.Namespace = func(ns string) bool { return checkNamespace(ns) == nil && a.allows("namespaces", ns) }
		// Lists across namespaces go one namespace at a time (the Guard
		// merges them), never across the cluster.
		if spread {
			var err error
			if guard.Spread, err = s.namespacesInScope(ctx, a, cl); err != nil {
				return kubectlRun{}, nil, err
			}
			if guard.Spread == nil {
				guard.Spread = []string{}
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, kubectlTimeout)
	defer cancel()
	guard.Ctx = ctx
	run, err := runKubectl(ctx, cl, guard, words)
	return run, guard, err
}

// kubectlFailure names a failed command's cause when it is not the
// caller's: the API server's failure, or a request past the caller's
// namespaces. Nil otherwise (kubectl's message is the caller's to fix).
func kubectlFailure(msg string, guard *kube.Guard, cl *kube.Cluster, a access) error {
	if err := guard.Hold.Refusal(); err != nil {
		return err
	}
	if up := guard.LastFailure(); up != nil {
		return tool.Upstream(kube.Upstream, cl.Config.Host, fmt.Errorf("%s: %w", msg, up))
	}
	if isScopeMessage(msg) {
		return tool.Deniedf("%s (your role may read only namespaces %s; give -n with one of them)", msg, strings.Join(a.patterns("namespaces"), ", "))
	}
	return nil
}

// maskText masks text answers (logs) in line-bounded pieces, hiding a key
// block cut by the window, as k8s_logs does.
func maskText(c *tool.Call, t string) string {
	lines := maskLog(c, t, maskChunk)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func flagValue(fs *pflag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

func flagSet(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed && f.Value.String() != "false"
}

// kubectlScope refuses, before any request, a command that reaches past a
// caller limited to some namespaces: a namespace outside the role, a
// cluster-scoped question, can-i across namespaces. The Guard holds the
// same line request by request, and answers -A from the caller's
// namespaces only.
func kubectlScope(a access, cl *kube.Cluster, path string, fs *pflag.FlagSet) error {
	allowed := strings.Join(a.patterns("namespaces"), ", ")
	if flagSet(fs, "all-namespaces") {
		if path == "auth can-i" {
			return tool.Deniedf("kubectl auth can-i -A is refused: your role may read only namespaces %s; ask with -n", allowed)
		}
		return nil
	}
	switch path {
	case "api-resources", "api-versions", "explain":
		return nil // discovery and OpenAPI name no object
	case "cluster-info", "top node":
		return tool.Deniedf("kubectl %s reads cluster-wide objects, and your role may read only namespaces %s", path, allowed)
	}
	// Without -n the context's namespace applies to namespaced types
	// only (get ns, get pc are cluster-scoped): the Guard refuses it
	// there if it is outside the role.
	ns := flagValue(fs, "namespace")
	if ns != "" && !a.allows("namespaces", ns) {
		return tool.Deniedf("your role may not read namespace %q (allowed: %s); give -n with one of them", ns, allowed)
	}
	return nil
}

// checkKubectlArgs checks every caller value that reaches a URL (types,
// names, namespace, selectors, container) by Kubernetes' naming rules
// before anything runs, as the typed tools do.
func checkKubectlArgs(path string, fs *pflag.FlagSet) error {
	if ns := flagValue(fs, "namespace"); ns != "" {
		if err := checkNamespace(ns); err != nil {
			return err
		}
	}
	if err := checkSelectors(flagValue(fs, "selector"), flagValue(fs, "field-selector")); err != nil {
		return err
	}
	if ct := flagValue(fs, "container"); ct != "" {
		if err := checkContainer(ct); err != nil {
			return err
		}
	}
	if f := fs.Lookup("chunk-size"); f != nil && f.Changed && f.Value.String() == "0" {
		return tool.Argf("--chunk-size=0 would ask the API server for every object at once: give 1 to %d (pages are followed to the end either way)", maxLimit)
	}
	args := fs.Args()
	if f := flagValue(fs, "for"); f != "" {
		args = append(args, f)
	}
	switch path {
	case "explain", "auth can-i", "api-resources", "api-versions", "cluster-info":
		return nil // no argument reaches a URL path
	case "logs":
		for i, arg := range args {
			switch {
			case strings.Contains(arg, "/"):
				if err := checkTypeName(arg); err != nil {
					return err
				}
			case i == 0:
				if err := checkObjectName("pod", arg); err != nil {
					return err
				}
			default:
				if err := checkContainer(arg); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i, arg := range args {
		if i > 0 {
			// A NAME after a TYPE is one path segment: NAME/proxy is
			// refused as the subresource it reaches.
			if err := refuseSubresource("name", arg); err != nil {
				return err
			}
		}
		switch {
		case i > 0 && strings.Contains(arg, "/") && !strings.Contains(args[0], "/"):
			// TYPE NAME with a "/" in NAME: a name is one path segment.
			if err := checkObjectName("name", arg); err != nil {
				return err
			}
		case strings.Contains(arg, "/"):
			if err := checkTypeName(arg); err != nil {
				return err
			}
		case i == 0 && path != "top pod" && path != "top node":
			for _, t := range strings.Split(arg, ",") {
				if err := checkResource(t); err != nil {
					return err
				}
			}
		default:
			if err := checkObjectName("name", arg); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTypeName checks a TYPE/NAME argument: no subresource.
func checkTypeName(arg string) error {
	t, n, _ := strings.Cut(arg, "/")
	if err := refuseSubresource("object", n); err != nil {
		return err
	}
	if strings.Contains(n, "/") {
		return tool.Argf("%q: subresources are not offered; give TYPE/NAME", arg)
	}
	if err := checkResource(t); err != nil {
		return err
	}
	return checkObjectName("name", n)
}

// nameChars are the characters of any Kubernetes object name: DNS-1123
// names, RBAC's "system:controller:x", a CSR's "node-csr-Ab_C9".
var nameChars = regexp.MustCompile(`^[A-Za-z0-9._:@+=-]+$`)

// checkObjectName checks a name kubectl will put in a URL path: one path
// segment (checkName) of characters object names have, so that nothing
// reaches the API server escaped.
func checkObjectName(what, name string) error {
	if err := checkName(what, name); err != nil {
		return err
	}
	if !nameChars.MatchString(name) {
		return tool.Argf("%s %q has characters no Kubernetes object name has (letters, digits, '-', '.', ':', '_', '@', '+', '=')", what, name)
	}
	return nil
}

// kubectlConfig answers config get-contexts and current-context from the
// server's kubeconfig, never its credentials.
func (s *Server) kubectlConfig(ctx context.Context, c *tool.Call, cmd *Command) (*tool.Result, error) {
	if err := onlyContextFlag(cmd); err != nil {
		return nil, err
	}
	if len(cmd.Args) != 1 {
		return nil, tool.Argf("config needs get-contexts or current-context")
	}
	if cmd.Args[0] == "current-context" {
		return &tool.Result{Data: map[string]any{"current": s.Clusters.Current()}, Text: s.Clusters.Current() + "\n"}, nil
	}
	return s.contexts(ctx, c, ContextsInput{})
}

// kubectlVersion answers version with the API server's; this server has
// no kubectl client version of its own to report.
func (s *Server) kubectlVersion(cmd *Command) (*tool.Result, error) {
	if err := onlyContextFlag(cmd); err != nil {
		return nil, err
	}
	if len(cmd.Args) > 0 {
		return nil, tool.Argf("version takes no arguments")
	}
	cl, err := s.Clusters.Get(cmd.Context)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	v, err := cl.Typed.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	return &tool.Result{Data: map[string]any{"server": v}, Text: fmt.Sprintf("Server Version: %s\n", v.GitVersion)}, nil
}

// onlyContextFlag refuses any flag but --context on config and version,
// which honour no other.
func onlyContextFlag(cmd *Command) error {
	for _, w := range cmd.Words {
		if strings.HasPrefix(w, "-") && w != "--context" && !strings.HasPrefix(w, "--context=") {
			return tool.Deniedf("kubectl %s %s is not offered here: only --context is", cmd.Verb, w)
		}
	}
	return nil
}
