package tools

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKubectlLeavesSignalsToTheServer: kubectl's logs (and rollout
// status) install a handler that ends the process with exit code 1 on
// SIGTERM, SIGINT, SIGHUP or SIGQUIT while they run; in this server that
// skipped the shutdown grace (calls in flight finishing with their audit
// lines, then exit 0) whenever a kubectl logs call was running. The child
// process stands in for the server: it handles SIGTERM itself while a
// logs call waits on a stalled kubelet, and must still be running to say
// so.
func TestKubectlLeavesSignalsToTheServer(t *testing.T) {
	if os.Getenv("REDKUBE_SIGNAL_CHILD") != "" {
		signalChild(t, os.Getenv("REDKUBE_SIGNAL_CHILD"))
		return
	}
	for _, line := range []string{"logs p -n web", "rollout status deploy/api -n web"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKubectlLeavesSignalsToTheServer$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "REDKUBE_SIGNAL_CHILD="+line)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: the process ended on SIGTERM during the call:\n%s", line, out)
		require.Contains(t, string(out), "server handled SIGTERM", line)
	}
}

func signalChild(t *testing.T, line string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM) // the server's own handler
	f := &fakeAPI{logs: "line\n",
		deployment: `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"api","namespace":"web","generation":1},"spec":{"replicas":1},"status":{"observedGeneration":1}}`}
	inCall, stall := make(chan struct{}, 8), make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/log") || (strings.Contains(r.URL.Path, "/deployments") && !strings.Contains(r.URL.Path, "/deployments/")) {
			inCall <- struct{}{}
			select {
			case <-stall:
			case <-r.Context().Done():
			}
		}
		f.serve(w, r)
	}))
	defer f.srv.Close()
	defer close(stall)
	s := f.server(t)
	go s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: line})
	select {
	case <-inCall:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: the stalled request never came", line)
	}
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	<-sig
	// kubectl's handler, if any, exits at once; the server drains.
	time.Sleep(time.Second)
	t.Log("server handled SIGTERM")
}

// TestKubectlLogsAndRolloutStatusAsKubectlPrintsThem: logs and rollout
// status, run here without kubectl's signal handler, print what kubectl
// prints.
func TestKubectlLogsAndRolloutStatusAsKubectlPrintsThem(t *testing.T) {
	f := &fakeAPI{logs: "one\ntwo\n",
		deployment: `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"api","namespace":"web","generation":1},"spec":{"replicas":1},"status":{"observedGeneration":1,"replicas":1,"updatedReplicas":1,"availableReplicas":1}}`}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/deployments") {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{},"items":[` + f.deployment + `]}`))
			return
		}
		f.serve(w, r)
	}))
	defer f.srv.Close()
	s := f.server(t)
	for line, want := range map[string]string{
		"logs p -n web":                        "one\ntwo\n",
		"logs p -n web --prefix":               "[pod/p/app] one\n[pod/p/app] two\n",
		"rollout status deploy/api -n web":     "deployment \"api\" successfully rolled out\n",
		"rollout status deployment api -n web": "deployment \"api\" successfully rolled out\n",
	} {
		res, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: line})
		require.NoError(t, err, line)
		require.Equal(t, want, res.Text, line)
	}
}
