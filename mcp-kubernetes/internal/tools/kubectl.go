package tools

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/shared/kubectl"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// KubectlInput are k8s_kubectl's arguments.
type KubectlInput struct {
	Command string `json:"command" jsonschema:"a kubectl command line, with or without the leading 'kubectl', e.g. 'get pods -n web -l app=api -o wide'"`
}

// KubectlOutput is the structured result of whichever tool the command maps to.
type KubectlOutput = map[string]any

// refused are kubectl verbs that change the cluster or open an interactive
// session; the message names the verb so the model knows why.
var refused = map[string]string{
	"apply": "writes", "create": "writes", "delete": "writes", "edit": "writes", "patch": "writes",
	"replace": "writes", "scale": "writes", "autoscale": "writes", "label": "writes", "annotate": "writes",
	"set": "writes", "run": "writes", "expose": "writes", "taint": "writes", "drain": "writes",
	"cordon": "writes", "uncordon": "writes", "certificate": "writes", "exec": "is interactive",
	"attach": "is interactive", "cp": "reads and writes files in containers", "port-forward": "opens a tunnel",
	"proxy": "opens a tunnel", "debug": "creates debug containers", "wait": "is interactive",
	"auth": "is not offered", "plugin": "runs local programs", "kustomize": "is not offered",
	"alpha": "is not offered", "events-watch": "is interactive",
}

// Command is a parsed kubectl command line.
type Command struct {
	Verb string
	Args []string
	// Flags as kubectl spells them.
	Namespace, LabelSelector, FieldSelector, Output, Container, Since, Context, Types string
	AllNamespaces, Previous, Watch, ShowLabels                                        bool
	Tail, Limit                                                                       int64
}

// ParseKubectl parses a kubectl command line with a real flag parser. It
// returns an argument error naming what to fix.
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
	if _, probe, err := kubectlFlags(words, true); err == nil && len(probe.Args()) > 0 {
		if err := refuse(probe.Args()[0], probe.Args()[1:]); err != nil {
			return nil, err
		}
	}
	cmd, fs, err := kubectlFlags(words, false)
	if err != nil {
		return nil, tool.Argf("%v (supported flags: -n, -A, -l, --field-selector, -o, -c, --tail, --since, -p, --context, --chunk-size, --types)", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return nil, tool.Argf("empty command: e.g. 'get pods -n default'")
	}
	cmd.Verb, cmd.Args = rest[0], rest[1:]
	if err := refuse(cmd.Verb, cmd.Args); err != nil {
		return nil, err
	}
	if cmd.Watch {
		return nil, tool.Deniedf("kubectl %s --watch is refused: it is interactive; call again to see changes", cmd.Verb)
	}
	return cmd, nil
}

// kubectlFlags parses words with kubectl's read-only flags; lenient skips
// unknown flags (used only to find the verb).
func kubectlFlags(words []string, lenient bool) (*Command, *pflag.FlagSet, error) {
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
	fs.Int64Var(&cmd.Limit, "limit", 0, "")
	fs.BoolVarP(&cmd.Watch, "watch", "w", false, "")
	fs.BoolVar(&cmd.ShowLabels, "show-labels", false, "")
	fs.StringVar(&cmd.Types, "types", "", "")
	fs.ParseErrorsAllowlist.UnknownFlags = lenient
	return cmd, fs, fs.Parse(words)
}

// refuse returns a denial naming verb when it writes or is interactive.
func refuse(verb string, args []string) error {
	if why, ok := refused[verb]; ok {
		return tool.Deniedf("kubectl %s is refused: it %s, and this server is read-only", verb, why)
	}
	if verb == "rollout" && len(args) > 0 && args[0] != "status" && args[0] != "history" {
		return tool.Deniedf("kubectl rollout %s is refused: it writes, and this server is read-only", args[0])
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

// resourceArgs splits kubectl's resource arguments: "pods", "pods x",
// "pod/x", "deploy/api". A subresource (TYPE/NAME/SUB, or a name with a
// "/") is refused: proxy, exec, attach and port-forward by name, as a
// denial.
func resourceArgs(args []string) (resource, name string, err error) {
	if len(args) == 0 {
		return "", "", tool.Argf("which resource type? e.g. 'get pods'")
	}
	if strings.Contains(args[0], ",") {
		return "", "", tool.Argf("%q: one resource type per command; make one call per type", args[0])
	}
	if r, n, ok := strings.Cut(args[0], "/"); ok {
		if err := refuseSubresource("object", n); err != nil {
			return "", "", err
		}
		if len(args) > 1 {
			return "", "", tool.Argf("give either TYPE/NAME or TYPE NAME, not both")
		}
		if strings.Contains(n, "/") {
			return "", "", tool.Argf("%q: subresources are not offered; give TYPE/NAME", args[0])
		}
		if r == "" || n == "" {
			return "", "", tool.Argf("%q: give TYPE/NAME, e.g. deploy/api", args[0])
		}
		return r, n, nil
	}
	switch len(args) {
	case 1:
		return args[0], "", nil
	case 2:
		if err := refuseSubresource("name", args[1]); err != nil {
			return "", "", err
		}
		return args[0], args[1], nil
	}
	return "", "", tool.Argf("one object name per command (got %s)", strings.Join(args[1:], " "))
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
		return nil, tool.Argf("kubectl %s is not supported; supported: get, describe, logs, events, api-resources, rollout status, config get-contexts, config current-context, version", cmd.Verb)
	}
	if c.Grant != nil && !c.Grant.AllowsTool(mapped) {
		return nil, tool.Deniedf("kubectl %s runs as %s, which your role may not call (%s)", cmd.Verb, mapped, c.Grant.Describe())
	}
	a := access{c: c, tools: []string{c.Tool, mapped}}
	switch cmd.Verb {
	case "get":
		res, name, err := resourceArgs(cmd.Args)
		if err != nil {
			return nil, err
		}
		return s.getAs(ctx, a, GetInput{Resource: res, Name: name, Namespace: cmd.Namespace, AllNamespaces: cmd.AllNamespaces,
			LabelSelector: cmd.LabelSelector, FieldSelector: cmd.FieldSelector, Output: kubectlOutput(cmd.Output),
			Limit: cmd.Limit, Context: cmd.Context})
	case "describe":
		res, name, err := resourceArgs(cmd.Args)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, tool.Argf("describe needs one object: e.g. 'describe deploy/api'")
		}
		return s.describeAs(ctx, a, DescribeInput{Resource: res, Name: name, Namespace: cmd.Namespace, Context: cmd.Context})
	case "rollout":
		if len(cmd.Args) < 2 {
			return nil, tool.Argf("rollout status needs an object: e.g. 'rollout status deploy/api'")
		}
		res, name, err := resourceArgs(cmd.Args[1:])
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, tool.Argf("rollout status needs one object: e.g. 'rollout status deploy/api'")
		}
		return s.describeAs(ctx, a, DescribeInput{Resource: res, Name: name, Namespace: cmd.Namespace, Context: cmd.Context})
	case "logs", "log":
		if len(cmd.Args) != 1 {
			return nil, tool.Argf("logs needs one pod: e.g. 'logs pod/web-1 -c app --tail 50'")
		}
		pod := cmd.Args[0]
		if r, n, ok := strings.Cut(pod, "/"); ok {
			if err := refuseSubresource("pod", n); err != nil {
				return nil, err
			}
			if r != "pod" && r != "pods" && r != "po" {
				return nil, tool.Argf("logs of %s: only pods are supported; give pod/NAME", r)
			}
			pod = n
		}
		tail := cmd.Tail
		if tail < 0 {
			tail = 0
		}
		return s.logsAs(ctx, a, LogsInput{Pod: pod, Container: cmd.Container, Namespace: cmd.Namespace, Tail: tail,
			Since: cmd.Since, Previous: cmd.Previous, Context: cmd.Context})
	case "events":
		in := EventsInput{Namespace: cmd.Namespace, AllNamespaces: cmd.AllNamespaces, Type: cmd.Types, FieldSelector: cmd.FieldSelector, Context: cmd.Context}
		if len(cmd.Args) > 1 {
			return nil, tool.Argf("events takes at most one object: e.g. 'events pod/web-1'")
		}
		if len(cmd.Args) > 0 {
			in.Object = cmd.Args[0]
		}
		return s.eventsAs(ctx, a, in)
	case "api-resources":
		return s.apiResources(ctx, c, APIResourcesInput{Context: cmd.Context})
	case "config":
		if len(cmd.Args) == 0 {
			return nil, tool.Argf("config needs get-contexts or current-context")
		}
		if cmd.Args[0] == "current-context" {
			return &tool.Result{Data: map[string]any{"current": s.Clusters.Current()}, Text: s.Clusters.Current() + "\n"}, nil
		}
		return s.contexts(ctx, c, ContextsInput{})
	case "version":
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
	return nil, tool.Argf("kubectl %s is not supported", cmd.Verb)
}

// kubectlOutput maps -o values to k8s_get's output names.
func kubectlOutput(o string) string {
	switch o {
	case "":
		return "table"
	case "wide", "yaml", "json", "name":
		return o
	}
	return o // k8s_get refuses it with the list of supported values
}
