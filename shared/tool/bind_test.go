package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

type echoIn struct {
	Text  string `json:"text"`
	Panic bool   `json:"panic,omitempty"`
}
type echoOut struct {
	Text string `json:"text"`
}

const planted = "password=Hx7-planted-9Q"

// session binds one echo tool for p and connects an in-memory client.
func session(t *testing.T, p auth.Principal, pol *policy.Policy, rate float64) (*mcp.ClientSession, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	echo := New[echoIn, echoOut]("test_echo", "Echo", "echoes", func(ctx context.Context, c *Call, in echoIn) (*Result, error) {
		if in.Panic {
			panic("boom")
		}
		if in.Text == "deny" {
			return nil, Deniedf("not for you")
		}
		return &Result{Data: echoOut{Text: in.Text}, Text: in.Text}, nil
	})
	b := &Binder{Server: "test", Tools: []Tool{echo}, Masker: mask.New(nil), Audit: audit.New(&log),
		Metrics: metrics.New("test"), Policy: pol, MaxBytes: 1024, RatePerMinute: rate, Burst: 2}
	srv := mcp.NewServer(&mcp.Implementation{Name: "test"}, nil)
	b.Bind(srv, p, "s1")
	ct, st := mcp.NewInMemoryTransports()
	_, err := srv.Connect(context.Background(), st, nil)
	require.NoError(t, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { cs.Close() })
	return cs, &log
}

func callEcho(t *testing.T, cs *mcp.ClientSession, args map[string]any) (*mcp.CallToolResult, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_echo", Arguments: args})
	require.NoError(t, err)
	raw, _ := json.Marshal(res)
	return res, string(raw)
}

func TestEveryResultMaskedAndAudited(t *testing.T) {
	cs, log := session(t, auth.Principal{User: "alice"}, policy.OpenPolicy(), 0)
	res, raw := callEcho(t, cs, map[string]any{"text": "db " + planted})
	assert.False(t, res.IsError)
	assert.NotContains(t, raw, "Hx7-planted-9Q", "text and structured content masked")
	assert.Contains(t, raw, "[MASKED:password:")

	var rec audit.Record
	require.NoError(t, json.Unmarshal(log.Bytes(), &rec))
	assert.Equal(t, "alice", rec.User)
	assert.Equal(t, "s1", rec.Session)
	assert.Equal(t, "ok", rec.Outcome)
	assert.Equal(t, 3, rec.Masked, "once in the text, once in the structure, once in the audited arguments")
	assert.NotContains(t, log.String(), "Hx7-planted-9Q", "the audit log never holds a raw secret")
	assert.Len(t, rec.ArgsSHA256, 64)

	// A secret in an argument of the wrong type is quoted by the schema
	// error; it must be masked there too, in the result and the audit line.
	log.Reset()
	res, raw = callEcho(t, cs, map[string]any{"text": "x", "panic": planted})
	assert.True(t, res.IsError)
	assert.Contains(t, raw, "panic")
	assert.NotContains(t, raw, "Hx7-planted-9Q")
	assert.NotContains(t, log.String(), "Hx7-planted-9Q")
}

func TestDeniedRateLimitedAndPanics(t *testing.T) {
	pol, err := policy.Parse([]byte("roles:\n  other:\n    tools: [\"x_*\"]\n"))
	require.NoError(t, err)
	cs, log := session(t, auth.Principal{User: "bob", Roles: []string{"other"}}, pol, 0)
	res, raw := callEcho(t, cs, map[string]any{"text": "hi"})
	assert.True(t, res.IsError)
	assert.Contains(t, raw, "may not call test_echo")
	assert.Contains(t, log.String(), `"outcome":"denied"`)

	cs, log = session(t, auth.Principal{User: "carol"}, policy.OpenPolicy(), 1)
	for i := 0; i < 2; i++ {
		res, _ := callEcho(t, cs, map[string]any{"text": "hi"})
		assert.False(t, res.IsError)
	}
	res, raw = callEcho(t, cs, map[string]any{"text": "hi"})
	assert.True(t, res.IsError)
	assert.Contains(t, raw, "rate limited")
	assert.Contains(t, log.String(), `"outcome":"rate_limited"`)

	cs, log = session(t, auth.Principal{User: "dave"}, policy.OpenPolicy(), 0)
	res, raw = callEcho(t, cs, map[string]any{"text": "hi", "panic": true})
	assert.True(t, res.IsError)
	assert.Contains(t, raw, "the server is still running")
	res, _ = callEcho(t, cs, map[string]any{"text": "deny"})
	assert.True(t, res.IsError)
	res, _ = callEcho(t, cs, map[string]any{"text": "after"})
	assert.False(t, res.IsError)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[0], `"outcome":"error"`)
	assert.Contains(t, lines[1], `"outcome":"denied"`)
}

func TestBudgetAndCursor(t *testing.T) {
	cs, _ := session(t, auth.Principal{User: "erin"}, policy.OpenPolicy(), 0)
	long := strings.Repeat("0123456789 abcdefghij\n", 60) // 1320 bytes
	var got strings.Builder
	args := map[string]any{"text": long, "max_bytes": 300}
	for i := 0; ; i++ {
		require.Less(t, i, 20)
		res, _ := callEcho(t, cs, args)
		require.False(t, res.IsError)
		text := res.Content[0].(*mcp.TextContent).Text
		sc, _ := json.Marshal(res.StructuredContent)
		var data map[string]any
		json.Unmarshal(sc, &data)
		cursor, _ := data["cursor"].(string)
		if cursor == "" {
			got.WriteString(text)
			break
		}
		assert.Equal(t, true, data["truncated"])
		body, note, ok := strings.Cut(text, "[truncated: ")
		require.True(t, ok, "the text says it was cut")
		assert.Contains(t, note, cursor)
		got.WriteString(body)
		args["cursor"] = cursor
	}
	assert.Equal(t, long, got.String())

	res, raw := callEcho(t, cs, map[string]any{"text": "x", "max_bytes": 10})
	assert.True(t, res.IsError, "max_bytes below the schema minimum")
	assert.Contains(t, raw, "max_bytes")
}

type seqIn struct {
	Limit int `json:"limit"`
}
type seqItem struct {
	N    int    `json:"n"`
	Line string `json:"line"`
}
type seqOut struct {
	Items []seqItem `json:"items"`
}

// TestPositionCursor pages newest first through a source that keeps
// growing between calls, as logs do: the tool's own position (not an item
// index) must continue without gaps or repeats, whether the budget or the
// tool's limit stopped a page.
func TestPositionCursor(t *testing.T) {
	newest := 100 // items 1..newest exist; more arrive between calls
	seq := New[seqIn, seqOut]("test_seq", "Seq", "newest first", func(ctx context.Context, c *Call, in seqIn) (*Result, error) {
		from := newest
		if c.Resume != "" {
			fmt.Sscan(c.Resume, &from)
		}
		var out seqOut
		for n := from; n >= 1 && len(out.Items) < in.Limit; n-- {
			pad := 20
			if n%6 == 0 {
				pad = 400 // some pages are over the budget
			}
			out.Items = append(out.Items, seqItem{N: n, Line: fmt.Sprintf("line %03d %s", n, strings.Repeat("x", pad))})
		}
		return &Result{Data: out, Render: func(d map[string]any) string {
			var b strings.Builder
			for _, it := range d["items"].([]any) {
				b.WriteString(it.(map[string]any)["line"].(string) + "\n")
			}
			return b.String()
		}, Resume: func(shown int) string {
			return fmt.Sprint(from - shown)
		}, More: from-len(out.Items) >= 1}, nil
	})
	b := &Binder{Server: "test", Tools: []Tool{seq}, Masker: mask.New(nil), Audit: audit.New(io.Discard),
		Metrics: metrics.New("test"), Policy: policy.OpenPolicy(), MaxBytes: 1024}
	srv := mcp.NewServer(&mcp.Implementation{Name: "test"}, nil)
	b.Bind(srv, auth.Principal{User: "erin"}, "s1")
	ct, st := mcp.NewInMemoryTransports()
	_, err := srv.Connect(context.Background(), st, nil)
	require.NoError(t, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	require.NoError(t, err)
	defer cs.Close()

	args := map[string]any{"limit": 7, "max_bytes": 1000}
	var got []int
	sawMore, sawCut := false, false
	for i := 0; ; i++ {
		require.Less(t, i, 60)
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_seq", Arguments: args})
		require.NoError(t, err)
		require.False(t, res.IsError)
		sc, _ := json.Marshal(res.StructuredContent)
		var data struct {
			Items     []seqItem `json:"items"`
			Cursor    string    `json:"cursor"`
			Truncated bool      `json:"truncated"`
		}
		require.NoError(t, json.Unmarshal(sc, &data))
		for _, it := range data.Items {
			got = append(got, it.N)
		}
		text := res.Content[0].(*mcp.TextContent).Text
		if data.Cursor == "" {
			break
		}
		if data.Truncated {
			sawCut = true
			assert.Contains(t, text, "[truncated: ")
		} else {
			sawMore = true
			assert.Contains(t, text, "[more: ")
		}
		args["cursor"] = data.Cursor
		newest += 3 // new lines arrive; they must not appear in this walk
	}
	assert.True(t, sawMore && sawCut, "both the limit and the budget stopped some page")
	want := make([]int, 0, 100)
	for n := 100; n >= 1; n-- {
		want = append(want, n)
	}
	assert.Equal(t, want, got)
}
