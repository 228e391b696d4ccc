package kubernetes_test

import (
	"context"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// identityNS holds the ServiceAccounts the tests make.
const identityNS = "default"

// saUser is the API server's (and its audit log's) name for ServiceAccount
// name in identityNS.
func saUser(name string) string { return "system:serviceaccount:" + identityNS + ":" + name }

// readEverything is get/list/watch on every resource: what most "view all"
// roles grant, and through "*" also get on pods/exec, pods/attach,
// pods/portforward and the proxy subresources.
var readEverything = []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}}

// readNamed is a read-only role as deploy/kubernetes/base/rbac.yaml writes
// it: core resources by name (no dangerous subresource), every resource of
// the other groups.
var readNamed = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "services", "endpoints", "configmaps", "events", "namespaces", "nodes",
		"persistentvolumeclaims", "serviceaccounts", "secrets"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"apps", "batch", "example.com", "apiextensions.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
}

// newIdentity makes ServiceAccount name with a ClusterRole of cluster rules
// and, per namespace, a Role of namespaced rules, and returns a kubeconfig
// for a token of it.
func newIdentity(t *testing.T, name string, cluster []rbacv1.PolicyRule, namespaced map[string][]rbacv1.PolicyRule) string {
	t.Helper()
	ctx := context.Background()
	cs, err := kube.Admin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(identityNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("service account %s: %v", name, err)
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: identityNS}}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: cluster}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}, Subjects: subject}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for ns, rules := range namespaced {
		if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}, Subjects: subject}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := cs.CoreV1().ServiceAccounts(identityNS).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	cfg, err := kube.WriteKubeconfig(name+".kubeconfig", tok.Status.Token, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// auditOf returns the API server's audit events of user, complete ones.
func auditOf(t *testing.T, user string) []harness.AuditEvent {
	t.Helper()
	events, err := kube.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	var out []harness.AuditEvent
	for _, e := range events {
		if e.User.Username == user && e.Stage == "ResponseComplete" {
			out = append(out, e)
		}
	}
	return out
}

// isDiscovery reports whether uri only asks which APIs the server has.
func isDiscovery(uri string) bool {
	p, _, _ := strings.Cut(uri, "?")
	segs := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case p == "/api" || p == "/apis" || p == "/version":
		return true
	case len(segs) == 2 && segs[0] == "api":
		return true
	case len(segs) == 3 && segs[0] == "apis":
		return true
	}
	return false
}
