// Command mcp-kubernetes is a read-only MCP server for Kubernetes clusters.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/tools"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
)

var version = "dev"

func main() {
	var (
		o               kube.Options
		requireReadOnly bool
	)
	spec := serve.Spec{
		Name: "mcp-kubernetes", Version: version, Title: "read-only Kubernetes MCP server",
		Instructions: "Read-only access to Kubernetes. Tools are prefixed k8s_. For kubectl-style questions use k8s_kubectl with a read-only command line. Secret values are masked.",
	}
	serve.Main(spec, 8081, func(fs *pflag.FlagSet) {
		fs.StringVar(&o.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
		fs.StringVar(&o.Context, "context", "", "kubeconfig context (default: its current context)")
		fs.StringSliceVar(&o.AllowedContexts, "allowed-contexts", nil, "further contexts tools may select (repeatable)")
		fs.BoolVar(&o.InCluster, "in-cluster", false, "use the pod's service account instead of a kubeconfig")
		fs.Float32Var(&o.QPS, "kube-qps", 50, "requests per second to the API server")
		fs.IntVar(&o.Burst, "kube-burst", 100, "request burst to the API server")
		fs.BoolVar(&requireReadOnly, "require-read-only-identity", false, "refuse to start if the identity may write")
	}, func(ctx context.Context, log *slog.Logger) ([]tool.Tool, func(context.Context) error, error) {
		clusters, err := kube.New(o)
		if err != nil {
			return nil, nil, err
		}
		cl, err := clusters.Get("")
		if err != nil {
			return nil, nil, err
		}
		writes, err := cl.Writes(ctx, cl.Namespace)
		switch {
		case err != nil:
			log.Warn("could not check whether the identity is read-only", "err", err)
			if requireReadOnly {
				return nil, nil, fmt.Errorf("--require-read-only-identity: %w", err)
			}
		case len(writes) > 0 && requireReadOnly:
			return nil, nil, fmt.Errorf("--require-read-only-identity: the identity may write (%s); bind it to a get/list/watch role", strings.Join(writes, "; "))
		case len(writes) > 0:
			log.Warn("the identity may write; this server never will, but a read-only identity is safer", "namespace", cl.Namespace, "writes", strings.Join(writes, "; "))
		default:
			log.Info("identity is read-only", "context", cl.Name, "namespace", cl.Namespace)
		}
		ready := func(ctx context.Context) error {
			_, err := cl.Typed.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
			return err
		}
		s := &tools.Server{Clusters: clusters}
		return s.Tools(), ready, nil
	})
}
