package kube

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	authzv1 "k8s.io/api/authorization/v1"
	kjson "sigs.k8s.io/json"
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

// FuzzGuardReview: whatever body a review carries, the Guard lets it
// through only if the API server, decoding it into the review's own type
// with its decoder, reads a namespace the caller may see: a rules
// review's spec.namespace, an access review's resource attributes' (and
// no non-resource question).
func FuzzGuardReview(f *testing.F) {
	f.Add(uint8(0), `{"spec":{"namespace":"web"}}`)
	f.Add(uint8(0), `{"spec":{"namespace":"kube-system","resourceAttributes":{"namespace":"web"}}}`)
	f.Add(uint8(1), `{"spec":{"resourceAttributes":{"namespace":"web","verb":"get","resource":"pods"}}}`)
	f.Add(uint8(1), `{"spec":{"namespace":"web","nonResourceAttributes":{"path":"/metrics","verb":"get"}}}`)
	f.Add(uint8(1), `{"spec":{"resourceAttributes":{"namespace":"team-a","Namespace":"web"}}}`)
	f.Add(uint8(1), `{"spec":{"resourceAttributes":{"namespace":"web"},"resourceAttributes":null}}`)
	f.Add(uint8(2), `{"spec":{"namespace":"web"}}`)
	kinds := []string{"selfsubjectrulesreviews", "selfsubjectaccessreviews", "selfsubjectreviews", "subjectaccessreviews"}
	allowed := func(ns string) bool { return ns == "web" }
	f.Fuzz(func(t *testing.T, kind uint8, body string) {
		u := &upstream{}
		rt := newGuard(allowed).Wrap(u)
		k := kinds[int(kind)%len(kinds)]
		req := httptest.NewRequest(http.MethodPost, "http://api/apis/authorization.k8s.io/v1/"+k, strings.NewReader(body))
		req.RequestURI = ""
		if _, err := rt.RoundTrip(req); err != nil {
			return
		}
		switch k {
		case "selfsubjectrulesreviews":
			var r authzv1.SelfSubjectRulesReview
			if err := kjson.UnmarshalCaseSensitivePreserveInts([]byte(body), &r); err != nil {
				t.Fatalf("passed, but the API server cannot decode it: %v", err)
			}
			if !allowed(r.Spec.Namespace) {
				t.Fatalf("passed a rules review of namespace %q: %s", r.Spec.Namespace, body)
			}
		case "selfsubjectaccessreviews":
			var r authzv1.SelfSubjectAccessReview
			if err := kjson.UnmarshalCaseSensitivePreserveInts([]byte(body), &r); err != nil {
				t.Fatalf("passed, but the API server cannot decode it: %v", err)
			}
			if r.Spec.NonResourceAttributes != nil || r.Spec.ResourceAttributes == nil || !allowed(r.Spec.ResourceAttributes.Namespace) {
				t.Fatalf("passed an access review the API server reads as %+v: %s", r.Spec, body)
			}
		default:
			t.Fatalf("passed a %s review", k)
		}
	})
}
