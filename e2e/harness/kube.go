package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Identities the cluster knows (static tokens, made per run).
const (
	AdminUser  = "e2e-admin"
	ReaderUser = "mcp-reader"
)

// Kube is a running etcd + kube-apiserver + kube-controller-manager.
type Kube struct {
	Dir         string
	URL         string
	CA          *CA
	AdminToken  string
	ReaderToken string
	AuditLog    string
	procs       []*Proc
}

// StartKube starts the control plane in dir. RBAC is on, every request is
// recorded in the API server's audit log, and two identities exist: an
// admin (system:masters) for fixtures and a reader for the server under
// test (bound to get/list/watch by the caller).
func StartKube(ctx context.Context, dir string) (*Kube, error) {
	bin, err := Upstreams("kubernetes")
	if err != nil {
		return nil, err
	}
	k := &Kube{Dir: dir, AdminToken: randToken(), ReaderToken: randToken()}
	ok := false
	defer func() {
		if !ok {
			k.Stop()
		}
	}()

	etcdClient, _ := FreePort()
	etcdPeer, _ := FreePort()
	etcd, err := Start(dir, "etcd", filepath.Join(bin, "etcd-v3.6.16"),
		"--name", "e2e", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-cluster", fmt.Sprintf("e2e=http://127.0.0.1:%d", etcdPeer),
		"--log-level", "warn")
	if err != nil {
		return nil, err
	}
	k.procs = append(k.procs, etcd)

	k.CA, err = NewCA()
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := k.CA.Serving("127.0.0.1", "localhost", "kubernetes", "kubernetes.default.svc")
	if err != nil {
		return nil, err
	}
	saPriv, saPub, err := RSAKeyPEM()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"ca.crt": k.CA.CertPEM, "apiserver.crt": certPEM, "apiserver.key": keyPEM,
		"sa.key": saPriv, "sa.pub": saPub,
		"tokens.csv": []byte(fmt.Sprintf("%s,%s,admin-uid,\"system:masters\"\n%s,%s,reader-uid,\"e2e-readers\"\n",
			k.AdminToken, AdminUser, k.ReaderToken, ReaderUser)),
		"audit-policy.yaml": []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	port, _ := FreePort()
	k.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	k.AuditLog = p("apiserver-audit.log")
	api, err := Start(dir, "kube-apiserver", filepath.Join(bin, "kube-apiserver-v1.36.3"),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdClient),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--tls-cert-file="+p("apiserver.crt"), "--tls-private-key-file="+p("apiserver.key"),
		"--client-ca-file="+p("ca.crt"), "--token-auth-file="+p("tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+p("sa.pub"),
		"--service-account-signing-key-file="+p("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24", "--endpoint-reconciler-type=none",
		"--audit-policy-file="+p("audit-policy.yaml"), "--audit-log-path="+k.AuditLog,
		// Pod logs are proxied to a node's kubelet; the tests' stand-in
		// kubelet serves TLS from the same CA on a loopback InternalIP.
		"--kubelet-certificate-authority="+p("ca.crt"), "--kubelet-preferred-address-types=InternalIP",
		"--enable-priority-and-fairness=false")
	if err != nil {
		return nil, err
	}
	k.procs = append(k.procs, api)
	if err := WaitHTTP(ctx, api, k.URL+"/readyz", k.AdminToken, k.CA.Client(), 90*time.Second); err != nil {
		return nil, err
	}

	admin, err := k.WriteKubeconfig("admin.kubeconfig", k.AdminToken, "e2e")
	if err != nil {
		return nil, err
	}
	kcmPort, _ := FreePort()
	kcm, err := Start(dir, "kube-controller-manager", filepath.Join(bin, "kube-controller-manager-v1.36.3"),
		"--kubeconfig="+admin, "--authentication-kubeconfig="+admin, "--authorization-kubeconfig="+admin,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", kcmPort), "--leader-elect=false",
		"--service-account-private-key-file="+p("sa.key"), "--root-ca-file="+p("ca.crt"),
		"--use-service-account-credentials=false", "--controllers=*")
	if err != nil {
		return nil, err
	}
	k.procs = append(k.procs, kcm)
	ok = true
	return k, nil
}

// GrantReader binds the reader identity to a ClusterRole that may get,
// list and watch everything (and nothing else). Granting twice is fine.
func (k *Kube) GrantReader(ctx context.Context) error {
	cs, err := k.Admin()
	if err != nil {
		return err
	}
	_, err = cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "mcp-read"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "mcp-read"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "mcp-read"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: ReaderUser, APIGroup: "rbac.authorization.k8s.io"}},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// WriteKubeconfig writes a kubeconfig with one context named ctxName for
// token, plus a second context "other" that points at the same server
// (for context allowlist tests), and returns its path.
func (k *Kube) WriteKubeconfig(name, token, ctxName string) (string, error) {
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": ctxName,
		"clusters": []any{map[string]any{"name": "e2e", "cluster": map[string]any{
			"server": k.URL, "certificate-authority": filepath.Join(k.Dir, "ca.crt")}}},
		"users": []any{map[string]any{"name": "u-" + ctxName, "user": map[string]any{"token": token}}},
		"contexts": []any{
			map[string]any{"name": ctxName, "context": map[string]any{"cluster": "e2e", "user": "u-" + ctxName, "namespace": "default"}},
			map[string]any{"name": "other", "context": map[string]any{"cluster": "e2e", "user": "u-" + ctxName, "namespace": "kube-system"}},
		},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	path := filepath.Join(k.Dir, name)
	return path, os.WriteFile(path, b, 0o600)
}

// RESTConfig returns a client config for token.
func (k *Kube) RESTConfig(token string) *rest.Config {
	return &rest.Config{Host: k.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: k.CA.CertPEM}, QPS: 100, Burst: 200}
}

// Admin returns an admin clientset.
func (k *Kube) Admin() (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(k.RESTConfig(k.AdminToken))
}

// Stop stops the control plane, newest process first.
func (k *Kube) Stop() {
	for i := len(k.procs) - 1; i >= 0; i-- {
		k.procs[i].Stop()
	}
}

// AuditEvent is the part of an API server audit event the tests read.
type AuditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		APIGroup  string `json:"apiGroup"`
	} `json:"objectRef"`
	Stage string `json:"stage"`
}

// AuditEvents reads the API server's audit log.
func (k *Kube) AuditEvents() ([]AuditEvent, error) {
	f, err := os.Open(k.AuditLog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit line: %w", err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func randToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(fmt.Sprintf("%x", b))
}
