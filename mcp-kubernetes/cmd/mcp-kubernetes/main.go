// Command mcp-kubernetes is a read-only MCP server for Kubernetes clusters.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/tools"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
)

var version = "dev"

func main() {
	var (
		o               kube.Options
		requireReadOnly bool
		policyFlag      *pflag.FlagSet
	)
	spec := serve.Spec{
		Name: "mcp-kubernetes", Version: version, Title: "read-only Kubernetes MCP server",
		Upstream:   kube.Upstream,
		MemoryCost: kube.AnswerCost, MemoryCosts: kube.MemoryCosts, MemoryNarrow: kube.MemoryNarrow,
		Instructions: "Read-only access to Kubernetes. Tools are prefixed k8s_. For kubectl-style questions use k8s_kubectl with a read-only command line. Secret values are masked.",
		Prompts:      tools.Prompts(),
		Tools:        func() []tool.Tool { return (&tools.Server{}).Tools() },
	}
	serve.Main(spec, 8081, func(fs *pflag.FlagSet) {
		fs.StringVar(&o.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
		fs.StringVar(&o.Context, "context", "", "kubeconfig context (default: its current context)")
		fs.StringSliceVar(&o.AllowedContexts, "allowed-contexts", nil, "further contexts tools may select (repeatable)")
		fs.BoolVar(&o.InCluster, "in-cluster", false, "use the pod's service account instead of a kubeconfig")
		// A ceiling against a runaway loop, not a share: one server serves
		// many users, whom the API server's priority and fairness and our
		// per-user --rate-limit share out. The old 50/100 (sized for one
		// kubectl user) held 200 sessions to 57 calls/s at p50 4 s, against
		// 229 calls/s at p50 0.7 s without it (docs/benchmarks.md, Load).
		fs.Float32Var(&o.QPS, "kube-qps", 1000, "client-side ceiling on requests per second to the API server (the API server's priority and fairness and --rate-limit are the limits meant to bind)")
		fs.IntVar(&o.Burst, "kube-burst", 2000, "client-side request burst to the API server")
		fs.BoolVar(&requireReadOnly, "require-read-only-identity", false, "refuse to start if the identity may write (checked in every served namespace of every allowed context)")
		policyFlag = fs
	}, func(ctx context.Context, log *slog.Logger) ([]tool.Tool, func(context.Context) error, error) {
		clusters, err := kube.New(o)
		if err != nil {
			return nil, nil, err
		}
		cl, err := clusters.Get("")
		if err != nil {
			return nil, nil, err
		}
		// The shared --policy flag decides which namespaces will be served.
		policyFile := ""
		if f := policyFlag.Lookup("policy"); f != nil {
			policyFile = f.Value.String()
		}
		patterns, all, err := policyNamespaces(policyFile)
		if err != nil {
			return nil, nil, err
		}
		if requireReadOnly {
			if err := checkIdentity(ctx, log, clusters, patterns, all, true); err != nil {
				return nil, nil, err
			}
		} else {
			// Only a warning is at stake: a cluster with many namespaces
			// must not hold up the start.
			// Without --require-read-only-identity it only logs.
			go func() { _ = checkIdentity(context.WithoutCancel(ctx), log, clusters, patterns, all, false) }()
		}
		ready := func(ctx context.Context) error {
			_, err := cl.Typed.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
			return err
		}
		s := &tools.Server{Clusters: clusters}
		return s.Tools(), ready, nil
	})
}

// checkIdentity asks each context the server may use what its identity
// may do in every namespace the server will serve, and refuses to start
// (with --require-read-only-identity) or warns when it may write.
func checkIdentity(ctx context.Context, log *slog.Logger, clusters *kube.Clusters, patterns []string, all, require bool) error {
	fail := func(err error) error {
		if require {
			return fmt.Errorf("--require-read-only-identity: %w", err)
		}
		log.Warn("could not check whether the identity is read-only", "err", err)
		return nil
	}
	for _, name := range clusters.Usable() {
		cl, err := clusters.Get(name)
		if err != nil {
			return fail(err)
		}
		namespaces, err := cl.ServedNamespaces(ctx, patterns, all)
		if err != nil {
			return fail(fmt.Errorf("context %s: %w", name, err))
		}
		rights, err := cl.WriteRights(ctx, namespaces)
		if err != nil {
			return fail(fmt.Errorf("context %s: %w", name, err))
		}
		switch {
		case len(rights.Writes) > 0 && require:
			return fmt.Errorf("--require-read-only-identity: the identity of context %s may write (%s); bind it to get/list/watch on named resources (no exec, attach, port forwarding or proxy subresources, which \"*\" includes)", name, strings.Join(rights.Writes, "; "))
		case len(rights.Writes) > 0:
			log.Warn("the identity may write; this server never will, but a read-only identity is safer", "context", name, "writes", strings.Join(rights.Writes, "; "))
		case len(rights.Incomplete) > 0 && require:
			return fmt.Errorf("--require-read-only-identity: the API server of context %s could not list every rule of the identity in %s (a webhook authorizer), so nothing proves it read-only", name, strings.Join(rights.Incomplete, ", "))
		case len(rights.Incomplete) > 0:
			log.Warn("the identity's rules are only partly known", "context", name, "namespaces", strings.Join(rights.Incomplete, ", "))
		default:
			log.Info("identity is read-only", "context", name, "namespaces", len(namespaces))
		}
	}
	return nil
}

// policyNamespaces returns the namespace patterns the policy file lets any
// role read with a Kubernetes tool, or all=true when some role (or no
// policy) leaves namespaces unrestricted.
func policyNamespaces(file string) (patterns []string, all bool, err error) {
	pol, err := policy.Load(file)
	if err != nil {
		return nil, false, err
	}
	if pol.Open {
		return nil, true, nil
	}
	k8sTools := (&tools.Server{}).Tools()
	for _, r := range pol.Roles {
		if !slices.ContainsFunc(k8sTools, func(t tool.Tool) bool { return matches(r.Tools, t.Name) }) {
			continue
		}
		p, ok := r.Scopes["namespaces"]
		if !ok {
			return nil, true, nil
		}
		patterns = append(patterns, p...)
	}
	return patterns, false, nil
}

func matches(patterns []string, v string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, v); ok {
			return true
		}
	}
	return false
}
