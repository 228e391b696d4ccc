package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
)

type faultIn struct {
	Mode string `json:"mode"`
}

// faultSession binds one tool whose handler fails the way mode says, with
// a 300 ms call timeout.
func faultSession(t *testing.T, upstreamURL string) (*mcp.ClientSession, *bytes.Buffer, *metrics.Metrics, *[]*UpstreamError) {
	t.Helper()
	var log bytes.Buffer
	var heard []*UpstreamError
	tl := New[faultIn, echoOut]("test_fault", "Fault", "fails", func(ctx context.Context, c *Call, in faultIn) (*Result, error) {
		switch in.Mode {
		case "arg":
			return nil, Argf("name %q: not a valid name", "x y")
		case "deny":
			return nil, Deniedf("not for you")
		case "get":
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstreamURL, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, Upstream("Gitea", upstreamURL, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return nil, UpstreamStatus("Gitea", upstreamURL, resp.StatusCode, nil)
			}
			return &Result{Text: "ok"}, nil
		case "bare":
			// A handler that forgot to name the upstream.
			_, err := net.Dial("tcp", strings.TrimPrefix(upstreamURL, "http://"))
			return nil, fmt.Errorf("list repos: %w", err)
		case "hang":
			// Ignores its context: the binder must answer anyway.
			time.Sleep(5 * time.Second)
			return &Result{Text: "late"}, nil
		}
		return &Result{Text: "ok"}, nil
	})
	m := metrics.New("test")
	b := &Binder{Server: "test", Tools: []Tool{tl}, Masker: mask.New(nil), Audit: audit.New(&log),
		Metrics: m, Policy: policy.OpenPolicy(), MaxBytes: 1024, CallTimeout: 300 * time.Millisecond,
		StopGrace: 200 * time.Millisecond, Upstream: "Gitea",
		OnUpstreamError: func(e *UpstreamError) { heard = append(heard, e) }}
	srv := mcp.NewServer(&mcp.Implementation{Name: "test"}, nil)
	b.Bind(srv, auth.Principal{User: "alice"}, "s1")
	ct, st := mcp.NewInMemoryTransports()
	_, err := srv.Connect(context.Background(), st, nil)
	require.NoError(t, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { cs.Close() })
	return cs, &log, m, &heard
}

func callFault(t *testing.T, cs *mcp.ClientSession, mode string) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_fault", Arguments: map[string]any{"mode": mode}})
	require.NoError(t, err)
	text := ""
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	return text, res.IsError
}

func lastOutcome(t *testing.T, log *bytes.Buffer) audit.Record {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var rec audit.Record
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &rec))
	return rec
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUpstreamDownIsNotAnArgumentError(t *testing.T) {
	url := closedPort(t)
	cs, log, m, heard := faultSession(t, url)

	text, isErr := callFault(t, cs, "get")
	require.True(t, isErr)
	assert.Contains(t, text, "Gitea at "+url)
	assert.Contains(t, text, "connection refused")
	assert.Contains(t, text, "not a problem with your arguments")
	assert.NotContains(t, text, "invalid arguments")
	rec := lastOutcome(t, log)
	assert.Equal(t, audit.Upstream, rec.Outcome)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Calls.WithLabelValues("test_fault", audit.Upstream)))
	require.Len(t, *heard, 1)
	assert.Equal(t, CauseRefused, (*heard)[0].Cause)

	// The argument error of the same tool is told apart everywhere.
	text, isErr = callFault(t, cs, "arg")
	require.True(t, isErr)
	assert.True(t, strings.HasPrefix(text, "invalid arguments:"), text)
	assert.NotContains(t, text, "upstream")
	assert.Equal(t, audit.Error, lastOutcome(t, log).Outcome)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Calls.WithLabelValues("test_fault", audit.Error)))

	_, _ = callFault(t, cs, "deny")
	assert.Equal(t, audit.Denied, lastOutcome(t, log).Outcome)
	assert.Len(t, *heard, 1, "neither an argument error nor a denial is the upstream's")
}

func TestBareTransportErrorIsTheUpstreams(t *testing.T) {
	cs, log, _, _ := faultSession(t, closedPort(t))
	text, isErr := callFault(t, cs, "bare")
	require.True(t, isErr)
	assert.Contains(t, text, "upstream error: Gitea is unreachable: connection refused")
	assert.Equal(t, audit.Upstream, lastOutcome(t, log).Outcome)
}

func TestUpstreamStatusesNamed(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{{401, "401 unauthorized"}, {403, "403 forbidden"}, {502, "server error (HTTP 502)"}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.status) }))
		cs, log, _, _ := faultSession(t, srv.URL)
		text, isErr := callFault(t, cs, "get")
		srv.Close()
		require.True(t, isErr)
		assert.Contains(t, text, tc.want)
		assert.Contains(t, text, "Gitea at "+srv.URL)
		assert.Equal(t, audit.Upstream, lastOutcome(t, log).Outcome)
	}
}

func TestSlowUpstreamTimesOutAndIsCancelled(t *testing.T) {
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the request is aborted, not left running
		close(gone)
	}))
	defer srv.Close()
	cs, log, _, _ := faultSession(t, srv.URL)
	start := time.Now()
	text, isErr := callFault(t, cs, "get")
	require.True(t, isErr)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Contains(t, text, "timed out after 0.3 s waiting for Gitea at "+srv.URL)
	assert.Equal(t, audit.Upstream, lastOutcome(t, log).Outcome)
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Fatal("the upstream request was left running after the call timed out")
	}
}

func TestHandlerIgnoringItsContextCannotHoldTheCaller(t *testing.T) {
	cs, log, _, _ := faultSession(t, closedPort(t))
	start := time.Now()
	text, isErr := callFault(t, cs, "hang")
	took := time.Since(start)
	require.True(t, isErr)
	assert.Less(t, took, 2*time.Second, "answered at the timeout plus the grace, not when the handler ended")
	assert.Contains(t, text, "timed out after 0.3 s waiting for Gitea")
	assert.Equal(t, audit.Upstream, lastOutcome(t, log).Outcome)
}

func TestCauseOfRealFailures(t *testing.T) {
	// refused
	_, err := http.Get(closedPort(t))
	assert.Equal(t, CauseRefused, Cause(err))
	// TLS: a TLS client to a server whose certificate it does not trust
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	_, err = http.Get(srv.URL)
	srv.Close()
	assert.Equal(t, CauseTLS, Cause(err))
	// cut: the upstream closes the connection in the middle of the answer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 4096)
		c.Read(buf)
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial"))
		c.Close()
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	require.NoError(t, err)
	_, err = bytes.NewBuffer(nil).ReadFrom(resp.Body)
	resp.Body.Close()
	ln.Close()
	assert.Equal(t, CauseCut, Cause(err))
	// timeout
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	assert.Equal(t, CauseTimeout, Cause(ctx.Err()))
	assert.Equal(t, "", Cause(errors.New("name must be lowercase")))
	// Upstream keeps argument errors and denials as they are
	assert.True(t, errors.Is(Upstream("Gitea", "", Argf("bad")), ErrArgs))
	assert.False(t, IsUpstream(Upstream("Gitea", "", Argf("bad"))))
	assert.True(t, IsUpstream(Upstream("Gitea", "", errors.New("weird"))))
	assert.Nil(t, Upstream("Gitea", "", nil))
}

func TestUpstreamTransportNamesTheUpstream(t *testing.T) {
	url := closedPort(t)
	cl := &http.Client{Transport: UpstreamTransport("Loki", url, nil)}
	_, err := cl.Get(url)
	var ue *UpstreamError
	require.True(t, errors.As(err, &ue), "%v", err)
	assert.Equal(t, "Loki", ue.Upstream)
	assert.Equal(t, CauseRefused, ue.Cause)

	// A body cut in the middle is the upstream's failure, not a decode
	// error of the caller's.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 4096)
		c.Read(buf)
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"items\":["))
		c.Close()
	}()
	resp, err := cl.Get("http://" + ln.Addr().String())
	require.NoError(t, err)
	var v any
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	require.True(t, errors.As(err, &ue), "%v", err)
	assert.Equal(t, CauseCut, ue.Cause)
	assert.Contains(t, err.Error(), "Loki at "+url)
}

func TestArgfNeverTurnsAnUpstreamFailureIntoTheCallers(t *testing.T) {
	up := Upstream("kube-apiserver", "https://127.0.0.1:6443", fmt.Errorf("get: %w", &net.OpError{Op: "dial", Err: errors.New("connect: connection refused")}))
	err := Argf("resource %q: %v", "pods", up)
	assert.False(t, errors.Is(err, ErrArgs))
	assert.True(t, IsUpstream(err))
	assert.Contains(t, err.Error(), "kube-apiserver at https://127.0.0.1:6443 is unreachable: connection refused")
	assert.True(t, errors.Is(Argf("resource %q: %v", "pods", errors.New("no such type")), ErrArgs))
}

func TestDrainWaitsForCallsAndTheirAuditLines(t *testing.T) {
	var log bytes.Buffer
	started := make(chan struct{}, 2)
	tl := New[faultIn, echoOut]("test_slow", "Slow", "slow", func(ctx context.Context, c *Call, in faultIn) (*Result, error) {
		started <- struct{}{}
		select {
		case <-time.After(300 * time.Millisecond):
			return &Result{Text: "done"}, nil
		case <-ctx.Done():
			return nil, Upstream("Loki", "http://x", ctx.Err())
		}
	})
	b := &Binder{Server: "test", Tools: []Tool{tl}, Masker: mask.New(nil), Audit: audit.New(&log),
		Policy: policy.OpenPolicy(), MaxBytes: 1024}
	srv := mcp.NewServer(&mcp.Implementation{Name: "test"}, nil)
	b.Bind(srv, auth.Principal{User: "alice"}, "s1")
	ct, st := mcp.NewInMemoryTransports()
	_, err := srv.Connect(context.Background(), st, nil)
	require.NoError(t, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	require.NoError(t, err)
	defer cs.Close()
	go cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_slow", Arguments: map[string]any{"mode": "slow"}})
	<-started
	require.True(t, b.Drain(5*time.Second))
	assert.Equal(t, audit.OK, lastOutcome(t, &log).Outcome, "the call's audit line is written before Drain returns")

	// A call cancelled (the client went away, the server stopping) is
	// not blamed on the upstream.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_slow", Arguments: map[string]any{"mode": "slow"}})
	require.True(t, b.Drain(5*time.Second))
	rec := lastOutcome(t, &log)
	assert.Equal(t, audit.Error, rec.Outcome)
	assert.Contains(t, rec.Error, "cancelled")

	// Stop (a stopping server past its grace) cancels a call in flight,
	// whatever its transport does with the request's context, and
	// returns once its audit line is written.
	b.CallTimeout = time.Minute
	go cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_slow", Arguments: map[string]any{"mode": "slow"}})
	<-started
	begin := time.Now()
	require.True(t, b.Stop(5*time.Second))
	assert.Less(t, time.Since(begin), time.Second)
	rec = lastOutcome(t, &log)
	assert.Equal(t, audit.Error, rec.Outcome)
	assert.Contains(t, rec.Error, "server is shutting down")
}
