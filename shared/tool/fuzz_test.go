package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/policy"
)

type fuzzIn struct {
	Render bool `json:"render,omitempty"`
}

// FuzzPages asserts that, for any text around a planted secret, either as
// a handler's text or as fields a renderer composes, at any budget, no
// page of the result, and no pages joined, show the secret, and that
// paging ends.
func FuzzPages(f *testing.F) {
	f.Add("", "", uint16(256), false)
	f.Add(strings.Repeat("x", 240), "tail", uint16(256), true)
	f.Add("a\nb\n", strings.Repeat("y\n", 200), uint16(300), false)
	f.Add("-----BEGIN RSA PRIVATE KEY-----\n", "\n-----END RSA PRIVATE KEY-----", uint16(257), false)
	f.Fuzz(func(t *testing.T, prefix, suffix string, budget uint16, render bool) {
		const secret = "Qx7fuzzSecretVal9"
		if len(prefix)+len(suffix) > 4096 {
			return
		}
		h := New[fuzzIn, map[string]any]("test_fuzz", "Fuzz", "fuzz", func(ctx context.Context, c *Call, in fuzzIn) (*Result, error) {
			if !in.Render {
				return &Result{Text: prefix + "password: " + secret + "\n" + suffix}, nil
			}
			item := map[string]any{"pre": prefix, "key": "password", "value": secret, "post": suffix}
			return &Result{Data: map[string]any{"items": []any{item}}, Render: func(d map[string]any) string {
				return Rows(d, func(m map[string]any) string {
					return Str(m["pre"]) + Str(m["key"]) + ": " + Str(m["value"]) + " " + Str(m["post"])
				})
			}}, nil
		})
		b := binder(&bytes.Buffer{}, policy.OpenPolicy(), h)
		b.prepare()
		pt := &b.prepared[0]
		max := 256 + int(budget)%2048
		args := map[string]any{"max_bytes": max, "render": render}
		var joined strings.Builder
		for page := 0; ; page++ {
			if page > 200 {
				t.Fatalf("paging did not end at budget %d", max)
			}
			raw, _ := json.Marshal(args)
			res := b.call(context.Background(), pt, auth.Principal{User: "f"}, "s", "", raw, nil)
			out, _ := json.Marshal(res)
			if strings.Contains(string(out), secret) {
				t.Fatalf("page %d shows the secret: %s", page, out)
			}
			if res.IsError {
				t.Fatalf("error: %s", out)
			}
			joined.WriteString(res.Content[0].(*mcp.TextContent).Text)
			var d struct {
				Cursor string `json:"cursor"`
			}
			_ = json.Unmarshal(res.StructuredContent.(json.RawMessage), &d)
			if d.Cursor == "" {
				break
			}
			args["cursor"] = d.Cursor
		}
		if strings.Contains(joined.String(), secret) {
			t.Fatalf("the pages joined show the secret")
		}
	})
}
