package agent

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/telemetry"
	"github.com/opsmcp/opsmcp/shared/auth"
)

// calls is one model turn naming n tools: name(i) each.
func calls(n int, name func(int) string, args map[string]any) api.Message {
	m := api.Message{Role: "assistant"}
	for i := range n {
		a := api.NewToolCallFunctionArguments()
		for k, v := range args {
			a.Set(k, v)
		}
		m.ToolCalls = append(m.ToolCalls, api.ToolCall{ID: fmt.Sprintf("c%d", i), Function: api.ToolCallFunction{Index: i, Name: name(i), Arguments: a}})
	}
	return m
}

// series counts the time series in a registry.
func series(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	n := 0
	for _, mf := range mfs {
		n += len(mf.Metric)
	}
	return n
}

// TestToolCallCaps: a turn of 200 calls of an offered tool runs 8 (the
// per-turn cap), the model is told the rest did not run, the trace says
// so; the next turn's 200 run only what is left of the answer's cap (10),
// and then no tools are offered.
func TestToolCallCaps(t *testing.T) {
	get := func(int) string { return "k8s_get" }
	a, s := agent(t, calls(200, get, map[string]any{"kind": "pods"}), calls(200, get, map[string]any{"kind": "pods"}), api.Message{Role: "assistant", Content: "enough"})
	a.MaxCallsPerAnswer = 10
	ans, err := a.Ask(context.Background(), "which pods are ready?")
	require.NoError(t, err)
	assert.Equal(t, "enough", ans.Text)
	assert.Len(t, ans.Calls, 10, "8 in the first turn, the 2 left of the answer's 10 in the second")
	assert.Equal(t, 390, ans.CallsNotRun)
	require.Len(t, ans.Notes, 2)
	assert.Contains(t, ans.Notes[0], "192 of the 200 tool calls of that turn were not run (at most 8 per turn and 10 per answer; 2 left)")
	assert.Contains(t, ans.Notes[1], "198 of the 200 tool calls of that turn were not run (at most 8 per turn and 10 per answer; 0 left)")
	require.Len(t, s.requests, 3)
	second := s.requests[1].Messages
	var assistant api.Message
	tools := 0
	for _, m := range second {
		if m.Role == "assistant" {
			assistant = m
		}
		if m.Role == "tool" {
			tools++
		}
	}
	assert.Len(t, assistant.ToolCalls, 8, "the conversation shows only the calls that ran")
	assert.Equal(t, 8, tools)
	assert.Equal(t, ans.Notes[0], second[len(second)-1].Content, "the model is told")
	assert.Equal(t, "user", second[len(second)-1].Role)
	third := s.requests[2]
	assert.Empty(t, third.Tools, "the answer's calls are spent: no tools offered")
	assert.Contains(t, third.Messages[len(third.Messages)-1].Content, "Tool call limit reached (10 per answer)")
}

// recorder is an Observer that keeps the tool names it is told.
type recorder struct {
	*telemetry.Metrics
	mu    sync.Mutex
	names map[string]int
}

func (r *recorder) Tool(name string, d time.Duration, failed bool) {
	r.mu.Lock()
	r.names[name]++
	r.mu.Unlock()
	r.Metrics.Tool(name, d, failed)
}

// TestMadeUpToolsNeverRunNorLabel: a turn naming 200 tools that were
// never offered runs none of them, refuses the first 8 (the rest are cut)
// under the one name "unoffered", and the metrics registry gets no new
// series from a second such turn with 200 other names.
func TestMadeUpToolsNeverRunNorLabel(t *testing.T) {
	obs := &recorder{Metrics: telemetry.New(), names: map[string]int{}}
	turn := func(prefix string) Answer {
		a, _ := agent(t, calls(200, func(i int) string { return fmt.Sprintf("%s_%d", prefix, i) }, nil), api.Message{Role: "assistant", Content: "ok"})
		a.Observer = obs
		ans, err := a.Ask(context.Background(), "which pods are ready?")
		require.NoError(t, err)
		return ans
	}
	ans := turn("made_up")
	require.Len(t, ans.Calls, 8)
	for _, c := range ans.Calls {
		assert.Equal(t, "unoffered", c.Tool)
		assert.Contains(t, c.Error, "was not offered; use one of the offered tools: k8s_get", "says what to fix")
		assert.True(t, strings.HasPrefix(c.Args["name"].(string), "made_up_"))
	}
	assert.Equal(t, 192, ans.CallsNotRun)
	before := series(t, obs.Registry)
	turn("other_name")
	turn("k8s_kubectl\nX") // a name that looks like a tool
	assert.Equal(t, before, series(t, obs.Registry), "no new series from new made-up names")
	assert.Equal(t, map[string]int{"unoffered": 24}, obs.names)
}

// TestConcurrentRequestsShareNothing: many answers at once, for different
// users, with tool calls, kubectl lines and default limits, each get their
// own calls and request id, and the Agent is the same afterwards (run
// with -race: no request writes shared state).
func TestConcurrentRequestsShareNothing(t *testing.T) {
	a, s := agent(t)
	a.Observer = &recorder{Metrics: telemetry.New(), names: map[string]int{}}
	s.respond = func(req api.ChatRequest) api.Message {
		last := req.Messages[len(req.Messages)-1]
		if last.Role == "tool" {
			// Answer with what the tool said: the kubectl line it ran.
			_, ran, _ := strings.Cut(last.Content, "ran: ")
			ran, _, _ = strings.Cut(ran, "\n")
			return api.Message{Role: "assistant", Content: "answer: " + ran}
		}
		q := last.Content
		return call("k8s_kubectl", map[string]any{"command": "get pods -n " + q[strings.LastIndex(q, " ")+1:]})
	}
	before := *a
	const n = 24
	answers := make([]Answer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := auth.With(context.Background(), auth.Principal{User: fmt.Sprintf("user%d", i%5)})
			q := fmt.Sprintf("run a kubectl command for ns-%d", i)
			if i%4 == 0 {
				q = fmt.Sprintf("kubectl get pods -n ns-%d", i)
			}
			answers[i], errs[i] = a.Ask(ctx, q)
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, ans := range answers {
		require.NoError(t, errs[i])
		ns := fmt.Sprintf("ns-%d", i)
		if i%4 == 0 {
			assert.Equal(t, "ran: get pods -n "+ns, ans.Text)
		} else {
			assert.Equal(t, "answer: get pods -n "+ns, ans.Text)
		}
		require.Len(t, ans.Calls, 1)
		assert.Equal(t, "get pods -n "+ns, ans.Calls[0].Args["command"])
		assert.Regexp(t, `^[0-9a-f]{32}$`, ans.RequestID)
		assert.Equal(t, ans.RequestID, ans.Calls[0].RequestID)
		assert.False(t, ids[ans.RequestID], "a request id per answer")
		ids[ans.RequestID] = true
	}
	assert.True(t, reflect.DeepEqual(before, *a), "answering wrote to the Agent")
	assert.Zero(t, a.MaxSteps, "defaults are read, never written back")
}
