package tools

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListPagesAreBounded: k8s_get passed any limit on, so limit
// 1000000000 (or kubectl --chunk-size) asked the API server for every
// object of a type at once; in a large cluster that is hundreds of
// megabytes of JSON decoded in one call, past any budget. A page is now
// at most maxLimit objects, and the continue token gives the rest.
func TestListPagesAreBounded(t *testing.T) {
	f := newFakeAPI(t)
	s := f.server(t)
	for _, output := range []string{"table", "json"} {
		f.reset()
		_, err := s.get(context.Background(), callAs(t, "", "k8s_get"), GetInput{Resource: "pods", Namespace: "web", Limit: 1_000_000_000, Output: output})
		require.NoError(t, err)
		_, err = s.kubectl(context.Background(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: "get pods -n web --chunk-size 999999" + map[string]string{"table": "", "json": " -o json"}[output]})
		require.NoError(t, err)
		reqs := f.requests()
		require.Len(t, reqs, 2, output)
		for _, r := range reqs {
			u, err := url.Parse(strings.TrimPrefix(r, "GET "))
			require.NoError(t, err)
			n, err := strconv.Atoi(u.Query().Get("limit"))
			require.NoError(t, err, r)
			assert.LessOrEqual(t, n, maxLimit, "%s asked for %d objects", r, n)
		}
	}
}
