package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
)

const planted = "Hunter2-planted-7f3a9c"

// TestAuditMasksArgumentsAndErrors: a secret that reaches a tool call's
// arguments (a model echoing a question or a tool result) or an error is
// masked in every line the answer writes, by the servers' masker; the
// lines name the user, the delegate and the answer's request id.
func TestAuditMasksArgumentsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{Audit: audit.New(&buf), Masker: mask.New([]byte("k"))}
	ans := agent.Answer{RequestID: "4bf92f3577b34da6a3ce929d0e0e4736", Steps: 2, Endpoint: "primary",
		Turns: []agent.Turn{{Model: "tiny", Endpoint: "primary", Duration: time.Millisecond, ToolCalls: 1}},
		Calls: []agent.Event{
			{Tool: "k8s_kubectl", Args: map[string]any{"command": "get pods -n web", "password": planted}},
			{Tool: "logs_query", Args: map[string]any{"query": `{app="db"} |= "password=` + planted + `"`},
				Error: "loki: parse error near password=" + planted},
		}}
	req := httptest.NewRequest("POST", "/api/chat", nil)
	req = req.WithContext(auth.With(req.Context(), auth.Principal{User: "dana", Via: "gateway"}))
	require.NoError(t, s.audit(req, "api/chat", "tiny", time.Now(), ans, errors.New("model failed: DB_PASSWORD="+planted)))

	out := buf.String()
	assert.NotContains(t, out, planted)
	assert.NotContains(t, out, "Hunter2")
	var lines []audit.Record
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r audit.Record
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		lines = append(lines, r)
	}
	require.Len(t, lines, 4, "the request, one model turn, two tool calls")
	var tools []string
	for _, r := range lines {
		tools = append(tools, r.Tool)
		assert.Equal(t, "mcp-orchestrator", r.Server)
		assert.Equal(t, "dana", r.User)
		assert.Equal(t, "gateway", r.Via)
		assert.Equal(t, ans.RequestID, r.RequestID)
		assert.Len(t, r.ArgsSHA256, 64)
	}
	assert.Equal(t, []string{"api/chat", "model_turn", "k8s_kubectl", "logs_query"}, tools)
	assert.Equal(t, audit.Error, lines[0].Outcome)
	assert.Contains(t, lines[0].Error, "model failed")
	assert.Positive(t, lines[0].Masked)
	assert.Equal(t, audit.OK, lines[1].Outcome)
	assert.Contains(t, string(lines[2].Args), "get pods -n web", "what is not secret stays readable")
	assert.Positive(t, lines[2].Masked)
	assert.Equal(t, audit.Error, lines[3].Outcome)
	assert.Contains(t, lines[3].Error, "loki: parse error")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestAuditRequired: an answer whose audit lines cannot be written is
// withheld under --audit-required, and given otherwise.
func TestAuditRequired(t *testing.T) {
	req := httptest.NewRequest("POST", "/api/chat", nil)
	s := &Server{Audit: audit.New(failWriter{}), AuditRequired: true}
	err := s.audit(req, "api/chat", "tiny", time.Now(), agent.Answer{Text: "hi"}, nil)
	require.ErrorIs(t, err, errAuditWrite)
	assert.Equal(t, 500, failStatus(err))
	assert.Contains(t, err.Error(), "answer withheld")
	s.AuditRequired = false
	assert.NoError(t, s.audit(req, "api/chat", "tiny", time.Now(), agent.Answer{Text: "hi"}, nil))
	assert.Equal(t, 502, failStatus(errors.New("model down")))
}

func TestRoutes(t *testing.T) {
	var got []string
	for p := range (&Server{}).Routes() {
		got = append(got, p)
	}
	assert.ElementsMatch(t, []string{"GET /api/tags", "GET /api/version", "POST /api/chat", "GET /v1/models", "POST /v1/chat/completions"}, got)
}

// TestRateLimitPerCaller: each caller has its own budget of answers, and
// an OIDC user with a token-file user's name is another caller.
func TestRateLimitPerCaller(t *testing.T) {
	s := &Server{RatePerMinute: 6, Burst: 1}
	do := func(p auth.Principal) int {
		req := httptest.NewRequest("POST", "/api/chat", nil)
		req = req.WithContext(auth.With(req.Context(), p))
		rec := httptest.NewRecorder()
		if !s.limited(rec, req, false) {
			return 200
		}
		return rec.Code
	}
	dana, oidcDana := auth.Principal{User: "dana"}, auth.Principal{User: "dana", OIDC: true}
	assert.Equal(t, 200, do(oidcDana))
	assert.Equal(t, 429, do(oidcDana))
	assert.Equal(t, 200, do(dana), "the token-file dana still has her answer")
	assert.Equal(t, 429, do(dana))
}

// TestAuditArgsHashKeyed: args_sha256 lets two calls be compared, but
// with the key only: a plain SHA-256 would let anyone holding the log
// confirm a guess of a masked password.
func TestAuditArgsHashKeyed(t *testing.T) {
	req := httptest.NewRequest("POST", "/api/chat", nil)
	args := map[string]any{"command": "get pods", "password": planted}
	raw, _ := json.Marshal(args)
	plain := sha256.Sum256(raw)
	s := &Server{AuditKey: []byte("k1")}
	a := s.record(req, "k8s_kubectl", "", time.Now(), 0, args, "", 0)
	b := s.record(req, "k8s_kubectl", "", time.Now(), 0, args, "", 0)
	assert.Equal(t, a.ArgsSHA256, b.ArgsSHA256, "same key, same arguments: comparable")
	assert.NotEqual(t, hex.EncodeToString(plain[:]), a.ArgsSHA256, "not the plain hash")
	other := (&Server{AuditKey: []byte("k2")}).record(req, "k8s_kubectl", "", time.Now(), 0, args, "", 0)
	assert.NotEqual(t, a.ArgsSHA256, other.ArgsSHA256)
	random := (&Server{}).record(req, "k8s_kubectl", "", time.Now(), 0, args, "", 0)
	assert.NotEqual(t, hex.EncodeToString(plain[:]), random.ArgsSHA256, "no key given: a random one, never none")
}
