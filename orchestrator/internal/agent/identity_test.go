package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/catalog"
	"github.com/opsmcp/opsmcp/shared/auth"
)

// TestServeCallsNameTheUser: on serve (the Agent not AsItself), every
// tool call of an answer, the kubectl fast path's too, tells the MCP
// server the asking user and carries the answer's request id as its
// traceparent; ask and chat (AsItself) name nobody.
func TestServeCallsNameTheUser(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "who"}, nil)
	report := func(r *mcp.CallToolRequest) *mcp.CallToolResult {
		h := r.Extra.Header
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("user=%s oidc=%s traceparent=%s",
			h.Get(auth.HeaderOnBehalfOf), h.Get(auth.HeaderUserToken), h.Get("traceparent"))}}}
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "k8s_get", Description: "Get Kubernetes objects such as pods"},
		func(ctx context.Context, r *mcp.CallToolRequest, in getIn) (*mcp.CallToolResult, any, error) {
			return report(r), nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "k8s_kubectl", Description: "Run a read-only kubectl command"},
		func(ctx context.Context, r *mcp.CallToolRequest, in kubectlIn) (*mcp.CallToolResult, any, error) {
			return report(r), nil, nil
		})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(hs.Close)
	cfgPath := filepath.Join(t.TempDir(), "servers.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("servers:\n  - name: k8s\n    url: "+hs.URL+"\n"), 0o600))
	cfg, err := catalog.Load(cfgPath)
	require.NoError(t, err)
	cat, err := catalog.Connect(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(cat.Close)

	a, s := agent(t)
	a.Catalog = cat
	s.respond = func(req api.ChatRequest) api.Message {
		if last := req.Messages[len(req.Messages)-1]; last.Role == "tool" {
			return api.Message{Role: "assistant", Content: last.Content}
		}
		return call("k8s_get", map[string]any{"kind": "pods"})
	}
	ann := auth.With(context.Background(), auth.Principal{User: "ann", Roles: []string{"web"}})
	ans, err := a.Ask(ann, "which pods run?")
	require.NoError(t, err)
	assert.Contains(t, ans.Text, "user=ann oidc= traceparent=00-"+ans.RequestID+"-")
	ans, err = a.Ask(ann, "kubectl get pods -n kube-system")
	require.NoError(t, err)
	assert.Contains(t, ans.Text, "user=ann oidc= traceparent=00-"+ans.RequestID+"-", "the fast path too")

	olga := auth.WithBearer(auth.With(context.Background(), auth.Principal{User: "olga", OIDC: true}), "eyJ.olga")
	ans, err = a.Ask(olga, "which pods run?")
	require.NoError(t, err)
	assert.Contains(t, ans.Text, "user= oidc=eyJ.olga traceparent=00-"+ans.RequestID+"-")

	a.AsItself = true
	ans, err = a.Ask(ann, "which pods run?")
	require.NoError(t, err)
	assert.Contains(t, ans.Text, "user= oidc= traceparent=00-"+ans.RequestID+"-", "ask and chat name nobody")
}
