package kube

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
)

func rule(groups, resources, verbs string) authzv1.ResourceRule {
	split := func(s string) []string {
		if s == "-" {
			return []string{""}
		}
		return strings.Split(s, ",")
	}
	return authzv1.ResourceRule{APIGroups: split(groups), Resources: split(resources), Verbs: split(verbs)}
}

func TestRuleWritesCountsDangerousSubresources(t *testing.T) {
	review := rule("authorization.k8s.io", "selfsubjectaccessreviews,selfsubjectrulesreviews", "create")
	cases := []struct {
		rules []authzv1.ResourceRule
		want  []string
	}{
		{[]authzv1.ResourceRule{review, rule("-", "pods,pods/log,services,nodes", "get,list,watch"), rule("apps", "*", "get,list,watch")}, nil},
		{[]authzv1.ResourceRule{rule("*", "*", "get,list,watch")}, []string{"get,list,watch * (pods/exec, pods/attach, pods/portforward, pods/proxy, services/proxy, nodes/proxy)"}},
		{[]authzv1.ResourceRule{rule("-", "nodes/proxy", "get")}, []string{"get nodes/proxy (nodes/proxy)"}},
		{[]authzv1.ResourceRule{rule("-", "pods/exec", "get")}, []string{"get pods/exec (pods/exec)"}},
		{[]authzv1.ResourceRule{rule("-", "*/proxy", "list")}, []string{"list */proxy (pods/proxy, services/proxy, nodes/proxy)"}},
		{[]authzv1.ResourceRule{rule("-", "pods/*", "watch")}, []string{"watch pods/* (pods/exec, pods/attach, pods/portforward, pods/proxy)"}},
		{[]authzv1.ResourceRule{rule("-", "configmaps", "get,create")}, []string{"create configmaps"}}, // get stays a read
		{[]authzv1.ResourceRule{rule("-", "configmaps", "get,create,delete")}, []string{"create,delete configmaps"}},
		{[]authzv1.ResourceRule{rule("-", "pods", "*")}, []string{"* pods"}},
		{[]authzv1.ResourceRule{rule("-", "users", "impersonate")}, []string{"impersonate users"}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, ruleWrites(c.rules), "%+v", c.rules)
	}
}

// fakeReviews answers self-reviews: rules per namespace, incomplete where
// asked, and access reviews from allowed ("verb resource/sub ns").
type fakeReviews struct {
	rules      map[string][]authzv1.ResourceRule
	incomplete map[string]bool
	allowed    map[string]bool
	namespaces []string
	asked      []string
}

func (f *fakeReviews) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/selfsubjectrulesreviews"):
		var rv authzv1.SelfSubjectRulesReview
		json.NewDecoder(r.Body).Decode(&rv)
		f.asked = append(f.asked, "rules "+rv.Spec.Namespace)
		rv.Status.ResourceRules = f.rules[rv.Spec.Namespace]
		rv.Status.Incomplete = f.incomplete[rv.Spec.Namespace]
		json.NewEncoder(w).Encode(rv)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews"):
		var rv authzv1.SelfSubjectAccessReview
		json.NewDecoder(r.Body).Decode(&rv)
		a := rv.Spec.ResourceAttributes
		key := a.Verb + " " + a.Resource + "/" + a.Subresource + " " + a.Namespace
		f.asked = append(f.asked, "access "+key)
		rv.Status.Allowed = f.allowed[key]
		json.NewEncoder(w).Encode(rv)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces":
		var items []string
		for _, n := range f.namespaces {
			items = append(items, `{"metadata":{"name":"`+n+`"}}`)
		}
		w.Write([]byte(`{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[` + strings.Join(items, ",") + `]}`))
	default:
		http.NotFound(w, r)
	}
}

func fakeCluster(t *testing.T, f *fakeReviews) *Cluster {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cl, err := NewCluster("t", "default", &rest.Config{Host: srv.URL, QPS: 1e6, Burst: 1e6,
		ContentConfig: rest.ContentConfig{ContentType: "application/json"}})
	require.NoError(t, err)
	return cl
}

// TestWriteRightsEveryNamespace: a write right granted in one namespace
// only is found when that namespace is served, wherever the default is.
func TestWriteRightsEveryNamespace(t *testing.T) {
	read := rule("-", "pods,pods/log", "get,list,watch")
	f := &fakeReviews{rules: map[string][]authzv1.ResourceRule{
		"default": {read}, "web": {read}, "payments": {read, rule("-", "secrets", "update")},
	}, namespaces: []string{"default", "web", "payments", "kube-system"}}
	cl := fakeCluster(t, f)

	r, err := cl.WriteRights(t.Context(), []string{"default", "web"})
	require.NoError(t, err)
	assert.Empty(t, r.Writes)

	all, err := cl.ServedNamespaces(t.Context(), nil, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"default", "kube-system", "payments", "web"}, all)
	r, err = cl.WriteRights(t.Context(), all)
	require.NoError(t, err)
	assert.Equal(t, []string{"update secrets (in payments)"}, r.Writes)

	some, err := cl.ServedNamespaces(t.Context(), []string{"pay*", "later"}, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"default", "later", "payments"}, some, "glob matches, a literal counts before it exists, the default always")
	literal, err := cl.ServedNamespaces(t.Context(), []string{"web"}, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"default", "web"}, literal)
}

// TestWriteRightsIncompleteProbes: where the rules review is incomplete,
// access reviews ask about the dangerous subresources.
func TestWriteRightsIncompleteProbes(t *testing.T) {
	f := &fakeReviews{
		rules:      map[string][]authzv1.ResourceRule{"web": {rule("-", "pods", "get")}},
		incomplete: map[string]bool{"web": true},
		allowed:    map[string]bool{"get pods/exec web": true},
	}
	cl := fakeCluster(t, f)
	r, err := cl.WriteRights(t.Context(), []string{"web"})
	require.NoError(t, err)
	assert.Equal(t, []string{"get pods/exec (in web)"}, r.Writes)
	assert.Equal(t, []string{"web"}, r.Incomplete)
	assert.Contains(t, f.asked, "access create nodes/proxy web")
}
