package kube

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/memory"
)

// bigList is a ConfigMap list of about n bytes.
func bigList(n int) string {
	return `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"big","namespace":"web"},"data":{"v":"` + strings.Repeat("a", n) + `"}}]}`
}

// TestAnswersBoundWhatCallsHold: each byte a Guard reads takes Cost bytes
// of the process's Answers until Release. An answer past all of it is the
// caller's to narrow; one past what other calls left is refused as busy
// (memory.ErrBusy, said by Busy), and read once they have released theirs.
func TestAnswersBoundWhatCallsHold(t *testing.T) {
	u := &upstream{bodies: map[string]string{
		"/api/v1/namespaces/web/configmaps": bigList(1 << 20),
		"/api/v1/namespaces/web/secrets":    bigList(3 << 20),
	}}
	answers := newAnswers(32 << 20)
	guard := func() *Guard {
		g := newGuard(nil)
		g.Hold = answers.Begin(AnswerCost)
		return g
	}

	a := guard()
	body, err := get(t, a.Wrap(memory.Counted(u)), "/api/v1/namespaces/web/configmaps")
	require.NoError(t, err)
	assert.Greater(t, len(body), 1<<20)
	assert.Equal(t, int64(1<<20+len(bigList(0)))*AnswerCost, answers.Used(), "held at AnswerCost per byte")

	// 3 MiB at 8 bytes a byte fit 32 MiB alone, not beside a's 8 MiB.
	b := guard()
	_, err = get(t, b.Wrap(memory.Counted(u)), "/api/v1/namespaces/web/secrets")
	require.ErrorIs(t, err, memory.ErrBusy)
	assert.ErrorContains(t, err, "this server is holding other calls' large answers (8 of the 32 MiB it gives answers): retry in a moment")
	assert.ErrorIs(t, b.Hold.Refusal(), memory.ErrBusy)
	assert.Equal(t, int64(1<<20+len(bigList(0)))*AnswerCost, answers.Used(), "a refused call gives back what it read at once")
	b.Hold.Release()

	a.Hold.Release()
	assert.Zero(t, answers.Used())
	c := guard()
	_, err = get(t, c.Wrap(memory.Counted(u)), "/api/v1/namespaces/web/secrets")
	require.NoError(t, err, "read once a released its answers")
	assert.Nil(t, c.Hold.Refusal())
	c.Hold.Release()
	assert.Zero(t, answers.Used())

	// A template that copies the answer costs more: 3 MiB at 13 a byte is
	// over the 32 MiB alone, which no waiting changes.
	d := guard()
	d.Hold.SetCost(AnswerCost + TemplateCopyCost)
	_, err = get(t, d.Wrap(memory.Counted(u)), "/api/v1/namespaces/web/secrets")
	require.Error(t, err)
	assert.False(t, errors.Is(err, memory.ErrBusy))
	assert.ErrorIs(t, d.Hold.Refusal(), memory.ErrTooLarge, "the caller's to narrow")
	assert.ErrorContains(t, err, "take more memory than this server gives all calls' answers (32 MiB; it holds about 13 bytes for each byte of answer, more with -o json or yaml, and per column, JSONPath node or template copy): narrow the request")
	d.Hold.Release()
	assert.Zero(t, answers.Used(), "nothing held after a refusal and Release")
}

// TestCountedHoldsEveryClientsReads: a request whose context carries a
// Hold (client-go's typed and dynamic clients pass the call's) has its
// answer held as it is read, through no Guard; one without is not.
func TestCountedHoldsEveryClientsReads(t *testing.T) {
	u := &upstream{bodies: map[string]string{"/api/v1/namespaces/web/configmaps": bigList(1 << 20)}}
	answers := newAnswers(64 << 20)
	h := answers.Begin(AnswerCost)
	req := httptest.NewRequest(http.MethodGet, "http://api/api/v1/namespaces/web/configmaps", nil).WithContext(memory.WithHold(t.Context(), h))
	req.RequestURI = ""
	resp, err := memory.Counted(u).RoundTrip(req)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	assert.Equal(t, n*AnswerCost, answers.Used())
	h.Release()
	assert.Zero(t, answers.Used())

	req = httptest.NewRequest(http.MethodGet, "http://api/api/v1/namespaces/web/configmaps", nil)
	req.RequestURI = ""
	resp, err = memory.Counted(u).RoundTrip(req)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	assert.Zero(t, answers.Used(), "no Hold, nothing held")
	var none *memory.Hold
	assert.Nil(t, none.Refusal())
	none.Release()
	assert.Nil(t, (*memory.Budget)(nil).Begin(1))
}

// TestGuardWithoutAnswersReadsToMaxBody: with no Answers (tests, tools that
// hold nothing), an answer is bounded by maxBody alone.
func TestGuardWithoutAnswersReadsToMaxBody(t *testing.T) {
	u := &upstream{bodies: map[string]string{"/api/v1/namespaces/web/configmaps": bigList(maxBody)}}
	_, err := get(t, newGuard(nil).Wrap(u), "/api/v1/namespaces/web/configmaps")
	assert.ErrorContains(t, err, "the API server's answer is over 64 MiB")
	u.bodies["/api/v1/namespaces/web/configmaps"] = bigList(maxBody - 200)
	_, err = get(t, newGuard(nil).Wrap(u), "/api/v1/namespaces/web/configmaps")
	assert.NoError(t, err)
}

// TestLogMemoryIsGivenBackWhenRead: kubectl copies a log out and closes
// it, so a text answer's memory is given back at Close (the logs of many
// pods are held only while each is read); a JSON answer's stays held
// until Release, since kubectl keeps the objects it decoded.
func TestLogMemoryIsGivenBackWhenRead(t *testing.T) {
	logText := strings.Repeat("GET /orders 200\n", 1<<16) // 1 MiB
	u := &textUpstream{body: logText}
	answers := newAnswers(32 << 20)
	g := newGuard(nil)
	g.Hold = answers.Begin(AnswerCost)
	req := httptest.NewRequest(http.MethodGet, "http://api/api/v1/namespaces/web/pods/p/log?limitBytes=9000000", nil)
	req.RequestURI = ""
	resp, err := g.Wrap(memory.Counted(u)).RoundTrip(req)
	require.NoError(t, err)
	assert.Equal(t, int64(len(logText))*AnswerCost, answers.Used(), "held while kubectl reads it")
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, logText, string(out))
	require.NoError(t, resp.Body.Close())
	assert.Zero(t, answers.Used(), "given back at Close")
	require.NoError(t, resp.Body.Close())
	assert.Zero(t, answers.Used(), "once")
	g.Hold.Release()
	assert.Zero(t, answers.Used())
}

// textUpstream answers every request with a text/plain body, as the API
// server does a pod's log.
type textUpstream struct{ body string }

func (u *textUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/plain"}},
		Body: io.NopCloser(strings.NewReader(u.body)), Request: r}, nil
}

// TestNothingHeldAfterRelease (red team): a read through a call's Hold
// after the call released it (a handler still reading past its deadline)
// is refused, never kept: the memory for answers would shrink for good.
func TestNothingHeldAfterRelease(t *testing.T) {
	u := &upstream{bodies: map[string]string{"/api/v1/namespaces/web/configmaps": bigList(1 << 20)}}
	answers := newAnswers(64 << 20)
	g := newGuard(nil)
	g.Hold = answers.Begin(AnswerCost)
	g.Hold.Release() // the call ended
	_, err := get(t, g.Wrap(memory.Counted(u)), "/api/v1/namespaces/web/configmaps")
	assert.ErrorContains(t, err, "the call has ended")
	assert.Zero(t, answers.Used(), "held after the call's Release, never given back")
}

// newAnswers is the memory for answers mcp-kubernetes' binder makes, of
// n bytes.
func newAnswers(n int64) *memory.Budget {
	b := memory.NewBudget(n)
	b.Costs, b.Narrow = MemoryCosts, MemoryNarrow
	return b
}
