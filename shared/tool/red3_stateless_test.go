package tool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
	"github.com/opsmcp/opsmcp/shared/transport"
)

// syncBuf is an audit sink the HTTP handlers write from many goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) records(t *testing.T) []audit.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []audit.Record
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var r audit.Record
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		out = append(out, r)
	}
	return out
}

// TestStatelessCallsAuditedOnceAndRateLimited: a 2026-07-28 request goes
// through the binder as a session's call does: one audit line per call,
// with the user it runs as, the delegate and the trace id, labelled per
// request; and a caller's rate limit counts calls across requests (a
// fresh server per request must not mean a fresh limiter).
func TestStatelessCallsAuditedOnceAndRateLimited(t *testing.T) {
	var log syncBuf
	echo := New[echoIn, echoOut]("test_echo", "Echo", "echoes", func(_ context.Context, _ *Call, in echoIn) (*Result, error) {
		return &Result{Data: echoOut{Text: in.Text}, Text: in.Text}, nil
	})
	b := &Binder{Server: "test", Tools: []Tool{echo}, Masker: mask.New(nil), Audit: audit.New(&log),
		Metrics: metrics.New("test"), Policy: policy.OpenPolicy(), MaxBytes: 1024, RatePerMinute: 1, Burst: 2}
	toks, err := auth.ParseTokens([]byte("alice-tok,alice,viewer\nbob-tok,bob,viewer\norch-tok,orchestrator,delegate\n"))
	require.NoError(t, err)
	srv := httptest.NewServer(transport.Handler(transport.HTTPOptions{
		NewServer: func(p auth.Principal, session string) *mcp.Server {
			s := mcp.NewServer(&mcp.Implementation{Name: "test"}, nil)
			b.Bind(s, p, session)
			return s
		},
		Verifier: toks, Delegation: &auth.Delegation{Delegates: []string{"orchestrator"}, Users: toks},
	}))
	defer srv.Close()

	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	post := func(token, onBehalf, text string) string {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_echo","arguments":{"text":"` + text + `"},` +
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
		req, err := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "test_echo")
		req.Header.Set("Traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
		if onBehalf != "" {
			req.Header.Set(auth.HeaderOnBehalfOf, onBehalf)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
		return string(raw)
	}

	assert.Contains(t, post("orch-tok", "alice", "one"), `"one"`)
	recs := log.records(t)
	require.Len(t, recs, 1, "one call, one audit line")
	assert.Equal(t, "alice", recs[0].User)
	assert.Equal(t, "orchestrator", recs[0].Via)
	assert.Equal(t, trace, recs[0].RequestID)
	assert.Regexp(t, `^stateless-[A-Z2-7]{12}$`, recs[0].Session)
	assert.Equal(t, "ok", recs[0].Outcome)

	// The burst is 2: a second call for alice through the delegate passes,
	// a third is refused, each on a server built for its own request; bob
	// is not affected. (A budget is keyed on the user and the delegate, as
	// for sessions: see callerKey.)
	assert.Contains(t, post("orch-tok", "alice", "two"), `"two"`)
	assert.Contains(t, post("orch-tok", "alice", "three"), "rate limited")
	assert.Contains(t, post("bob-tok", "", "four"), `"four"`)
	assert.Contains(t, post("bob-tok", "", "five"), `"five"`)
	assert.Contains(t, post("bob-tok", "", "six"), "rate limited")
	recs = log.records(t)
	require.Len(t, recs, 6, "every call audited exactly once, refused ones too")
	outcomes := []string{}
	for _, r := range recs {
		outcomes = append(outcomes, r.User+"/"+r.Via+":"+r.Outcome)
	}
	assert.Equal(t, []string{"alice/orchestrator:ok", "alice/orchestrator:ok", "alice/orchestrator:rate_limited", "bob/:ok", "bob/:ok", "bob/:rate_limited"}, outcomes)
}
