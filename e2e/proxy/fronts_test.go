package proxy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/opsmcp/opsmcp/e2e/deploy"
	"github.com/opsmcp/opsmcp/e2e/harness"
)

// The webhook's allowed source: Gitea's host in the shipped files, a
// second loopback address here (the test connects from it).
const hookSource = "127.0.0.2"

// tlsFiles writes the proxies' certificate for both public names.
func tlsFiles(dir string) (crt, key string, err error) {
	c, k, err := w.ca.Serving(mcpHost, aiHost)
	if err != nil {
		return "", "", err
	}
	return string(c), string(k), harness.WriteFiles(dir, map[string]string{"tls/tls.crt": string(c), "tls/tls.key": string(k)})
}

// startNginx runs deploy/proxy/nginx.conf as shipped but for its
// site-specific values: the upstreams' host names (127.0.0.1, same
// ports), oauth2-proxy's address, the listen address, the certificate
// directory and the webhook's allowed source.
func startNginx(ctx context.Context, stops *[]func()) error {
	f := w.nginx
	dir := filepath.Join(w.dir, "nginx")
	if _, _, err := tlsFiles(dir); err != nil {
		return err
	}
	var err error
	f.oauth2 = fmt.Sprintf("127.0.0.1:%d", mustPort())
	if f.o2proc, err = harness.StartOAuth2Proxy(ctx, w.dir, "oauth2-proxy-nginx", f.oauth2, oauth2Args(f)...); err != nil {
		return err
	}
	*stops = append(*stops, f.o2proc.Stop)
	shipped, err := os.ReadFile(filepath.Join(harness.Root(), "deploy", "proxy", "nginx.conf"))
	if err != nil {
		return err
	}
	pairs := []string{
		"    listen 443 ssl http2;", fmt.Sprintf("    listen 127.0.0.1:%d ssl http2;", f.port),
		"/etc/nginx/tls/tls.crt;", filepath.Join(dir, "tls", "tls.crt") + ";",
		"/etc/nginx/tls/tls.key;", filepath.Join(dir, "tls", "tls.key") + ";",
		"server oauth2-proxy:4180;", "server " + f.oauth2 + ";",
		"allow 10.77.114.10;", "allow " + hookSource + ";",
	}
	for _, b := range w.backends {
		pairs = append(pairs, fmt.Sprintf("server %s:%d;", b.name, map[string]int{"mcp-kubernetes": 8081, "mcp-gitea": 8082,
			"mcp-swarm": 8083, "mcp-logs": 8084, "mcp-docs": 8085}[b.name]), fmt.Sprintf("server 127.0.0.1:%d;", b.port))
	}
	pairs = append(pairs, "server mcp-orchestrator:8080;", fmt.Sprintf("server 127.0.0.1:%d;", w.orchPort))
	conf, err := harness.Substitute("deploy/proxy/nginx.conf", string(shipped), pairs...)
	if err != nil {
		return err
	}
	// The main configuration a host's nginx.conf would have: the shipped
	// file included in the http block, paths under dir, and an access log
	// with each request's end time (the webhook and streaming checks).
	runAs := ""
	if u, err := user.Current(); err == nil && os.Geteuid() == 0 {
		runAs = "user " + u.Username + ";\n"
	}
	main := fmt.Sprintf(`%sdaemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 256; }
http {
    client_body_temp_path %[2]s/tmp/body;
    proxy_temp_path %[2]s/tmp/proxy;
    fastcgi_temp_path %[2]s/tmp/fastcgi;
    uwsgi_temp_path %[2]s/tmp/uwsgi;
    scgi_temp_path %[2]s/tmp/scgi;
    log_format opsmcp '$remote_addr "$request" $status $upstream_addr';
    access_log %[2]s/access.log opsmcp;
    include %[2]s/opsmcp.conf;
}
`, runAs, dir)
	if err := harness.WriteFiles(dir, map[string]string{"opsmcp.conf": conf, "main.conf": main, "tmp/.keep": ""}); err != nil {
		return err
	}
	if f.proc, err = harness.StartNginx(ctx, dir, filepath.Join(dir, "main.conf"), fmt.Sprintf("127.0.0.1:%d", f.port)); err != nil {
		return err
	}
	*stops = append(*stops, f.proc.Stop)
	return nil
}

func mustPort() int {
	p, err := harness.FreePort()
	if err != nil {
		panic(err)
	}
	return p
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// startTraefik installs Traefik's CRDs (from its module) in the harness
// API server, applies the shipped objects of deploy/kubernetes/proxy/traefik
// (rendered by Kustomize) with their site-specific values swapped, the
// Services they name (ExternalName localhost, port http on the server's
// port: no EndpointSlice may hold a loopback address) and the TLS secret, then runs Traefik's Kubernetes
// CRD provider against it all.
func startTraefik(ctx context.Context, stops *[]func()) error {
	f := w.traefik
	dir := filepath.Join(w.dir, "traefik")
	crt, key, err := tlsFiles(dir)
	if err != nil {
		return err
	}
	f.oauth2 = fmt.Sprintf("127.0.0.1:%d", mustPort())
	var o2err error
	if f.o2proc, o2err = harness.StartOAuth2Proxy(ctx, w.dir, "oauth2-proxy-traefik", f.oauth2, oauth2Args(f)...); o2err != nil {
		return o2err
	}
	*stops = append(*stops, f.o2proc.Stop)
	admin := w.kube.RESTConfig(w.kube.AdminToken)
	dyn, err := dynamic.NewForConfig(admin)
	if err != nil {
		return err
	}
	cs, err := w.kube.Admin()
	if err != nil {
		return err
	}
	// Traefik's own CRDs, as its module ships them.
	if _, err := harness.Upstreams("traefik"); err != nil {
		return err
	}
	crdFile, err := traefikCRDs()
	if err != nil {
		return err
	}
	var crds []string
	if err := eachObject(crdFile, func(obj *unstructured.Unstructured) error {
		crds = append(crds, obj.GetName())
		_, err := dyn.Resource(crdGVR).Create(ctx, obj, metav1.CreateOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("install Traefik CRDs: %w", err)
	}
	if err := waitEstablished(ctx, dyn, crds); err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opsmcp"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	services := map[string]int{"mcp-orchestrator": w.orchPort}
	for _, b := range w.backends {
		services[b.name] = b.port
	}
	_, o2port, _ := net.SplitHostPort(f.oauth2)
	services["oauth2-proxy"], _ = strconv.Atoi(o2port)
	for name, port := range services {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "opsmcp"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
				Ports: []corev1.ServicePort{{Name: "http", Port: int32(port)}}}}
		if _, err := cs.CoreV1().Services("opsmcp").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
	}
	if _, err := cs.CoreV1().Secrets("opsmcp").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opsmcp-tls", Namespace: "opsmcp"},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte(crt), "tls.key": []byte(key)}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	objs, err := deploy.Render(filepath.Join(harness.Root(), "deploy", "kubernetes", "proxy", "traefik"))
	if err != nil {
		return err
	}
	if err := siteValues(objs, f.oauth2); err != nil {
		return err
	}
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		res := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(obj.GetKind()) + "s"}
		body, err := obj.MarshalJSON()
		if err != nil {
			return err
		}
		if _, err := dyn.Resource(res).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: "opsmcp-e2e", FieldValidation: "Strict"}); err != nil {
			return fmt.Errorf("apply %s/%s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", f.port)
	f.proc, err = harness.StartTraefik(ctx, dir, addr,
		"--entryPoints.websecure.address="+addr,
		"--providers.kubernetescrd.endpoint="+w.kube.URL,
		"--providers.kubernetescrd.token="+w.kube.ReaderToken,
		"--providers.kubernetescrd.certAuthFilePath="+filepath.Join(w.kube.Dir, "ca.crt"),
		"--providers.kubernetescrd.namespaces=opsmcp",
		"--providers.kubernetescrd.allowExternalNameServices=true",
		// Never the version check or usage report (a request to
		// update.traefik.io ten minutes in): loopback only.
		"--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
		"--log.level=INFO", "--accesslog=true", "--accesslog.filepath="+filepath.Join(dir, "access.log"))
	if err != nil {
		return err
	}
	*stops = append(*stops, f.proc.Stop)
	// The routes exist once an unauthenticated request is refused by the
	// forward auth (401) rather than answered 404 by no route.
	if err := waitRoutes(ctx, f); err != nil {
		return err
	}
	if !strings.Contains(f.proc.Tail(1<<20), "Version check is disabled") {
		return fmt.Errorf("traefik: the version check is not off: %s", f.proc.Tail(2000))
	}
	return nil
}

// siteValues swaps the shipped objects' site-specific values for the
// test's, failing when one is not where the test expects it: the
// allowlists' ranges (the mesh and office LAN become 127.0.0.1, Gitea's
// host the second loopback address) and oauth2-proxy's address.
func siteValues(objs []*unstructured.Unstructured, oauth2 string) error {
	set := func(kind, name string, value any, want any, path ...string) error {
		o := deploy.Find(objs, kind, name)
		if o == nil {
			return fmt.Errorf("deploy/kubernetes/proxy/traefik has no %s %s", kind, name)
		}
		got, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s %s: %s is %v, the test expects %v", kind, name, strings.Join(path, "."), got, want)
		}
		return unstructured.SetNestedField(o.Object, value, path...)
	}
	if err := set("Middleware", "opsmcp-allowlist", []any{"127.0.0.1/32"}, []any{"10.77.114.0/24", "192.168.0.0/24"}, "spec", "ipAllowList", "sourceRange"); err != nil {
		return err
	}
	if err := set("Middleware", "opsmcp-gitea-only", []any{hookSource + "/32"}, []any{"10.77.114.10/32"}, "spec", "ipAllowList", "sourceRange"); err != nil {
		return err
	}
	return set("Middleware", "opsmcp-forward-auth", "http://"+oauth2+"/oauth2/auth",
		"http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth", "spec", "forwardAuth", "address")
}

// traefikCRDs is the CRD file of the Traefik module the build used.
func traefikCRDs() (string, error) {
	mod, err := goModDir("github.com/traefik/traefik/v3", filepath.Join(harness.Root(), "e2e", "upstreams", "traefik"))
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(mod, "docs", "content", "reference", "dynamic-configuration", "kubernetes-crd-definition-v1.yml"))
	return string(raw), err
}

// eachObject decodes every YAML document of text and calls fn.
func eachObject(text string, fn func(*unstructured.Unstructured) error) error {
	dec := yamlutil.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
		if len(obj.Object) == 0 {
			continue
		}
		if err := fn(obj); err != nil {
			return fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
}

func waitEstablished(ctx context.Context, dyn dynamic.Interface, names []string) error {
	deadline := time.Now().Add(60 * time.Second)
	for _, name := range names {
		for {
			crd, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
				ok := false
				for _, c := range conds {
					m, _ := c.(map[string]any)
					ok = ok || m["type"] == "Established" && m["status"] == "True"
				}
				if ok {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established after 60s: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// goModDir is the module cache directory of module as the wrapper module
// in dir requires it.
func goModDir(module, dir string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// waitRoutes waits until Traefik has loaded the shipped routes: an
// unauthenticated request to a server prefix is refused by the forward
// auth (401) instead of finding no route (404).
func waitRoutes(ctx context.Context, f *front) error {
	c := plainClient()
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url+"/docs/healthz", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("traefik: routes not loaded after 60s (last: %s): %s", last, f.proc.Tail(3000))
}
