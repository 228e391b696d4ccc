package kube

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestGuardReadsTheFieldTheReviewKindUses: a rules review's namespace is
// spec.namespace and an access review's is
// spec.resourceAttributes.namespace; the API server ignores the other
// field of each kind. The Guard took resourceAttributes.namespace when
// present and spec.namespace otherwise, whatever the kind, so a rules
// review naming the caller's namespace under resourceAttributes listed
// another namespace's rules, and an access review with the caller's
// namespace under spec.namespace asked a cluster-wide non-resource
// question.
func TestGuardReadsTheFieldTheReviewKindUses(t *testing.T) {
	u := &upstream{}
	rt := newGuard(func(ns string) bool { return ns == "web" }).Wrap(u)
	review := func(kind, body string) error {
		req := httptest.NewRequest(http.MethodPost, "http://api/apis/authorization.k8s.io/v1/"+kind, strings.NewReader(body))
		req.RequestURI = ""
		_, err := rt.RoundTrip(req)
		return err
	}
	for _, c := range []struct{ kind, body string }{
		{"selfsubjectrulesreviews", `{"spec":{"namespace":"kube-system","resourceAttributes":{"namespace":"web"}}}`},
		{"selfsubjectrulesreviews", `{"spec":{"resourceAttributes":{"namespace":"web"}}}`},
		{"selfsubjectaccessreviews", `{"spec":{"namespace":"web","nonResourceAttributes":{"path":"/metrics","verb":"get"}}}`},
		{"selfsubjectaccessreviews", `{"spec":{"namespace":"web","resourceAttributes":{"namespace":"web"},"nonResourceAttributes":{"path":"/logs","verb":"get"}}}`},
		{"selfsubjectaccessreviews", `{"spec":{"namespace":"web"}}`},
		{"selfsubjectreviews", `{"spec":{"namespace":"web"}}`},
	} {
		assert.ErrorIs(t, review(c.kind, c.body), ErrOutOfScope, c.kind+" "+c.body)
	}
	assert.NoError(t, review("selfsubjectrulesreviews", `{"spec":{"namespace":"web"}}`))
	assert.NoError(t, review("selfsubjectaccessreviews", `{"spec":{"resourceAttributes":{"namespace":"web","verb":"get","resource":"pods"}}}`))
	assert.Len(t, u.seen, 2, "only the two allowed reviews reached the API server")
}
