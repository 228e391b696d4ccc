package kubernetes_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// BenchmarkGetDeployments lists team-a's deployments the same way three
// times: with client-go directly (the floor), and through mcp-kubernetes
// over stdio and over streamable HTTP. It reports p50 and p99 per call.
func BenchmarkGetDeployments(b *testing.B) {
	args := map[string]any{"resource": "deployments", "namespace": "team-a"}
	b.Run("client-go", func(b *testing.B) {
		cs, err := kubernetes.NewForConfig(kube.RESTConfig(kube.ReaderToken))
		if err != nil {
			b.Fatal(err)
		}
		measure(b, func() error {
			_, err := cs.AppsV1().Deployments("team-a").List(context.Background(), metav1.ListOptions{Limit: 100})
			return err
		})
	})
	b.Run("mcp-stdio", func(b *testing.B) {
		s, _ := stdioSession(b, benchFlags...)
		measure(b, func() error { return benchCall(s, args) })
	})
	b.Run("mcp-stdio-contexts", func(b *testing.B) {
		s, _ := stdioSession(b, benchFlags...)
		measure(b, func() error {
			res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "k8s_contexts", Arguments: map[string]any{}})
			if err == nil && res.IsError {
				err = fmt.Errorf("tool error")
			}
			return err
		})
	})
	b.Run("mcp-http", func(b *testing.B) {
		srv := startHTTP(b, benchFlags...)
		s := connect(b, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient(sreToken)})
		measure(b, func() error { return benchCall(s, args) })
	})
}

// benchFlags lift the server's own limits (per-user calls, client-side
// API QPS), so the figures show latency, not throttling.
var benchFlags = []string{"--rate-limit", "0", "--kube-qps", "5000", "--kube-burst", "5000"}

func benchCall(s *mcp.ClientSession, args map[string]any) error {
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "k8s_get", Arguments: args})
	if err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("tool error: %v", res.Content)
	}
	return nil
}

func measure(b *testing.B, f func() error) { harness.Measure(b, f) }
