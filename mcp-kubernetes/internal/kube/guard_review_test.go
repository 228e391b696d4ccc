package kube

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestGuardReadsAReviewAsTheAPIServerDoes: the API server decodes JSON
// keys case-sensitively and takes the last of repeated keys; the Guard
// read an access review with Go's case-insensitive matching, so a body
// naming an outside namespace under "namespace" and the caller's under
// "Namespace" passed the Guard and asked about the outside one. kubectl
// builds that body today, so it was not reachable; the Guard no longer
// depends on that.
func TestGuardReadsAReviewAsTheAPIServerDoes(t *testing.T) {
	u := &upstream{}
	rt := newGuard(func(ns string) bool { return ns == "web" }).Wrap(u)
	review := func(body string) error {
		req := httptest.NewRequest(http.MethodPost, "http://api/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", strings.NewReader(body))
		req.RequestURI = ""
		_, err := rt.RoundTrip(req)
		return err
	}
	for _, body := range []string{
		`{"spec":{"resourceAttributes":{"namespace":"team-a","Namespace":"web","verb":"get","resource":"secrets"}}}`,
		`{"spec":{"resourceAttributes":{"namespace":"team-a","NAMESPACE":"web","verb":"get","resource":"secrets"}}}`,
		`{"spec":{"resourceAttributes":{"namespace":"team-a"},"ResourceAttributes":{"namespace":"web"}}}`,
		`{"spec":{"resourceAttributes":{"namespace":"team-a"}},"Spec":{"resourceAttributes":{"namespace":"web"}}}`,
		`{"spec":{"namespace":"team-a","Namespace":"web"}}`,
		`{"spec":{"resourceAttributes":{"namespace":"web","namespace":"team-a"}}}`,
	} {
		assert.ErrorIs(t, review(body), ErrOutOfScope, body)
	}
	assert.NoError(t, review(`{"spec":{"resourceAttributes":{"namespace":"web","Namespace":"team-a","verb":"get","resource":"secrets"}}}`),
		"the API server reads namespace, not Namespace")
	assert.Len(t, u.seen, 1, "only the allowed review reached the API server")
}
