package tool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/policy"
)

const splitSecret = "Qx7splitSecretVal9"

// composer renders one item whose fields, each harmless alone, make a
// "password: <value>" line only once composed, longer than any budget:
// the budget then pages through the rendered text.
var composer = New[struct{}, map[string]any]("test_compose", "Compose", "compose", func(ctx context.Context, c *Call, in struct{}) (*Result, error) {
	item := map[string]any{"pad": strings.Repeat("x", 236), "key": "password", "value": splitSecret}
	return &Result{Data: map[string]any{"items": []any{item}}, Render: func(d map[string]any) string {
		return Rows(d, func(m map[string]any) string {
			return Str(m["pad"]) + " " + Str(m["key"]) + ": " + Str(m["value"])
		})
	}}, nil
})

// TestRenderedSecretIsMaskedBeforeItIsPaged: a renderer that composes a
// secret out of separately harmless fields gets it masked before the
// budget cuts the text into pages; no page, and no pages joined, show it.
func TestRenderedSecretIsMaskedBeforeItIsPaged(t *testing.T) {
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), composer)
	cs := connect(t, b, auth.Principal{User: "a"})
	args := map[string]any{"max_bytes": 256}
	var joined strings.Builder
	for page := 0; page < 10; page++ {
		res, raw := callTool(t, cs, "test_compose", args, nil)
		require.False(t, res.IsError, raw)
		assert.NotContains(t, raw, splitSecret)
		joined.WriteString(res.Content[0].(*mcp.TextContent).Text)
		var d struct {
			Cursor string `json:"cursor"`
		}
		sc, _ := json.Marshal(res.StructuredContent)
		require.NoError(t, json.Unmarshal(sc, &d))
		if d.Cursor == "" {
			break
		}
		args["cursor"] = d.Cursor
	}
	for _, tail := range []string{splitSecret, splitSecret[:9], splitSecret[9:]} {
		assert.NotContains(t, joined.String(), tail)
	}
}

// TestCursorIsBoundToTheCallersSource: an OIDC user who took a token-file
// user's name does not continue that user's cursor (sessions are bound
// the same way in shared/transport).
func TestCursorIsBoundToTheCallersSource(t *testing.T) {
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), pager)
	file := connect(t, b, auth.Principal{User: "alice"})
	oidc := connect(t, b, auth.Principal{User: "alice", OIDC: true})
	res, _ := callTool(t, file, "test_lines", map[string]any{"n": 50, "max_bytes": 300}, nil)
	c := cursorOf(t, res)
	res, raw := callTool(t, oidc, "test_lines", map[string]any{"n": 50, "max_bytes": 300, "cursor": c}, nil)
	assert.True(t, res.IsError, "the other source's cursor is refused")
	assert.Contains(t, raw, "does not belong to this call")
}

// TestRateLimitIsPerSource: an OIDC user named like a token-file user
// cannot spend that user's calls.
func TestRateLimitIsPerSource(t *testing.T) {
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), pager)
	b.RatePerMinute, b.Burst = 1, 1
	oidc := connect(t, b, auth.Principal{User: "alice", OIDC: true})
	file := connect(t, b, auth.Principal{User: "alice"})
	res, _ := callTool(t, oidc, "test_lines", map[string]any{"n": 1}, nil)
	assert.False(t, res.IsError)
	res, raw := callTool(t, file, "test_lines", map[string]any{"n": 1}, nil)
	assert.False(t, res.IsError, "the token-file user still has its own call: %s", raw)
	res, _ = callTool(t, oidc, "test_lines", map[string]any{"n": 1}, nil)
	assert.True(t, res.IsError, "the OIDC user is over its own limit")
}

var keyed = New[struct{}, map[string]any]("test_keys", "Keys", "keys", func(ctx context.Context, c *Call, in struct{}) (*Result, error) {
	return &Result{Data: map[string]any{"labels": map[string]any{"Authorization: Bearer " + splitSecret: "1", "password=" + splitSecret: "x"}}}, nil
})

// TestSecretInAMapKeyIsMasked: upstream data whose map keys carry a
// secret (a JSON log line's field name, a label) is masked like a value.
func TestSecretInAMapKeyIsMasked(t *testing.T) {
	var log bytes.Buffer
	b := binder(&log, policy.OpenPolicy(), keyed)
	cs := connect(t, b, auth.Principal{User: "a"})
	res, raw := callTool(t, cs, "test_keys", map[string]any{}, nil)
	require.False(t, res.IsError, raw)
	assert.NotContains(t, raw, splitSecret)
	// The audit of arguments masks keys too.
	_, _ = callTool(t, cs, "test_keys", map[string]any{"password=" + splitSecret: 1}, nil)
	assert.NotContains(t, log.String(), splitSecret)
}

// TestAuditArgsHashIsKeyed: the audit line's args_sha256 is keyed. A plain
// SHA-256 of the arguments let anyone with the audit log confirm a guess
// of a masked value (a password pasted into a grep pattern): hash the
// guessed arguments and compare.
func TestAuditArgsHashIsKeyed(t *testing.T) {
	sums := map[string]bool{}
	for i := 0; i < 2; i++ {
		var log bytes.Buffer
		b := binder(&log, policy.OpenPolicy(), pager)
		cs := connect(t, b, auth.Principal{User: "a"})
		_, _ = callTool(t, cs, "test_lines", map[string]any{"n": 1}, nil)
		var rec struct {
			Sum string `json:"args_sha256"`
		}
		require.NoError(t, json.Unmarshal(log.Bytes(), &rec))
		require.Len(t, rec.Sum, 64)
		plain := sha256.Sum256([]byte(`{"n":1}`))
		assert.NotEqual(t, hex.EncodeToString(plain[:]), rec.Sum)
		sums[rec.Sum] = true
	}
	assert.Len(t, sums, 2, "two servers with their own keys give two sums for the same arguments")
}

var panicky = New[struct{}, map[string]any]("test_panic", "Panic", "panic", func(ctx context.Context, c *Call, in struct{}) (*Result, error) {
	panic("cannot parse line: password=" + splitSecret)
})

// TestPanicValueIsMaskedInTheServerLog: a panic's value (often the input
// that tripped it, an upstream line) goes to the server's log masked: that
// log is shipped and read like any other.
func TestPanicValueIsMaskedInTheServerLog(t *testing.T) {
	var logs bytes.Buffer
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), panicky)
	b.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	cs := connect(t, b, auth.Principal{User: "a"})
	res, raw := callTool(t, cs, "test_panic", map[string]any{}, nil)
	assert.True(t, res.IsError)
	assert.NotContains(t, raw, splitSecret)
	assert.Contains(t, logs.String(), "panicked")
	assert.NotContains(t, logs.String(), splitSecret)
}

const pemBody = "MIIEowIBAAKCAQEAx7pemBodyLineOne0123456789abcdefghij"

var pemText = New[struct{}, map[string]any]("test_pem", "PEM", "pem", func(ctx context.Context, c *Call, in struct{}) (*Result, error) {
	text := strings.Repeat("log line before the key\n", 8) +
		"-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat(pemBody+"\n", 12) + "-----END RSA PRIVATE KEY-----\n" +
		strings.Repeat("log line after the key\n", 8)
	return &Result{Text: text}, nil
})

// TestTextPagesNeverStartInsideAMaskedValue: a text result is masked
// whole before it is cut, so no page (and no pages joined) shows a line
// of a multi-line secret, whatever the budget.
func TestTextPagesNeverStartInsideAMaskedValue(t *testing.T) {
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), pemText)
	cs := connect(t, b, auth.Principal{User: "a"})
	for _, budget := range []int{256, 300, 333, 512} {
		args := map[string]any{"max_bytes": budget}
		var joined strings.Builder
		for page := 0; page < 50; page++ {
			res, raw := callTool(t, cs, "test_pem", args, nil)
			require.False(t, res.IsError, raw)
			joined.WriteString(res.Content[0].(*mcp.TextContent).Text)
			var d struct {
				Cursor string `json:"cursor"`
			}
			sc, _ := json.Marshal(res.StructuredContent)
			require.NoError(t, json.Unmarshal(sc, &d))
			if d.Cursor == "" {
				break
			}
			args["cursor"] = d.Cursor
		}
		assert.NotContains(t, joined.String(), pemBody[:20], "budget %d", budget)
		assert.Contains(t, joined.String(), "log line after the key", "budget %d: paging reached the end", budget)
	}
}

// TestCursorArgsIDIsKeyed: a cursor shows the caller (and, among the
// arguments, the audit log) an id of the arguments; a plain hash prefix
// would let a reader confirm a guessed masked argument.
func TestCursorArgsIDIsKeyed(t *testing.T) {
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), pager)
	cs := connect(t, b, auth.Principal{User: "a"})
	res, _ := callTool(t, cs, "test_lines", map[string]any{"n": 50, "max_bytes": 300}, nil)
	c := cursorOf(t, res)
	body, _, _ := strings.Cut(c, ".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	require.NoError(t, err)
	var cur struct {
		Args string `json:"a"`
	}
	require.NoError(t, json.Unmarshal(raw, &cur))
	require.NotEmpty(t, cur.Args)
	plain := sha256.Sum256([]byte(`{"n":50}`))
	assert.NotEqual(t, hex.EncodeToString(plain[:6]), cur.Args)
}

// TestRateLimitIsTheUsersAlsoThroughADelegate: a user's calls through the
// orchestrator spend the same budget as the user's own calls, so the
// delegate does not double it.
func TestRateLimitIsTheUsersAlsoThroughADelegate(t *testing.T) {
	b := binder(&bytes.Buffer{}, policy.OpenPolicy(), pager)
	b.RatePerMinute, b.Burst = 1, 1
	direct := connect(t, b, auth.Principal{User: "alice"})
	via := connect(t, b, auth.Principal{User: "alice", Via: "orchestrator"})
	res, _ := callTool(t, direct, "test_lines", map[string]any{"n": 1}, nil)
	assert.False(t, res.IsError)
	res, raw := callTool(t, via, "test_lines", map[string]any{"n": 1}, nil)
	assert.True(t, res.IsError, "alice's budget is spent, through the orchestrator too: %s", raw)
	other := connect(t, b, auth.Principal{User: "bob", Via: "orchestrator"})
	res, raw = callTool(t, other, "test_lines", map[string]any{"n": 1}, nil)
	assert.False(t, res.IsError, "another user through the same delegate has their own: %s", raw)
}
