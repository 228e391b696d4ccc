package tool

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/transport"
)

type benchContext struct {
	Name      string `json:"name"`
	Cluster   string `json:"cluster"`
	Server    string `json:"server"`
	Namespace string `json:"namespace,omitempty"`
	Current   bool   `json:"current"`
	Allowed   bool   `json:"allowed"`
}

type benchContextsOut struct {
	Current string         `json:"current"`
	Items   []benchContext `json:"items"`
}

// benchContexts is k8s_contexts' shape: no upstream call, a small
// structured result and its rendering.
func benchContexts(context.Context, *Call, struct{}) (*Result, error) {
	out := benchContextsOut{Current: "kind-e2e", Items: []benchContext{
		{Name: "kind-e2e", Cluster: "kind-e2e", Server: "https://127.0.0.1:6443", Namespace: "default", Current: true, Allowed: true},
		{Name: "staging", Cluster: "staging", Server: "https://127.0.0.1:7443", Allowed: true},
	}}
	return &Result{Data: out, Render: func(d map[string]any) string {
		var b strings.Builder
		items, _ := d["items"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			fmt.Fprintf(&b, "%v %v %v\n", m["name"], m["cluster"], m["server"])
		}
		return b.String()
	}}, nil
}

// BenchmarkPipelineCall is one tools/call over streamable HTTP (a
// 2025-11-25 session, bearer auth) of a tool that reads no upstream, as
// k8s_contexts: through the binder (policy, rate limit, schema, masking,
// budget, audit to a file, metrics), beside the same tool registered on
// the SDK server bare, and through the binder with the session's server
// built once instead of on every request. The differences are the
// pipeline's own cost per call; profile it with -cpuprofile /
// -memprofile.
//
//	go test -run '^$' -bench PipelineCall -benchtime 3s -cpuprofile cpu.out ./shared/tool/
func BenchmarkPipelineCall(b *testing.B) {
	toks, err := auth.ParseTokens([]byte("alice-tok-0123456789abcdef,alice,viewer\n"))
	if err != nil {
		b.Fatal(err)
	}
	tl := New[struct{}, benchContextsOut]("k8s_contexts", "List contexts", "contexts", benchContexts)
	binder := benchBinder(b)
	for _, mode := range []string{"bare", "binder", "binder-built-once"} {
		b.Run(mode, func(b *testing.B) {
			var once *mcp.Server
			newServer := func(p auth.Principal, session string) *mcp.Server {
				if once != nil {
					return once
				}
				srv := mcp.NewServer(&mcp.Implementation{Name: "bench"}, nil)
				if mode == "bare" {
					srv.AddTool(&mcp.Tool{Name: tl.Name, InputSchema: tl.Input}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
						res, _ := benchContexts(ctx, nil, struct{}{})
						return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: res.Render(map[string]any{})}}}, nil
					})
					return srv
				}
				binder.Bind(srv, p, session)
				if mode == "binder-built-once" {
					// What the transport could do for a request of a
					// session it holds: the SDK asks for a server on every
					// request, only to read its protocol versions.
					once = srv
				}
				return srv
			}
			h := transport.Handler(transport.HTTPOptions{NewServer: newServer, Verifier: toks})
			ts := httptest.NewServer(h)
			defer ts.Close()
			c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "0"}, nil)
			cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp",
				HTTPClient: &http.Client{Transport: auth.Bearer{Token: "alice-tok-0123456789abcdef"}}, DisableStandaloneSSE: true, MaxRetries: -1},
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				b.Fatal(err)
			}
			defer cs.Close()
			params := &mcp.CallToolParams{Name: "k8s_contexts", Arguments: map[string]any{}}
			b.ReportAllocs()
			for b.Loop() {
				res, err := cs.CallTool(context.Background(), params)
				if err != nil || res.IsError {
					b.Fatal(err, res)
				}
			}
		})
	}
}

// benchBinder is a server's binder as serve.Run makes it: a policy that
// grants the tool by pattern, a rate limit too high to bite, audit to a
// file, metrics.
func benchBinder(b *testing.B) *Binder {
	pol, err := policy.Parse([]byte("roles:\n  viewer:\n    tools: [\"k8s_*\"]\n"))
	if err != nil {
		b.Fatal(err)
	}
	log, err := audit.Open(filepath.Join(b.TempDir(), "audit.log"), 100, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Close() })
	return &Binder{Server: "bench", Tools: []Tool{New[struct{}, benchContextsOut]("k8s_contexts", "List contexts", "contexts", benchContexts)},
		Masker: mask.New(nil), Audit: log, Metrics: metrics.New("bench"), Policy: pol,
		MaxBytes: 32 << 10, RatePerMinute: 1e9, Burst: 1e6, AuditRequired: true}
}

type benchGetIn struct {
	Kind          string `json:"kind" jsonschema:"resource kind, e.g. pods"`
	Namespace     string `json:"namespace,omitempty" jsonschema:"namespace; empty for all allowed"`
	Name          string `json:"name,omitempty" jsonschema:"object name"`
	LabelSelector string `json:"label_selector,omitempty" jsonschema:"label selector"`
	FieldSelector string `json:"field_selector,omitempty" jsonschema:"field selector"`
	Limit         int    `json:"limit,omitempty" jsonschema:"items per page"`
	Context       string `json:"context,omitempty" jsonschema:"kubeconfig context"`
}

type benchGetOut struct {
	Items []map[string]any `json:"items"`
	Kind  string           `json:"kind"`
}

// BenchmarkBind is what building a session's server costs a server of
// 15 tools: mcp.NewServer and Binder.Bind, which serve.Run's NewServer
// does (and which the SDK's streamable handler asks for on every HTTP
// request).
func BenchmarkBind(b *testing.B) {
	var tools []Tool
	for i := 0; i < 15; i++ {
		tools = append(tools, New[benchGetIn, benchGetOut](fmt.Sprintf("k8s_tool_%d", i), "Get", "gets objects", func(context.Context, *Call, benchGetIn) (*Result, error) { return &Result{}, nil }))
	}
	bd := &Binder{Server: "bench", Tools: tools, Masker: mask.New(nil), Policy: policy.OpenPolicy(), MaxBytes: 32 << 10}
	b.ReportAllocs()
	for b.Loop() {
		srv := mcp.NewServer(&mcp.Implementation{Name: "bench"}, nil)
		bd.Bind(srv, auth.Principal{User: "alice"}, "")
	}
}
