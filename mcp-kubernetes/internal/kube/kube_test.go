package kube

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

func TestReadOnlyTransportRefusesWrites(t *testing.T) {
	var methods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method+" "+r.URL.Path)
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	cfg := ReadOnly(&rest.Config{Host: srv.URL})
	rt, err := rest.TransportFor(cfg)
	require.NoError(t, err)
	client := &http.Client{Transport: rt}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		req, _ := http.NewRequest(m, srv.URL+"/api/v1/namespaces/x/pods", nil)
		_, err := client.Do(req)
		assert.ErrorIs(t, err, ErrWriteRefused, m)
	}
	// exec, attach and port-forward are POSTs (or upgrades) to subresources.
	for _, p := range []string{"/api/v1/namespaces/x/pods/p/exec", "/api/v1/namespaces/x/pods/p/portforward", "/api/v1/namespaces/x/pods/p/attach"} {
		req, _ := http.NewRequest("POST", srv.URL+p, nil)
		_, err := client.Do(req)
		assert.ErrorIs(t, err, ErrWriteRefused, p)
	}
	for _, p := range []string{"/api/v1/pods", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"} {
		m := "GET"
		if strings.Contains(p, "review") {
			m = "POST"
		}
		req, _ := http.NewRequest(m, srv.URL+p, nil)
		resp, err := client.Do(req)
		require.NoError(t, err, p)
		resp.Body.Close()
	}
	assert.Equal(t, []string{"GET /api/v1/pods", "POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews"}, methods, "only reads reached the server")
}

// TestNoWritePathInSource fails when code of this server calls a client
// method that writes, or imports the packages for exec and port-forward.
func TestNoWritePathInSource(t *testing.T) {
	write := regexp.MustCompile(`\.(Create|Update|UpdateStatus|Patch|Apply|ApplyStatus|Delete|DeleteCollection|Evict|Bind)\(|remotecommand|portforward|"k8s.io/client-go/tools/exec"|SubResource\("(exec|attach|portforward)"\)`)
	// The self-reviews ask what the identity may do; dangerous is the list
	// of subresources the tools refuse by name.
	allowed := regexp.MustCompile(`SelfSubject(Rules|Access)Reviews\(\)\.Create\(|^var dangerous(Subresources)? = (map\[string\]bool|\[\]string)\{"(proxy|pods/exec)"`)
	hits, files, err := readonly.Scan("../..", write, allowed)
	require.NoError(t, err)
	assert.Empty(t, hits, "write paths")
	assert.Greater(t, files, 5, "the scan read the server's sources")
}
