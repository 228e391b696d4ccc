package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
)

// connect binds b for p and returns a connected in-memory client.
func connect(t *testing.T, b *Binder, p auth.Principal) *mcp.ClientSession {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "test"}, nil)
	b.Bind(srv, p, "s1")
	ct, st := mcp.NewInMemoryTransports()
	_, err := srv.Connect(context.Background(), st, nil)
	require.NoError(t, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, meta mcp.Meta) (*mcp.CallToolResult, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args, Meta: meta})
	require.NoError(t, err)
	raw, _ := json.Marshal(res)
	return res, string(raw)
}

type lineIn struct {
	N     int  `json:"n"`
	Panic bool `json:"panic,omitempty"`
}

// pager returns n lines; with panic, its renderer panics, which happens in
// the binder's shaping, after the handler returned.
var pager = New[lineIn, map[string]any]("test_lines", "Lines", "lines", func(ctx context.Context, c *Call, in lineIn) (*Result, error) {
	items := make([]any, in.N)
	for i := range items {
		items[i] = map[string]any{"line": strings.Repeat("x", 40)}
	}
	return &Result{Data: map[string]any{"items": items}, Render: func(d map[string]any) string {
		if in.Panic {
			panic("renderer bug")
		}
		return Rows(d, func(m map[string]any) string { return Str(m["line"]) })
	}}, nil
})

func binder(log *bytes.Buffer, pol *policy.Policy, tools ...Tool) *Binder {
	return &Binder{Server: "test", Tools: tools, Masker: mask.New(nil), Audit: audit.New(log),
		Metrics: metrics.New("test"), Policy: pol, MaxBytes: 1024}
}

func TestPanicWhileShapingIsAnAuditedError(t *testing.T) {
	var log bytes.Buffer
	cs := connect(t, binder(&log, policy.OpenPolicy(), pager), auth.Principal{User: "a"})
	res, raw := callTool(t, cs, "test_lines", map[string]any{"n": 3, "panic": true}, nil)
	assert.True(t, res.IsError)
	assert.Contains(t, raw, "the server is still running")
	res, _ = callTool(t, cs, "test_lines", map[string]any{"n": 3}, nil)
	assert.False(t, res.IsError, "the server keeps serving")
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"outcome":"error"`)
	assert.Contains(t, lines[1], `"outcome":"ok"`)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestAuditRequired(t *testing.T) {
	b := binder(nil, policy.OpenPolicy(), pager)
	b.Audit = audit.New(failWriter{})
	b.AuditRequired = true
	cs := connect(t, b, auth.Principal{User: "a"})
	res, raw := callTool(t, cs, "test_lines", map[string]any{"n": 1}, nil)
	assert.True(t, res.IsError, "no result leaves without its audit record")
	assert.Contains(t, raw, "audit log unavailable")
	assert.NotContains(t, raw, strings.Repeat("x", 40), "the result is withheld")

	b2 := binder(nil, policy.OpenPolicy(), pager)
	b2.Audit = audit.New(failWriter{})
	cs = connect(t, b2, auth.Principal{User: "a"})
	res, _ = callTool(t, cs, "test_lines", map[string]any{"n": 1}, nil)
	assert.False(t, res.IsError, "without --audit-required a failed write is only logged")
}

func TestDeniedCallsCountAgainstTheRateLimit(t *testing.T) {
	pol, err := policy.Parse([]byte("roles:\n  other:\n    tools: [\"test_echo\"]\n"))
	require.NoError(t, err)
	var log bytes.Buffer
	b := binder(&log, pol, pager)
	b.RatePerMinute, b.Burst = 1, 2
	cs := connect(t, b, auth.Principal{User: "mallory", Roles: []string{"other"}})
	for i := 0; i < 2; i++ {
		_, raw := callTool(t, cs, "test_lines", map[string]any{"n": 1}, nil)
		assert.Contains(t, raw, "may not call")
	}
	_, raw := callTool(t, cs, "test_lines", map[string]any{"n": 1}, nil)
	assert.Contains(t, raw, "rate limited")
	assert.Equal(t, 1, strings.Count(log.String(), `"outcome":"rate_limited"`))
}

// cursorOf returns the cursor of a cut result.
func cursorOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	sc, _ := json.Marshal(res.StructuredContent)
	var d struct {
		Cursor string `json:"cursor"`
	}
	require.NoError(t, json.Unmarshal(sc, &d))
	require.NotEmpty(t, d.Cursor)
	return d.Cursor
}

func TestCursorsAreBoundToCallerAndArguments(t *testing.T) {
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), pager)
	alice := connect(t, b, auth.Principal{User: "alice"})
	bob := connect(t, b, auth.Principal{User: "bob"})
	res, _ := callTool(t, alice, "test_lines", map[string]any{"n": 50, "max_bytes": 300}, nil)
	c := cursorOf(t, res)

	res, _ = callTool(t, alice, "test_lines", map[string]any{"n": 50, "max_bytes": 300, "cursor": c}, nil)
	assert.False(t, res.IsError, "the owner continues")

	res, raw := callTool(t, bob, "test_lines", map[string]any{"n": 50, "max_bytes": 300, "cursor": c}, nil)
	assert.True(t, res.IsError, "another caller's cursor is refused")
	assert.Contains(t, raw, "does not belong to this call")

	res, _ = callTool(t, alice, "test_lines", map[string]any{"n": 49, "max_bytes": 300, "cursor": c}, nil)
	assert.True(t, res.IsError, "other arguments")

	body, sig, _ := strings.Cut(c, ".")
	forged := strings.TrimRight(body, "=") + "A." + sig
	res, _ = callTool(t, alice, "test_lines", map[string]any{"n": 50, "max_bytes": 300, "cursor": forged}, nil)
	assert.True(t, res.IsError, "a changed cursor")
	res, _ = callTool(t, alice, "test_lines", map[string]any{"n": 50, "max_bytes": 300, "cursor": body}, nil)
	assert.True(t, res.IsError, "an unsigned cursor")
}

func TestRequestIDAndDelegateInAudit(t *testing.T) {
	pol, err := policy.Parse([]byte(`roles:
  web:
    tools: ["test_*"]
    scopes:
      namespaces: ["web"]
  orchestrator:
    tools: ["test_lines"]
  narrow:
    tools: ["other_*"]
`))
	require.NoError(t, err)
	var log bytes.Buffer
	cs := connect(t, binder(&log, pol, pager), auth.Principal{User: "dev", Roles: []string{"web"}, Via: "mcp-orchestrator", ViaRoles: []string{"orchestrator"}})
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	res, _ := callTool(t, cs, "test_lines", map[string]any{"n": 1}, mcp.Meta{"traceparent": tp})
	assert.False(t, res.IsError)
	var rec audit.Record
	require.NoError(t, json.Unmarshal(log.Bytes(), &rec))
	assert.Equal(t, "dev", rec.User)
	assert.Equal(t, "mcp-orchestrator", rec.Via)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", rec.RequestID)

	// A malformed traceparent is caller input: not recorded.
	log.Reset()
	callTool(t, cs, "test_lines", map[string]any{"n": 1}, mcp.Meta{"traceparent": "00-\"injected\"-x-01"})
	var rec2 audit.Record
	require.NoError(t, json.Unmarshal(log.Bytes(), &rec2))
	assert.Empty(t, rec2.RequestID)

	// The delegate's own grant bounds the user's.
	log.Reset()
	cs = connect(t, binder(&log, pol, pager), auth.Principal{User: "dev", Roles: []string{"web"}, Via: "bot", ViaRoles: []string{"narrow"}})
	res, raw := callTool(t, cs, "test_lines", map[string]any{"n": 1}, nil)
	assert.True(t, res.IsError)
	assert.Contains(t, raw, "may not call test_lines")
	assert.Contains(t, log.String(), `"outcome":"denied"`)
}
