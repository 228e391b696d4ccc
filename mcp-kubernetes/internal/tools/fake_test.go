package tools

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// fakeAPI is a minimal API server for unit tests: discovery for a few core,
// apps and RBAC types, an empty answer for any read, and a record of every
// request, so a test can prove an attack sent nothing.
type fakeAPI struct {
	srv *httptest.Server
	// logs is what a pod log request returns.
	logs string
	// deployment, when set, is what a GET of one deployment returns.
	deployment string
	// table, when set, is what a request for a server-side table returns.
	table string

	mu   sync.Mutex
	reqs []string
}

func discoveryDoc(path string) (string, bool) {
	res := func(gv string, rs ...string) string {
		var items []string
		for _, r := range rs {
			name, rest, _ := strings.Cut(r, ":")
			kind, rest, _ := strings.Cut(rest, ":")
			namespaced, short, _ := strings.Cut(rest, ":")
			shorts := "[]"
			if short != "" {
				shorts = `["` + short + `"]`
			}
			items = append(items, fmt.Sprintf(`{"name":%q,"singularName":"","namespaced":%s,"kind":%q,"verbs":["get","list","watch"],"shortNames":%s}`,
				name, namespaced, kind, shorts))
		}
		return fmt.Sprintf(`{"kind":"APIResourceList","apiVersion":"v1","groupVersion":%q,"resources":[%s]}`, gv, strings.Join(items, ","))
	}
	switch path {
	case "/api":
		return `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}`, true
	case "/apis":
		g := func(name string) string {
			return fmt.Sprintf(`{"name":%q,"versions":[{"groupVersion":"%s/v1","version":"v1"}],"preferredVersion":{"groupVersion":"%s/v1","version":"v1"}}`, name, name, name)
		}
		return fmt.Sprintf(`{"kind":"APIGroupList","apiVersion":"v1","groups":[%s,%s,%s]}`, g("apps"), g("rbac.authorization.k8s.io"), g("certificates.k8s.io")), true
	case "/api/v1":
		return res("v1", "pods:Pod:true:po", "pods/log:Pod:true", "pods/exec:PodExecOptions:true", "pods/proxy:PodProxyOptions:true",
			"namespaces:Namespace:false:ns", "nodes:Node:false:no", "nodes/proxy:NodeProxyOptions:false", "secrets:Secret:true",
			"configmaps:ConfigMap:true:cm", "events:Event:true:ev", "services:Service:true:svc", "services/proxy:ServiceProxyOptions:true"), true
	case "/apis/apps/v1":
		return res("apps/v1", "deployments:Deployment:true:deploy"), true
	case "/apis/rbac.authorization.k8s.io/v1":
		return res("rbac.authorization.k8s.io/v1", "roles:Role:true", "clusterroles:ClusterRole:false"), true
	case "/apis/certificates.k8s.io/v1":
		return res("certificates.k8s.io/v1", "certificatesigningrequests:CertificateSigningRequest:false:csr"), true
	}
	return "", false
}

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if doc, ok := discoveryDoc(r.URL.Path); ok {
		fmt.Fprint(w, doc)
		return
	}
	rec := r.Method + " " + r.RequestURI
	if r.Method == http.MethodPost {
		// A self-review: which namespace it asks about.
		var review struct {
			Spec struct {
				Namespace          string `json:"namespace"`
				ResourceAttributes *struct {
					Namespace string `json:"namespace"`
				} `json:"resourceAttributes"`
			} `json:"spec"`
		}
		_ = json.NewDecoder(r.Body).Decode(&review)
		ns := review.Spec.Namespace
		if review.Spec.ResourceAttributes != nil {
			ns = review.Spec.ResourceAttributes.Namespace
		}
		rec += " namespace=" + ns
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/log"):
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, f.logs)
	case strings.Contains(r.Header.Get("Accept"), "as=Table") && f.table != "":
		fmt.Fprint(w, f.table)
	case strings.Contains(r.Header.Get("Accept"), "as=Table"):
		fmt.Fprint(w, `{"kind":"Table","apiVersion":"meta.k8s.io/v1","columnDefinitions":[{"name":"Name","type":"string"}],"rows":[]}`)
	case f.deployment != "" && strings.Contains(r.URL.Path, "/deployments/"):
		fmt.Fprint(w, f.deployment)
	case strings.Contains(r.URL.Path, "/pods/"):
		fmt.Fprint(w, `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"web"},"spec":{"containers":[{"name":"app"}]}}`)
	default:
		// A list of nothing decodes for every kind.
		fmt.Fprint(w, `{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}`)
	}
}

// requests returns what reached the server beyond discovery.
func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

func (f *fakeAPI) reset() {
	f.mu.Lock()
	f.reqs = nil
	f.mu.Unlock()
}

// server returns a tools.Server whose only context points at f.
func (f *fakeAPI) server(t testing.TB) *Server {
	t.Helper()
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "t",
		"clusters": []any{map[string]any{"name": "c", "cluster": map[string]any{"server": f.srv.URL}}},
		"users":    []any{map[string]any{"name": "u", "user": map[string]any{"token": "t0k"}}},
		"contexts": []any{map[string]any{"name": "t", "context": map[string]any{"cluster": "c", "user": "u", "namespace": "web"}}},
	}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	// No client-side rate limit: tests make hundreds of calls.
	cl, err := kube.New(kube.Options{Kubeconfig: path, QPS: 1e6, Burst: 1e6})
	require.NoError(t, err)
	return &Server{Clusters: cl}
}

// viewerPolicy is the README's viewer role, limited to namespace web.
const viewerPolicy = `roles:
  viewer:
    tools: ["k8s_get", "k8s_describe", "k8s_events", "k8s_kubectl"]
    scopes:
      namespaces: ["web"]
`

// callAs returns a Call of tool by a caller with roles of policy doc ("" =
// no policy: unrestricted).
func callAs(t testing.TB, doc, toolName string, roles ...string) *tool.Call {
	t.Helper()
	c := &tool.Call{Tool: toolName}
	if doc != "" {
		p, err := policy.Parse([]byte(doc))
		require.NoError(t, err)
		c.Grant = p.For(roles)
	}
	return c
}
