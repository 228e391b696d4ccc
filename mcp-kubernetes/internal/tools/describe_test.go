package tools

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDescribeHostileUpstream: the API server's answer is upstream text
// too. An object that claims another namespace does not move the
// follow-up reads there, and a status of the wrong shape (or none) does
// not crash the handler.
func TestDescribeHostileUpstream(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	for _, dep := range []string{
		`{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"api","namespace":"kube-system","uid":"u1","generation":2},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"api"}}}}`,
		`{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"api","namespace":""},"status":"broken","spec":"x"}`,
		`{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"api"},"status":{"conditions":["x",{"type":7},null],"containerStatuses":"x"}}`,
	} {
		api.deployment = dep
		api.reset()
		res, err := s.describe(t.Context(), callAs(t, viewerPolicy, "k8s_describe", "viewer"), DescribeInput{Resource: "deploy", Name: "api", Namespace: "web"})
		require.NoError(t, err, dep)
		assert.Equal(t, "web", res.Data.(DescribeOutput).Namespace)
		for _, req := range api.requests() {
			assert.True(t, strings.HasPrefix(req, "GET /apis/apps/v1/namespaces/web/") || strings.HasPrefix(req, "GET /api/v1/namespaces/web/"),
				"%s: a read outside namespace web: %s", dep, req)
		}
		// The handler's reads (the deployment, its replica sets, its
		// events), then kubectl's describer's, each asked in web.
		require.GreaterOrEqual(t, len(api.requests()), 4, dep)
		assert.Len(t, api.requests()[:3], 3)
		assert.Contains(t, api.requests()[0], "/deployments/api")
		assert.Contains(t, api.requests()[1], "/replicasets?")
		assert.Contains(t, api.requests()[2], "/events?")
		assert.Contains(t, api.requests()[3], "/deployments/api", "kubectl's describer read the same object")
		assert.NotEmpty(t, res.Text, "kubectl's description, or its message saying why it has none")
	}
}
