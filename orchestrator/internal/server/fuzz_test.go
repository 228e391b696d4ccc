package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/mask"
)

// FuzzAuditRecord: whatever text surrounds a planted password in a tool
// call's arguments (under any key) and in an error, serve's audit lines
// never hold it, and are always valid JSON lines.
func FuzzAuditRecord(f *testing.F) {
	f.Add("command", "get pods -n web", "--dry-run", "upstream said")
	f.Add("query", `{app="db"} |=`, `"`, "loki: parse error near")
	f.Add("", "", "", "")
	f.Add("password", "x", "y", "\x00\xff")
	f.Add("a\"b", "İ\u212a", "\u202e", "\n\n")
	m := mask.New([]byte("fuzz"))
	f.Fuzz(func(t *testing.T, key, pre, post, errPre string) {
		var buf bytes.Buffer
		s := &Server{Audit: audit.New(&buf), Masker: m}
		value := pre + " password=" + planted + " " + post
		ans := agent.Answer{Calls: []agent.Event{{Tool: "k8s_kubectl", Args: map[string]any{key: value}, Error: errPre + " password=" + planted + " " + post}}}
		req := httptest.NewRequest("POST", "/api/chat", nil)
		if err := s.audit(req, "api/chat", "tiny", time.Now(), ans, errors.New(errPre+" password="+planted)); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), planted) {
			t.Fatalf("planted password in the audit: %s", buf.String())
		}
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var r audit.Record
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("audit line %q: %v", l, err)
			}
		}
	})
}

// FuzzOpenAIRequest: any request body decodes (or is refused) without a
// panic, and the options passed to the model come only from the fields
// the request set.
func FuzzOpenAIRequest(f *testing.F) {
	f.Add(`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stop":"\n"}`)
	f.Add(`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}],"stop":["x",""],"seed":1e400}`)
	f.Add(`{"messages":[{"content":{"nested":true}}],"temperature":null,"max_completion_tokens":-1}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req openaiRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		o := req.options()
		allowed := map[string]bool{"temperature": true, "top_p": true, "frequency_penalty": true, "presence_penalty": true, "seed": true, "num_predict": true, "stop": true}
		for k := range o {
			if !allowed[k] {
				t.Fatalf("option %q from %s", k, body)
			}
		}
		if _, ok := o["num_predict"]; ok && req.MaxTokens == nil && req.MaxCompletionTokens == nil {
			t.Fatalf("num_predict without max tokens: %s", body)
		}
		for _, m := range req.Messages {
			_ = text(m.Content)
		}
	})
}
