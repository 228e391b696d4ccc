package tools

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestKubectlConcurrentCallsNeverMix: kubectl's code has process-wide
// state (flags, klog, printers, the fatal handler); calls by different
// callers at once must each get their own namespace and output, and a
// caller limited to web is refused another namespace every time.
func TestKubectlConcurrentCallsNeverMix(t *testing.T) {
	f := &fakeAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := discoveryDoc(r.URL.Path); !ok && strings.HasSuffix(r.URL.Path, "/pods") {
			ns := strings.Split(r.URL.Path, "/")[4]
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"pod-of-%s","namespace":%q}}]}`, ns, ns)
			return
		}
		f.serve(w, r)
	}))
	defer f.srv.Close()
	s := f.server(t)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		for _, ns := range []string{"web", "other", "third"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: "get pods -o name -n " + ns})
				if assert.NoError(t, err, ns) {
					assert.Equal(t, "pod/pod-of-"+ns+"\n", res.Text, ns)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.kubectl(t.Context(), callAs(t, viewerPolicy, "k8s_kubectl", "viewer"), KubectlInput{Command: "get pods -o name -n other"})
			assert.Error(t, err)
			res, err := s.kubectl(t.Context(), callAs(t, viewerPolicy, "k8s_kubectl", "viewer"), KubectlInput{Command: "get pods -o name"})
			if assert.NoError(t, err) {
				assert.Equal(t, "pod/pod-of-web\n", res.Text)
			}
		}()
	}
	wg.Wait()
}
