// Package kube connects to Kubernetes API servers, read-only by
// construction: every request goes through a transport that lets only GET
// through (plus the self-review POSTs that ask what the identity may do,
// which the API server answers without storing anything). There is no code
// path for create, update, patch, delete, exec, attach or port-forward.
package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

// ErrWriteRefused is returned by the read-only transport for any request
// that is not a read.
var ErrWriteRefused = readonly.ErrRefused

// selfReviewPaths are the only POSTs allowed: they ask the API server what
// this identity may do and persist nothing.
var selfReviewPaths = []string{
	"/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
	"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
}

// ReadOnly wraps a rest.Config so that every client made from it is read-only.
func ReadOnly(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return readonly.Transport(rt, selfReviewPaths...) })
	return c
}

// Options select the cluster connection.
type Options struct {
	Kubeconfig string
	// Context is the default context ("" = the kubeconfig's current one).
	Context string
	// AllowedContexts limits which contexts tools may use (nil: only the
	// default one).
	AllowedContexts []string
	// InCluster uses the pod's service account instead of a kubeconfig.
	InCluster bool
	QPS       float32
	Burst     int
}

// Clusters hands out a Cluster per allowed context, made on first use.
type Clusters struct {
	opts     Options
	raw      clientcmd.ClientConfig
	current  string
	mu       sync.Mutex
	clusters map[string]*Cluster
}

// ContextInfo describes a context without credentials.
type ContextInfo struct {
	Name      string `json:"name"`
	Cluster   string `json:"cluster"`
	Server    string `json:"server"`
	Namespace string `json:"namespace,omitempty"`
	User      string `json:"user,omitempty"`
	Current   bool   `json:"current"`
	Allowed   bool   `json:"allowed"`
}

// InClusterContext is the context name used with in-cluster config.
const InClusterContext = "in-cluster"

// New loads the kubeconfig (or in-cluster config) and checks the contexts.
func New(o Options) (*Clusters, error) {
	c := &Clusters{opts: o, clusters: map[string]*Cluster{}}
	if o.InCluster {
		c.current = InClusterContext
		return c, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	c.raw = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	rc, err := c.raw.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	c.current = rc.CurrentContext
	if o.Context != "" {
		c.current = o.Context
	}
	if _, ok := rc.Contexts[c.current]; !ok {
		return nil, fmt.Errorf("kubeconfig has no context %q: pick one with --context (it has: %s)", c.current, strings.Join(contextNames(rc.Contexts), ", "))
	}
	for _, a := range o.AllowedContexts {
		if _, ok := rc.Contexts[a]; !ok {
			return nil, fmt.Errorf("--allowed-contexts names %q, which the kubeconfig does not have", a)
		}
	}
	return c, nil
}

func contextNames[V any](m map[string]V) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Current is the default context's name.
func (c *Clusters) Current() string { return c.current }

// Allowed reports whether tools may use context name.
func (c *Clusters) Allowed(name string) bool {
	return name == c.current || slices.Contains(c.opts.AllowedContexts, name)
}

// Contexts lists the kubeconfig's contexts with their server URLs, never
// their credentials.
func (c *Clusters) Contexts() ([]ContextInfo, error) {
	if c.opts.InCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
		return []ContextInfo{{Name: InClusterContext, Server: cfg.Host, Current: true, Allowed: true}}, nil
	}
	rc, err := c.raw.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	var out []ContextInfo
	for _, name := range contextNames(rc.Contexts) {
		ctx := rc.Contexts[name]
		info := ContextInfo{Name: name, Cluster: ctx.Cluster, Namespace: ctx.Namespace, User: ctx.AuthInfo,
			Current: name == c.current, Allowed: c.Allowed(name)}
		if cl, ok := rc.Clusters[ctx.Cluster]; ok {
			info.Server = cl.Server
		}
		out = append(out, info)
	}
	return out, nil
}

// Get returns the cluster of context name ("" = the default).
func (c *Clusters) Get(name string) (*Cluster, error) {
	if name == "" {
		name = c.current
	}
	if !c.Allowed(name) {
		return nil, fmt.Errorf("context %q is not allowed; allowed: %s", name, strings.Join(append([]string{c.current}, c.opts.AllowedContexts...), ", "))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clusters[name]; ok {
		return cl, nil
	}
	var cfg *rest.Config
	ns := "default"
	var err error
	if c.opts.InCluster {
		cfg, err = rest.InClusterConfig()
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if c.opts.Kubeconfig != "" {
			rules.ExplicitPath = c.opts.Kubeconfig
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: name})
		cfg, err = cc.ClientConfig()
		if err == nil {
			if n, _, nerr := cc.Namespace(); nerr == nil && n != "" {
				ns = n
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("client config for context %s: %w", name, err)
	}
	if c.opts.QPS > 0 {
		cfg.QPS, cfg.Burst = c.opts.QPS, c.opts.Burst
	}
	cl, err := NewCluster(name, ns, cfg)
	if err != nil {
		return nil, err
	}
	c.clusters[name] = cl
	return cl, nil
}

// Cluster is a read-only connection to one API server.
type Cluster struct {
	Name      string
	Namespace string // default namespace of the context
	Typed     kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.CachedDiscoveryInterface
	Mapper    *restmapper.DeferredDiscoveryRESTMapper
	Config    *rest.Config
}

// NewCluster makes the clients for cfg, all through the read-only transport.
func NewCluster(name, namespace string, cfg *rest.Config) (*Cluster, error) {
	cfg = ReadOnly(cfg)
	cfg.UserAgent = "mcp-kubernetes (read-only)"
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("clientset for %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", name, err)
	}
	disc := memory.NewMemCacheClient(typed.Discovery())
	return &Cluster{
		Name: name, Namespace: namespace, Typed: typed, Dynamic: dyn, Discovery: disc,
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(disc), Config: cfg,
	}, nil
}

// Resource is a resolved resource type.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// Resolve maps what a user types (po, pods, pod, deploy, deployments.apps,
// a CRD's plural, singular or short name) to a resource type.
func (c *Cluster) Resolve(name string) (Resource, error) {
	if name == "" {
		return Resource{}, errors.New("no resource type given: e.g. pods, deploy, svc, events, or a CRD's name")
	}
	lookup := func() (Resource, error) {
		expander := restmapper.NewShortcutExpander(c.Mapper, c.Discovery, func(string) {})
		gvr, err := expander.ResourceFor(schema.ParseGroupResource(strings.ToLower(name)).WithVersion(""))
		if err != nil {
			return Resource{}, err
		}
		gvk, err := expander.KindFor(gvr)
		if err != nil {
			return Resource{}, err
		}
		mapping, err := expander.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return Resource{}, err
		}
		return Resource{GVR: mapping.Resource, Kind: gvk.Kind, Namespaced: mapping.Scope.Name() == "namespace"}, nil
	}
	r, err := lookup()
	if err != nil {
		// A CRD made since the last discovery: refresh once.
		c.Mapper.Reset()
		r, err = lookup()
	}
	if err != nil {
		return Resource{}, fmt.Errorf("unknown resource type %q (see k8s_api_resources for the names this cluster serves)", name)
	}
	return r, nil
}

// Writes lists the write verbs the rules review grants this identity in
// namespace; empty means the identity is read-only there.
func (c *Cluster) Writes(ctx context.Context, namespace string) ([]string, error) {
	review := &authzv1.SelfSubjectRulesReview{Spec: authzv1.SelfSubjectRulesReviewSpec{Namespace: namespace}}
	res, err := c.Typed.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("ask the API server what this identity may do: %w", err)
	}
	var writes []string
	for _, r := range res.Status.ResourceRules {
		if selfReviewOnly(r.Resources) {
			continue // every identity may ask what it may do
		}
		for _, v := range r.Verbs {
			switch v {
			case "get", "list", "watch":
			default:
				writes = append(writes, fmt.Sprintf("%s %s", v, strings.Join(r.Resources, ",")))
			}
		}
	}
	return writes, nil
}

func selfReviewOnly(resources []string) bool {
	for _, r := range resources {
		switch r {
		case "selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews":
		default:
			return false
		}
	}
	return len(resources) > 0
}
