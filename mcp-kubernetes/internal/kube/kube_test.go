package kube

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
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
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	write := regexp.MustCompile(`\.(Create|Update|UpdateStatus|Patch|Apply|ApplyStatus|Delete|DeleteCollection|Evict|Bind)\(|remotecommand|portforward|"k8s.io/client-go/tools/exec"|SubResource\("(exec|attach|portforward)"\)`)
	allowed := regexp.MustCompile(`SelfSubjectRulesReviews\(\)\.Create\(`)
	count := 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		count++
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(raw), "\n") {
			if write.MatchString(line) && !allowed.MatchString(line) {
				t.Errorf("%s:%d: write path: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, count, 5, "the scan read the server's sources")
}
