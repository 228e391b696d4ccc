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
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	answers "github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/readonly"
	"github.com/opsmcp/opsmcp/shared/tool"
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
	// Inside the read-only check, so its refusals stay its own: a failure
	// to reach the API server is named as the API server's.
	host := c.Host
	// Every answer read by a call is held against its memory (Counted).
	c.Wrap(answers.Counted)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return tool.UpstreamTransport(Upstream, host, rt) })
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return readonly.Transport(rt, selfReviewPaths...) })
	return c
}

// Upstream is how errors and /readyz name the API server.
const Upstream = "kube-apiserver"

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

// Usable lists the contexts tools may use, the default one first.
func (c *Clusters) Usable() []string {
	out := []string{c.current}
	for _, a := range c.opts.AllowedContexts {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
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
		// Discovery fails the same way for a name the cluster does not
		// serve and for an API server it cannot reach: ask the API server
		// directly before blaming the name.
		if uerr := c.reachable(); uerr != nil {
			return Resource{}, uerr
		}
		return Resource{}, fmt.Errorf("unknown resource type %q (see k8s_api_resources for the names this cluster serves)", name)
	}
	return r, nil
}

// reachable returns the upstream error of an API server that does not
// answer /version (down, refusing, slow, refusing the server's
// credentials), or nil.
func (c *Cluster) reachable() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Typed.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error()
	if err == nil {
		return nil
	}
	if tool.IsUpstream(err) {
		return err
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return tool.UpstreamStatus(Upstream, c.Config.Host, int(se.Status().Code), err)
	}
	return tool.Upstream(Upstream, c.Config.Host, err)
}

// dangerousSubresources are core subresources on which every verb, get
// included, is a write right: exec, attach and port forwarding open a
// session (over a WebSocket GET since Kubernetes 1.30), and a GET through
// a proxy runs the workload's or the kubelet's own code.
var dangerousSubresources = []string{"pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy", "nodes/proxy"}

// readVerbs are the verbs that only read, on any other resource.
var readVerbs = map[string]bool{"get": true, "list": true, "watch": true}

// Rights is what the self-reviews found about the identity.
type Rights struct {
	// Writes lists each write right as "verb resources in namespace".
	Writes []string
	// Incomplete names the namespaces whose rules the API server could
	// not list in full (a webhook authorizer): nothing proves the
	// identity read-only there.
	Incomplete []string
}

// WriteRights asks the API server, namespace by namespace, what this
// identity may do, and returns every right that is not a read: a verb
// other than get, list or watch on any resource, and any verb at all on a
// dangerous subresource (pods/exec, pods/attach, port forwarding, pods,
// services and nodes proxy), also through "*". Cluster-wide rules show in
// every namespace's review. Where the rules review is incomplete, access
// reviews probe the dangerous subresources.
func (c *Cluster) WriteRights(ctx context.Context, namespaces []string) (Rights, error) {
	var r Rights
	seen := map[string]bool{}
	add := func(w string) {
		if !seen[w] {
			seen[w] = true
			r.Writes = append(r.Writes, w)
		}
	}
	for _, ns := range namespaces {
		review := &authzv1.SelfSubjectRulesReview{Spec: authzv1.SelfSubjectRulesReviewSpec{Namespace: ns}}
		res, err := c.Typed.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return r, fmt.Errorf("ask the API server what this identity may do in namespace %s: %w", ns, err)
		}
		for _, w := range ruleWrites(res.Status.ResourceRules) {
			add(w + " (in " + ns + ")")
		}
		if !res.Status.Incomplete {
			continue
		}
		r.Incomplete = append(r.Incomplete, ns)
		for _, sub := range dangerousSubresources {
			resource, subresource, _ := strings.Cut(sub, "/")
			for _, verb := range []string{"get", "create"} {
				ok, err := c.allowed(ctx, ns, verb, resource, subresource)
				if err != nil {
					return r, err
				}
				if ok {
					add(fmt.Sprintf("%s %s (in %s)", verb, sub, ns))
				}
			}
		}
	}
	return r, nil
}

// allowed asks whether this identity may do verb on resource/subresource
// in namespace ns.
func (c *Cluster) allowed(ctx context.Context, ns, verb, resource, subresource string) (bool, error) {
	review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
		Namespace: ns, Verb: verb, Resource: resource, Subresource: subresource}}}
	res, err := c.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("ask the API server whether this identity may %s %s/%s in %s: %w", verb, resource, subresource, ns, err)
	}
	return res.Status.Allowed, nil
}

// ruleWrites returns the write rights among rules, one per rule as
// "verbs resources", with the dangerous subresources it covers.
func ruleWrites(rules []authzv1.ResourceRule) []string {
	var writes []string
	for _, r := range rules {
		if selfReviewOnly(r.Resources) {
			continue // every identity may ask what it may do
		}
		risky := dangerousIn(r)
		var verbs []string
		for _, v := range r.Verbs {
			if !readVerbs[v] || len(risky) > 0 {
				verbs = append(verbs, v)
			}
		}
		if len(verbs) == 0 {
			continue
		}
		w := strings.Join(verbs, ",") + " " + strings.Join(r.Resources, ",")
		if len(risky) > 0 {
			w += " (" + strings.Join(risky, ", ") + ")"
		}
		writes = append(writes, w)
	}
	return writes
}

// dangerousIn returns the dangerous subresources a rule covers, by name or
// through a wildcard ("*", "*/exec", "pods/*").
func dangerousIn(r authzv1.ResourceRule) []string {
	core := len(r.APIGroups) == 0
	for _, g := range r.APIGroups {
		if g == "" || g == "*" {
			core = true
		}
	}
	if !core {
		return nil
	}
	var out []string
	for _, sub := range dangerousSubresources {
		resource, subresource, _ := strings.Cut(sub, "/")
		for _, res := range r.Resources {
			if res == "*" || res == sub || res == "*/"+subresource || res == resource+"/*" {
				out = append(out, sub)
				break
			}
		}
	}
	return out
}

// ServedNamespaces returns the namespaces this server may read in the
// cluster: those matching patterns (glob patterns of a policy's namespace
// scopes), or every namespace when all is true, plus the context's
// default one. A pattern without glob characters counts even when no
// such namespace exists yet.
func (c *Cluster) ServedNamespaces(ctx context.Context, patterns []string, all bool) ([]string, error) {
	set := map[string]bool{c.Namespace: true}
	literal := true
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?[\\") {
			literal = false
			continue
		}
		set[p] = true
	}
	if all || !literal {
		list, err := c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list the cluster's namespaces: %w", err)
		}
		for _, ns := range list.Items {
			if all || matchAny(patterns, ns.Name) {
				set[ns.Name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out, nil
}

func matchAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, v); ok {
			return true
		}
	}
	return false
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
