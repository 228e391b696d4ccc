// Package deploy_test renders deploy/ with Kustomize's Go API, checks the
// objects against the deployment policy, and applies every one with
// server-side dry-run (strict field validation) to a real kube-apiserver
// started by the harness, with the Flux, ollama-operator, Argo CD and
// Traefik CRDs installed from testdata/crds.
package deploy_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

var kubeAPI *harness.Kube

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "opsmcp-e2e-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kubeAPI, err = harness.StartKube(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start kube:", err)
		return 1
	}
	defer kubeAPI.Stop()
	return m.Run()
}
