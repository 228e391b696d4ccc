package tools

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template/parse"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/jsonpath"
	"k8s.io/klog/v2"
	"k8s.io/kubectl/pkg/cmd/apiresources"
	"k8s.io/kubectl/pkg/cmd/auth"
	"k8s.io/kubectl/pkg/cmd/clusterinfo"
	"k8s.io/kubectl/pkg/cmd/describe"
	"k8s.io/kubectl/pkg/cmd/events"
	"k8s.io/kubectl/pkg/cmd/explain"
	"k8s.io/kubectl/pkg/cmd/get"
	"k8s.io/kubectl/pkg/cmd/logs"
	"k8s.io/kubectl/pkg/cmd/rollout"
	"k8s.io/kubectl/pkg/cmd/top"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/scheme"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// valueMasker masks the API server's JSON answers structurally before
// kubectl's code decodes them when a call has no binder's masker
// (runGuarded uses the binder's, so placeholders match other tools').
var valueMasker = mask.New(nil)

// kubectlTimeout bounds one command: kubectl's own code mostly uses
// context.TODO(), so the guard cancels its requests when this runs out.
const kubectlTimeout = 60 * time.Second

// maxOutput bounds what one command may print; the binder's budget and
// cursor cut the answer further.
const maxOutput = 8 << 20

// rawPaths are the non-resource paths "get --raw" may read: what they
// answer names no object and holds no secret.
var rawPaths = []string{"/version", "/healthz", "/livez", "/readyz", "/api", "/apis"}

// allowedFlags lists, per kubectl command path, the flags it honours here.
// Every other flag is refused by name, never accepted and ignored.
var allowedFlags = map[string][]string{
	"get": {"all-namespaces", "allow-missing-template-keys", "chunk-size", "field-selector", "ignore-not-found", "label-columns",
		"no-headers", "output", "raw", "selector", "server-print", "show-kind", "show-labels", "show-managed-fields", "sort-by",
		"subresource", "template"},
	"describe":        {"all-namespaces", "chunk-size", "selector", "show-events"},
	"logs":            {"all-containers", "all-pods", "container", "ignore-errors", "limit-bytes", "max-log-requests", "pod-running-timeout", "prefix", "previous", "selector", "since", "since-time", "tail", "timestamps"},
	"events":          {"all-namespaces", "allow-missing-template-keys", "chunk-size", "for", "no-headers", "output", "show-managed-fields", "template", "types"},
	"explain":         {"api-version", "max-depth", "output", "recursive"},
	"api-resources":   {"api-group", "cached", "categories", "namespaced", "no-headers", "output", "show-managed-fields", "sort-by", "verbs"},
	"api-versions":    {},
	"cluster-info":    {},
	"top":             {},
	"top node":        {"no-headers", "selector", "show-capacity", "show-swap", "sort-by", "use-protocol-buffers"},
	"top pod":         {"all-namespaces", "containers", "field-selector", "no-headers", "selector", "show-swap", "sort-by", "sum", "use-protocol-buffers"},
	"auth can-i":      {"all-namespaces", "list", "no-headers", "quiet", "subresource"},
	"rollout history": {"allow-missing-template-keys", "output", "revision", "selector", "show-managed-fields", "template"},
	"rollout status":  {"revision", "selector", "timeout", "watch"},
}

// refusedFlags says why a flag kubectl has is refused, and what to use.
var refusedFlags = map[string]string{
	"filename":                         "reads local files; name the objects instead (TYPE NAME or TYPE/NAME)",
	"kustomize":                        "reads local files; name the objects instead",
	"recursive":                        "applies to -f, which reads local files",
	"watch":                            "never ends; call again to see changes",
	"watch-only":                       "never ends; call again to see changes",
	"follow":                           "never ends; use --tail or --since and call again",
	"output-watch-events":              "goes with --watch, which never ends",
	"insecure-skip-tls-verify-backend": "would skip verifying the kubelet's certificate",
	"kubeconfig":                       "selects credentials; the server's own are used (pick one of its contexts with --context)",
	"server":                           "selects an API server; pick one of the server's contexts with --context",
	"token":                            "changes credentials; the server's own are used",
	"as":                               "impersonates another identity; the server's own is used",
	"as-group":                         "impersonates another identity; the server's own is used",
	"as-uid":                           "impersonates another identity; the server's own is used",
	"user":                             "selects credentials; pick one of the server's contexts with --context",
	"cluster":                          "selects an API server; pick one of the server's contexts with --context",
	"username":                         "changes credentials; the server's own are used",
	"password":                         "changes credentials; the server's own are used",
	"client-certificate":               "changes credentials; the server's own are used",
	"client-key":                       "changes credentials; the server's own are used",
	"certificate-authority":            "changes how the API server is trusted",
	"insecure-skip-tls-verify":         "changes how the API server is trusted",
	"tls-server-name":                  "changes how the API server is trusted",
	"v":                                "prints the HTTP exchange, credentials included",
	"vmodule":                          "prints the HTTP exchange, credentials included",
	"cache-dir":                        "writes local files",
	"profile":                          "writes local files",
	"profile-output":                   "writes local files",
	"output-directory":                 "writes local files",
	"request-timeout":                  "is set by this server (60 s)",
}

// refusedCommands says why a kubectl command is not offered, and what to
// use instead.
var refusedCommands = map[string]string{
	"edit": "writes; use get -o yaml to read the object", "exec": "runs a process in a container; use logs",
	"attach": "attaches to a running process; use logs", "port-forward": "opens a tunnel; use get or describe",
	"proxy": "opens a tunnel to the API server; use get --raw with /version, /healthz, /livez or /readyz",
	"cp":    "reads and writes files in containers; use logs", "debug": "creates debug containers; use describe and logs",
	"cluster-info dump": "reads every object and log of the cluster at once; use get, describe and logs",
	"auth whoami":       "asks through a review this server does not send; the server's identity is its own",
	"auth reconcile":    "writes RBAC objects", "rollout pause": "writes", "rollout resume": "writes",
	"rollout restart": "writes", "rollout undo": "writes",
	"wait": "never ends until a condition; use get or rollout status and call again",
	"diff": "reads local files and asks for server-side dry runs; use get -o yaml",
}

// fatal is what kubectl's CheckErr hands its fatal handler, carried by a
// panic back to runKubectl instead of exiting the process.
type fatal struct {
	msg  string
	code int
}

var setFatal sync.Once

// kubectlRun is one kubectl command's outcome.
type kubectlRun struct {
	stdout, stderr string
	code           int
	msg            string
}

// getter is the RESTClientGetter kubectl's commands use: the cluster's
// read-only config behind a Guard that holds the caller's namespaces and
// masks every answer.
type getter struct {
	cfg       *rest.Config
	disc      discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
	namespace *string
	defaultNS string
	context   string
}

func (g *getter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }
func (g *getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.disc, nil
}
func (g *getter) ToRESTMapper() (meta.RESTMapper, error)        { return g.mapper, nil }
func (g *getter) ToRawKubeConfigLoader() clientcmd.ClientConfig { return loader{g} }

// loader answers kubectl's questions about the kubeconfig from the
// server's context: the namespace (-n, or the context's), never a file.
type loader struct{ g *getter }

func (l loader) RawConfig() (clientcmdapi.Config, error) {
	return clientcmdapi.Config{CurrentContext: l.g.context}, nil
}
func (l loader) ClientConfig() (*rest.Config, error) { return l.g.ToRESTConfig() }
func (l loader) Namespace() (string, bool, error) {
	if *l.g.namespace != "" {
		return *l.g.namespace, true, nil
	}
	return l.g.defaultNS, false, nil
}
func (l loader) ConfigAccess() clientcmd.ConfigAccess { return nil }

// kubectlTree builds the commands offered, each kubectl's own, wired to
// getter and writing to out and errOut.
func kubectlTree(g *getter, out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "kubectl", SilenceErrors: true, SilenceUsage: true}
	root.SetOut(out)
	root.SetErr(errOut)
	root.PersistentFlags().StringVarP(g.namespace, "namespace", "n", "", "")
	root.PersistentFlags().StringVar(&g.context, "context", "", "")
	f := cmdutil.NewFactory(g)
	s := genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	root.AddCommand(get.NewCmdGet("kubectl", f, s), describe.NewCmdDescribe("kubectl", f, s), logsCmd(f, s),
		events.NewCmdEvents(g, s), explain.NewCmdExplain("kubectl", f, s), apiresources.NewCmdAPIResources(g, s),
		apiresources.NewCmdAPIVersions(g, s), clusterinfo.NewCmdClusterInfo(g, s), top.NewCmdTop(f, s),
		authCmd(f, s), rolloutCmd(f, s))
	return root
}

// logsCmd is kubectl logs run without kubectl's interrupt handler, which
// ends the process with exit code 1 on SIGTERM, SIGINT, SIGHUP or SIGQUIT
// while it runs: here the server handles its signals (calls in flight
// finish with their audit lines). --follow is refused, so this is
// kubectl's sequential read of each log.
func logsCmd(f cmdutil.Factory, s genericiooptions.IOStreams) *cobra.Command {
	k := logs.NewCmdLogs(f, s)
	o := logs.NewLogsOptions(s)
	c := &cobra.Command{Use: k.Use, DisableFlagsInUseLine: true, Short: k.Short, Long: k.Long, Example: k.Example,
		Run: func(cmd *cobra.Command, args []string) {
			cmdutil.CheckErr(o.Complete(f, cmd, args))
			cmdutil.CheckErr(o.Validate())
			cmdutil.CheckErr(runLogs(cmd.Context(), o))
		}}
	o.AddFlags(c)
	return c
}

// containerOfRef is how kubectl logs --prefix names a log's container.
var containerOfRef = regexp.MustCompile(`spec\.(?:initContainers|containers|ephemeralContainers){(.+)}`)

func runLogs(ctx context.Context, o *logs.LogsOptions) error {
	var requests map[corev1.ObjectReference]rest.ResponseWrapper
	var err error
	if o.AllPods {
		requests, err = o.AllPodLogsForObject(o.RESTClientGetter, o.Object, o.Options, o.GetPodTimeout, o.AllContainers)
	} else {
		requests, err = o.LogsForObject(o.RESTClientGetter, o.Object, o.Options, o.GetPodTimeout, o.AllContainers)
	}
	if err != nil {
		return err
	}
	for ref, req := range requests {
		out := io.Writer(o.Out)
		if o.Prefix && ref.FieldPath != "" && ref.Name != "" {
			container := ""
			if m := containerOfRef.FindStringSubmatch(ref.FieldPath); len(m) == 2 {
				container = m[1]
			}
			out = prefixWriter{prefix: fmt.Sprintf("[pod/%s/%s] ", ref.Name, container), w: o.Out}
		}
		if err := o.ConsumeRequestFn(ctx, req, out); err != nil {
			if !o.IgnoreLogErrors {
				return err
			}
			fmt.Fprint(o.Out, "error: "+err.Error()+"\n")
		}
	}
	return nil
}

// prefixWriter writes each line (kubectl's reader writes whole lines)
// after its source, as kubectl logs --prefix does.
type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := p.w.Write(append([]byte(p.prefix), b...))
	return max(min(n-len(p.prefix), len(b)), 0), err
}

// rolloutCmd is kubectl rollout with status read once, as kubectl reads
// it with --watch=false, but without kubectl's interrupt handler (see
// logsCmd) and its informer, which retried the refused watch until
// --timeout.
func rolloutCmd(f cmdutil.Factory, s genericiooptions.IOStreams) *cobra.Command {
	r := rollout.NewCmdRollout("kubectl", f, s)
	for _, c := range r.Commands() {
		if c.Name() != "status" {
			continue
		}
		c.Run = func(cmd *cobra.Command, args []string) {
			o := rollout.NewRolloutStatusOptions(s)
			o.Watch = false
			o.Revision, _ = cmd.Flags().GetInt64("revision")
			o.LabelSelector, _ = cmd.Flags().GetString("selector")
			cmdutil.CheckErr(o.Complete(f, args))
			cmdutil.CheckErr(o.Validate())
			cmdutil.CheckErr(runRolloutStatus(cmd.Context(), o))
		}
	}
	return r
}

// runRolloutStatus is kubectl's RolloutStatusOptions.Run with --watch=false:
// each object is listed by name and its status printed once.
func runRolloutStatus(ctx context.Context, o *rollout.RolloutStatusOptions) error {
	r := o.Builder().
		WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		NamespaceParam(o.Namespace).DefaultNamespace().
		LabelSelectorParam(o.LabelSelector).
		ResourceTypeOrNameArgs(true, o.BuilderArgs...).
		ContinueOnError().
		Latest().
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	found := false
	err := r.Visit(func(info *resource.Info, _ error) error {
		found = true
		viewer, err := o.StatusViewerFn(info.ResourceMapping())
		if err != nil {
			return err
		}
		list, err := o.DynamicClient.Resource(info.Mapping.Resource).Namespace(info.Namespace).List(ctx,
			metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", info.Name).String()})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return fmt.Errorf("object has been deleted")
		}
		status, _, err := viewer.Status(&list.Items[0], o.Revision)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s", status)
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", o.Namespace)
	}
	return nil
}

// authCmd is kubectl auth with can-i's Run replaced: kubectl's own calls
// os.Exit(1) to answer "no", which would end this server.
func authCmd(f cmdutil.Factory, s genericiooptions.IOStreams) *cobra.Command {
	a := auth.NewCmdAuth(f, s)
	for _, c := range a.Commands() {
		if c.Name() != "can-i" {
			continue
		}
		c.Run = func(cmd *cobra.Command, args []string) {
			fl := cmd.Flags()
			o := &auth.CanIOptions{IOStreams: s}
			o.AllNamespaces, _ = fl.GetBool("all-namespaces")
			o.Quiet, _ = fl.GetBool("quiet")
			o.Subresource, _ = fl.GetString("subresource")
			o.List, _ = fl.GetBool("list")
			o.NoHeaders, _ = fl.GetBool("no-headers")
			cmdutil.CheckErr(o.Complete(f, args))
			cmdutil.CheckErr(o.Validate())
			if o.List {
				cmdutil.CheckErr(o.RunAccessList())
				return
			}
			allowed, err := o.RunAccessCheck()
			cmdutil.CheckErr(err)
			if !allowed {
				panic(fatal{code: 1}) // kubectl's exit code for "no"
			}
		}
	}
	return a
}

// commandPath is a command's path below the root: "get", "rollout status".
func commandPath(c *cobra.Command) string {
	var parts []string
	for ; c != nil && c.HasParent(); c = c.Parent() {
		parts = append([]string{c.Name()}, parts...)
	}
	return strings.Join(parts, " ")
}

// checkKubectl refuses, before anything runs, a command or flag that is
// not offered, naming it with why and what to use instead. It returns the
// command's path and its parsed flags.
func checkKubectl(words []string) (string, *pflag.FlagSet, error) {
	for _, w := range words {
		if w == "-v" || strings.HasPrefix(w, "-v=") {
			return "", nil, tool.Deniedf("the v flag is refused: it %s", refusedFlags["v"])
		}
		if name, ok := flagName(w); ok {
			if why, bad := refusedFlags[name]; bad && name != "watch" && name != "recursive" {
				return "", nil, tool.Deniedf("the %s flag is refused: it %s", name, why)
			}
		}
	}
	ns := ""
	root := kubectlTree(&getter{namespace: &ns}, io.Discard, io.Discard)
	sub, rest, err := root.Find(words)
	if err != nil || sub == root {
		verb := ""
		if len(rest) > 0 {
			verb = rest[0]
		} else if len(words) > 0 {
			verb = words[0]
		}
		return "", nil, tool.Argf("kubectl %s is not supported; offered: get, describe, logs, events, explain, api-resources, api-versions, cluster-info, top, auth can-i, rollout history, rollout status, version, config get-contexts, config current-context", verb)
	}
	path := commandPath(sub)
	// The command run must be the verb the policy was checked for (the
	// mapped tool): a flag before the verb that one reads as taking a
	// value and the other not ("-p get logs p") would make them differ.
	if _, fs, err := kubectlFlags(words); err == nil && len(fs.Args()) > 0 && fs.Args()[0] != strings.SplitN(path, " ", 2)[0] {
		return "", nil, tool.Deniedf("kubectl reads this command line as %s, and its policy was checked for %s: give the command first, then its flags (kubectl %s ...)", path, fs.Args()[0], path)
	}
	if why, ok := refusedCommands[path]; ok {
		return "", nil, tool.Deniedf("kubectl %s is refused: it %s", path, why)
	}
	allowed, ok := allowedFlags[path]
	if !ok {
		return "", nil, tool.Deniedf("kubectl %s is refused: it writes, and this server is read-only", path)
	}
	if err := sub.ParseFlags(rest); err != nil {
		return "", nil, tool.Argf("kubectl %s: %v (see kubectl %s --help)", path, err, path)
	}
	var bad error
	sub.Flags().Visit(func(f *pflag.Flag) {
		if bad != nil || f.Name == "namespace" || f.Name == "context" || f.Name == "help" {
			return
		}
		if slices.Contains(allowed, f.Name) && !(f.Name == "watch" && f.Value.String() != "false") {
			return
		}
		if why, ok := refusedFlags[f.Name]; ok {
			bad = tool.Deniedf("kubectl %s: the %s flag is refused: it %s", path, f.Name, why)
			return
		}
		if !slices.Contains(allowed, f.Name) {
			bad = tool.Deniedf("kubectl %s: the %s flag is not offered here; offered flags: %s", path, f.Name, offered(allowed))
		}
	})
	if bad != nil {
		return "", nil, bad
	}
	if err := checkOutput(sub.Flags()); err != nil {
		return "", nil, err
	}
	if f := sub.Flags().Lookup("raw"); f != nil && f.Changed && !slices.Contains(rawPaths, f.Value.String()) {
		return "", nil, tool.Deniedf("get --raw %s is refused: only %s are offered raw; ask for objects with get TYPE", f.Value.String(), strings.Join(rawPaths, ", "))
	}
	if path == "explain" {
		if f := sub.Flags().Lookup("output"); f != nil && f.Changed && f.Value.String() != "plaintext" {
			return "", nil, tool.Deniedf("explain -o %s is refused: only plaintext (from OpenAPI v3) is offered", f.Value.String())
		}
	}
	return path, sub.Flags(), nil
}

// checkOutput refuses output formats that read a local file (kubectl
// reads -o templatefile as go-template-file, and quotes what it read in
// its parse error), and Go templates that could loop past the data.
func checkOutput(fs *pflag.FlagSet) error {
	format, inline := "", ""
	if f := fs.Lookup("output"); f != nil && f.Changed {
		format, inline, _ = strings.Cut(f.Value.String(), "=")
	}
	if strings.Contains(format, "file") {
		return tool.Deniedf("-o %s is refused: it reads a local file; give the template inline (-o go-template=..., -o jsonpath=..., -o custom-columns=...)", format)
	}
	tpl := ""
	if f := fs.Lookup("template"); f != nil && f.Changed {
		tpl = f.Value.String()
	}
	switch format {
	case "", "go-template", "template":
		for _, text := range []string{inline, tpl} {
			if err := checkGoTemplate(text); err != nil {
				return err
			}
		}
	case "jsonpath", "jsonpath-as-json":
		for _, text := range []string{inline, tpl} {
			if err := checkJSONPath(text, false); err != nil {
				return err
			}
		}
	case "custom-columns":
		for _, col := range strings.Split(inline, ",") {
			if _, path, ok := strings.Cut(col, ":"); ok {
				if err := checkJSONPath(path, true); err != nil {
					return err
				}
			}
		}
	}
	if f := fs.Lookup("sort-by"); f != nil && f.Changed {
		// kubectl parses the path again for every comparison.
		if len(f.Value.String()) > maxSortBy {
			return tool.Deniedf("a --sort-by path over %d bytes is refused: kubectl parses it again for every comparison", maxSortBy)
		}
		return checkJSONPath(f.Value.String(), true)
	}
	return nil
}

// JSONPath bounds: kubectl builds every result of a path in memory before
// it prints one, and nothing stops it once it runs.
const (
	// maxUnionProduct bounds the product of a path's union sizes: a
	// union naming one field m times, n steps in a row, gives m^n
	// results of one object.
	maxUnionProduct = 64
	// maxDescents bounds a path's recursive descents (..): each one
	// after another walks every subtree again.
	maxDescents = 2
	// maxSortBy bounds a --sort-by path, parsed n log n times.
	maxSortBy = 1024
)

// checkJSONPath refuses a JSONPath whose results could grow far past the
// data: unions whose sizes multiply past maxUnionProduct, more than
// maxDescents recursive descents. relaxed paths are kubectl's for custom
// columns and --sort-by (.a.b without braces).
func checkJSONPath(text string, relaxed bool) error {
	if text == "" {
		return nil
	}
	if relaxed {
		var err error
		if text, err = get.RelaxedJSONPathExpression(text); err != nil {
			return nil // kubectl refuses it the same way
		}
	}
	p, err := jsonpath.Parse("output", text)
	if err != nil {
		return nil // kubectl refuses it the same way, before any request
	}
	product, descents := 1, 0
	var walk func(n jsonpath.Node)
	walk = func(n jsonpath.Node) {
		switch n := n.(type) {
		case *jsonpath.ListNode:
			for _, e := range n.Nodes {
				walk(e)
			}
		case *jsonpath.UnionNode:
			product = min(product*max(len(n.Nodes), 1), maxUnionProduct+1)
			for _, e := range n.Nodes {
				walk(e)
			}
		case *jsonpath.FilterNode:
			walk(n.Left)
			walk(n.Right)
		case *jsonpath.RecursiveNode:
			descents++
		}
	}
	walk(p.Root)
	if product > maxUnionProduct {
		return tool.Deniedf("the JSONPath %.60q is refused: its unions ([a,b]) multiply past %d results an object; name each field once", text, maxUnionProduct)
	}
	if descents > maxDescents {
		return tool.Deniedf("the JSONPath %.60q is refused: more than %d recursive descents (..) walk every subtree again and again", text, maxDescents)
	}
	return nil
}

// checkGoTemplate refuses a Go template that could run far longer, or
// build far larger strings, than the data it walks: kubectl runs it in
// this process and nothing can stop it once it runs (the call's deadline
// does not). A template may not call a template (itself included:
// kubectl's is named "output"), range over anything but a field of dot
// (kubectl's data holds no integers, so no range over a number), nor make
// dot anything but dot or a field of dot inside a range (the root inside
// a range repeats it). Functions that build strings (printf, print,
// println, js, html, urlquery) may not take what such a function built
// (js doubles every backslash: $a := js $a, forty times, is 2^40 bytes),
// nest more than two deep, use an argument twice (printf's %[1]s), pad
// past 999, nor, inside a range, take a value from outside it.
func checkGoTemplate(text string) error {
	_, err := goTemplateCopies(text)
	return err
}

// goTemplateCopies checks a Go template as checkGoTemplate does and
// counts the values its string building functions take: each may hold a
// copy of the whole answer.
func goTemplateCopies(text string) (int, error) {
	if text == "" {
		return 0, nil
	}
	t := parse.New("output")
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "", "", trees); err != nil {
		return 0, tool.Argf("the template does not parse: %v", err)
	}
	if len(trees) > 1 {
		return 0, tool.Deniedf("a template with define or block is refused: a template calling itself never ends; give one inline template")
	}
	c := &tplCheck{scopes: []map[string]tplValue{{"$": {}}}}
	err := c.list(t.Root, 0)
	return c.taken, err
}

// answerCost is the memory one byte of the API server's answer takes in
// a command with these (checked) flags, as measured on a 24 MB list under
// a 256 MiB limit (docs/benchmarks.md): kube.AnswerCost for names and
// tables, kube.DocumentCost for a whole document (-o json, yaml, a
// JSONPath or template over it), and more for what may copy the answer
// over and over: each custom column, each JSONPath action, each value a
// Go template's string functions take.
func answerCost(fs *pflag.FlagSet) int64 {
	format, inline := "", ""
	if f := fs.Lookup("output"); f != nil && f.Changed {
		format, inline, _ = strings.Cut(f.Value.String(), "=")
	}
	tpl := ""
	if f := fs.Lookup("template"); f != nil && f.Changed {
		tpl = f.Value.String()
	}
	switch format {
	case "json", "yaml":
		return kube.DocumentCost
	case "jsonpath", "jsonpath-as-json":
		return kube.DocumentCost + kube.JSONPathActionCost*int64(max(1, strings.Count(inline+tpl, "{")))
	case "custom-columns":
		return kube.DocumentCost + kube.ColumnCost*int64(strings.Count(inline, ",")+1)
	case "", "go-template", "template":
		if format == "" && tpl == "" {
			return kube.AnswerCost
		}
		copies, _ := goTemplateCopies(inline)
		n, _ := goTemplateCopies(tpl)
		return kube.DocumentCost + kube.TemplateCopyCost*int64(copies+n)
	}
	return kube.AnswerCost
}

// tplValue is what the check knows of a template value: whether a string
// building function made it, how deeply they nest in it, and the range
// depth it comes from.
type tplValue struct {
	built  bool
	growth int
	depth  int
}

type tplCheck struct {
	scopes []map[string]tplValue
	// taken counts the values string building functions take, all
	// calls together: each may copy the whole answer.
	taken int
}

// maxTaken bounds what string building functions take in one template:
// each value may be a copy of the whole answer, held until it ends.
const maxTaken = 32

// tplGrowing are the functions whose result can be larger than their
// arguments.
var tplGrowing = map[string]bool{"printf": true, "print": true, "println": true, "js": true, "html": true, "urlquery": true}

// tplPadding is a printf width or precision of four digits or more.
var tplPadding = regexp.MustCompile(`%[-+# 0]*(\d{4,}|[0-9]*\.\d{4,})`)

func (c *tplCheck) lookup(name string) tplValue {
	for i := len(c.scopes) - 1; i >= 0; i-- {
		if v, ok := c.scopes[i][name]; ok {
			return v
		}
	}
	return tplValue{built: true, growth: 2}
}

func (c *tplCheck) push() { c.scopes = append(c.scopes, map[string]tplValue{}) }
func (c *tplCheck) pop()  { c.scopes = c.scopes[:len(c.scopes)-1] }

func (c *tplCheck) list(l *parse.ListNode, depth int) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		if err := c.node(n, depth); err != nil {
			return err
		}
	}
	return nil
}

func (c *tplCheck) node(n parse.Node, depth int) error {
	switch n := n.(type) {
	case *parse.TemplateNode:
		return tool.Deniedf("{{template}} is refused in a template: a template calling itself never ends")
	case *parse.ActionNode:
		_, err := c.pipe(n.Pipe, depth, depth)
		return err
	case *parse.RangeNode:
		if !walkable(n.Pipe, false) {
			return tool.Deniedf("{{range %s}} is refused: a range goes over a field of dot ({{range .items}}, {{range .spec.containers}}); a number, a variable or the root inside a range could loop far past the data", n.Pipe)
		}
		c.push()
		defer c.pop()
		if _, err := c.pipe(n.Pipe, depth, depth+1); err != nil {
			return err
		}
		if err := c.list(n.List, depth+1); err != nil {
			return err
		}
		return c.list(n.ElseList, depth)
	case *parse.WithNode, *parse.IfNode:
		var b *parse.BranchNode
		if w, ok := n.(*parse.WithNode); ok {
			b = &w.BranchNode
			if depth > 0 && !walkable(b.Pipe, true) {
				return tool.Deniedf("{{with %s}} inside a range is refused: inside a range, dot may become a field of dot only", b.Pipe)
			}
		} else {
			b = &n.(*parse.IfNode).BranchNode
		}
		c.push()
		defer c.pop()
		v, err := c.pipe(b.Pipe, depth, depth)
		if err != nil {
			return err
		}
		if _, with := n.(*parse.WithNode); with && v.built {
			return tool.Deniedf("{{with %s}} is refused: dot may not become a string a function built", b.Pipe)
		}
		if err := c.list(b.List, depth); err != nil {
			return err
		}
		return c.list(b.ElseList, depth)
	case *parse.ListNode:
		return c.list(n, depth)
	}
	return nil
}

// pipe checks a pipeline evaluated at range depth depth and declares its
// variables at declDepth.
func (c *tplCheck) pipe(p *parse.PipeNode, depth, declDepth int) (tplValue, error) {
	var v tplValue
	if p == nil {
		return v, nil
	}
	for i, cmd := range p.Cmds {
		prev := v
		var err error
		if v, err = c.command(cmd, depth, prev, i > 0); err != nil {
			return v, err
		}
	}
	for _, d := range p.Decl {
		name := d.Ident[0]
		if p.IsAssign {
			if v.built {
				return v, tool.Deniedf("{{%s}} is refused: a variable may not be given again a string a function built (in a range it would grow each time)", p)
			}
			old := c.lookup(name)
			v.built, v.growth = old.built || v.built, max(old.growth, v.growth)
		}
		// A range's variables are its items; any other holds what it
		// was given, from wherever that came.
		at := v.depth
		if declDepth > depth {
			at = declDepth
		}
		c.scopes[len(c.scopes)-1][name] = tplValue{built: v.built, growth: v.growth, depth: at}
	}
	return v, nil
}

// command checks one command of a pipeline; prev is what the command
// before it gave (its last argument) when piped.
func (c *tplCheck) command(cmd *parse.CommandNode, depth int, prev tplValue, piped bool) (tplValue, error) {
	fn := ""
	args := cmd.Args
	if id, ok := args[0].(*parse.IdentifierNode); ok {
		fn, args = id.Ident, args[1:]
	}
	if fn == "call" {
		return tplValue{}, tool.Deniedf("call is refused in a template")
	}
	in := tplValue{depth: depth}
	if piped {
		in = prev
	}
	for _, a := range args {
		v, err := c.arg(a, depth)
		if err != nil {
			return v, err
		}
		in.built, in.growth, in.depth = in.built || v.built, max(in.growth, v.growth), min(in.depth, v.depth)
	}
	if !tplGrowing[fn] {
		return in, nil
	}
	if in.built {
		return in, tool.Deniedf("%s of a string a function built is refused: feeding one back into another (js doubles every backslash) grows it exponentially", fn)
	}
	if in.growth >= 2 {
		return in, tool.Deniedf("%s is refused here: string building functions nest at most two deep", fn)
	}
	if depth > 0 && in.depth < depth {
		return in, tool.Deniedf("%s of a value from outside the range is refused inside it: the range would build it again for every item", fn)
	}
	for _, a := range args {
		switch a.(type) {
		case *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		default:
			c.taken++
		}
	}
	if piped {
		c.taken++
	}
	if c.taken > maxTaken {
		return in, tool.Deniedf("the template's string building functions take more than %d values in all: each may be a copy of the whole answer", maxTaken)
	}
	if fn == "printf" {
		var f *parse.StringNode
		ok := len(args) > 0
		if ok {
			f, ok = args[0].(*parse.StringNode)
		}
		if !ok {
			return in, tool.Deniedf("printf is refused without a literal format")
		}
		if strings.ContainsAny(f.Text, "[*") || tplPadding.MatchString(f.Text) {
			return in, tool.Deniedf("printf %s is refused: an argument index (%%[1]s), a width from an argument (*) or padding past 999 builds strings far past the data", f.Quoted)
		}
	}
	in.growth++
	// What a function builds from values that stay within the data is
	// still only used where it is built.
	in.built = true
	return in, nil
}

func (c *tplCheck) arg(a parse.Node, depth int) (tplValue, error) {
	switch a := a.(type) {
	case *parse.VariableNode:
		return c.lookup(a.Ident[0]), nil
	case *parse.PipeNode:
		return c.pipe(a, depth, depth)
	case *parse.ChainNode:
		return c.arg(a.Node, depth)
	}
	return tplValue{depth: depth}, nil
}

// walkable reports whether pipe is one field of dot (.a.b), or dot
// itself when dot is allowed.
func walkable(pipe *parse.PipeNode, dot bool) bool {
	if pipe == nil || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
		return false
	}
	switch pipe.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return true
	case *parse.DotNode:
		return dot
	}
	return false
}

// flagName returns the long name of a flag word (--name, --name=v), or the
// refused long name a short one stands for.
func flagName(w string) (string, bool) {
	if strings.HasPrefix(w, "--") {
		name, _, _ := strings.Cut(w[2:], "=")
		return name, name != ""
	}
	return "", false
}

func offered(flags []string) string {
	if len(flags) == 0 {
		return "none but -n and --context"
	}
	out := append([]string(nil), flags...)
	sort.Strings(out)
	return "--" + strings.Join(out, ", --") + ", -n, --context"
}

// runKubectl runs words (already checked) with kubectl's own code against
// cluster cl behind guard. kubectl's fatal errors come back as a message
// and exit code instead of ending the process.
func runKubectl(ctx context.Context, cl *kube.Cluster, guard *kube.Guard, words []string) (run kubectlRun, err error) {
	setFatal.Do(func() {
		cmdutil.BehaviorOnFatal(func(msg string, code int) { panic(fatal{msg: msg, code: code}) })
		// kubectl's sorter ends the process through klog.Fatalf/Exitf on
		// a --sort-by field it cannot sort (klog calls OsExit after
		// releasing its lock, so a panic here unwinds cleanly).
		klog.OsExit = func(code int) {
			panic(fatal{msg: "error: kubectl could not complete this command (it would have ended the process); with --sort-by, give a field of a sortable type such as .metadata.name", code: code})
		}
	})
	cfg := rest.CopyConfig(cl.Config)
	cfg.Wrap(guard.Wrap)
	cfg.Timeout = kubectlTimeout
	// JSON both ways: the Guard masks answers and reads access reviews,
	// neither of which it could do in protobuf.
	cfg.ContentType, cfg.AcceptContentTypes = "application/json", "application/json"
	ns := ""
	var out, errOut limitedBuffer
	// kubectl warns of an ambiguous short name on stderr, as here.
	warn := func(msg string) { fmt.Fprintf(&errOut, "Warning: %s\n", msg) }
	g := &getter{cfg: cfg, disc: cl.Discovery, namespace: &ns, defaultNS: cl.Namespace, context: cl.Name,
		mapper: restmapper.NewShortcutExpander(cl.Mapper, cl.Discovery, warn)}
	root := kubectlTree(g, &out, &errOut)
	root.SetArgs(words)
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				err = fmt.Errorf("kubectl %s failed: %v", strings.Join(words, " "), r)
				return
			}
			run = kubectlRun{stdout: out.String(), stderr: errOut.String(), code: f.code, msg: f.msg}
		}
	}()
	if err := root.ExecuteContext(ctx); err != nil {
		return kubectlRun{stdout: out.String(), stderr: errOut.String(), code: 1, msg: "error: " + err.Error()}, nil
	}
	return kubectlRun{stdout: out.String(), stderr: errOut.String()}, nil
}

// errOutputCut is what a write past maxOutput returns.
var errOutputCut = fmt.Errorf("the output is over %d MiB", maxOutput>>20)

// limitedBuffer keeps the first maxOutput bytes written to it; a write
// past them fails.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - b.buf.Len(); len(p) > room {
		// A failed write stops kubectl's printers (a template printing
		// the root for every item) instead of letting them format on.
		b.buf.Write(p[:max(room, 0)])
		b.cut = true
		return max(room, 0), errOutputCut
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return b.buf.String() + fmt.Sprintf("\n(output cut at %d MiB: narrow the command)\n", maxOutput>>20)
	}
	return b.buf.String()
}

// isScopeMessage tells a Guard's scope refusal inside kubectl's message
// (kubectl flattens the error to text).
func isScopeMessage(msg string) bool { return strings.Contains(msg, kube.ErrOutOfScope.Error()) }
