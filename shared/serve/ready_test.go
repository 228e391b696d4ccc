package serve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/opsmcp/opsmcp/shared/tool"
)

func TestReadyzNamesTheUpstreamAndSinceWhen(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	down := true
	h := &Health{Upstream: "Gitea", now: func() time.Time { return now }, Check: func(ctx context.Context) error {
		if down {
			return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		}
		return nil
	}}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	code, body := get()
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "not ready: Gitea unreachable since 2026-01-02T03:04:05Z (0s ago): connection refused", body)

	now = now.Add(90 * time.Second)
	_, body = get()
	assert.Contains(t, body, "since 2026-01-02T03:04:05Z (1m30s ago)", "since the first failure, not the last probe")

	down = false
	code, body = get()
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)

	// A call that failed upstream marks it down until the next good probe.
	h.Failed(&tool.UpstreamError{Upstream: "Gitea", Cause: tool.CauseTimeout})
	assert.Equal(t, "not ready: Gitea unreachable since 2026-01-02T03:05:35Z (0s ago): timeout", h.State())
}

func TestReadyzSaysNoUpstreamErrorText(t *testing.T) {
	h := &Health{Upstream: "Loki", Check: func(ctx context.Context) error {
		return errors.New("401 Unauthorized: token sk-live-123 rejected at /internal/path")
	}}
	msg := h.Probe(context.Background())
	assert.Contains(t, msg, "Loki unreachable since")
	assert.NotContains(t, msg, "sk-live-123")
	assert.NotContains(t, msg, "/internal/path")
}

// TestReadyzDoesNotFanOutToTheUpstream: /readyz answers anyone, without
// authentication or a Host check; each answer must not be a request to
// the upstream (made with the server's own credentials), or a flood of
// probes becomes a flood of the upstream, and a slow upstream piles up
// one waiting check per request. Concurrent probes share one check, and
// checks are rate limited; a probe past the limit gets the last verdict.
func TestReadyzDoesNotFanOutToTheUpstream(t *testing.T) {
	var mu sync.Mutex
	checks, running, most := 0, 0, 0
	h := &Health{Upstream: "Gitea", Check: func(ctx context.Context) error {
		mu.Lock()
		checks++
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}}
	begin := time.Now()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
			assert.Contains(t, rec.Body.String(), "Gitea unreachable since")
		}()
	}
	wg.Wait()
	for range 100 {
		assert.Contains(t, h.Probe(context.Background()), "Gitea unreachable since")
	}
	elapsed := time.Since(begin)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, most, "one check at a time")
	limit := readyBurst + int(elapsed/readyEvery) + 1
	assert.LessOrEqual(t, checks, limit, "200 probes in %s", elapsed)
}

// TestReadyzFloodKeepsTheLastCheck: a probe past the rate limit answers
// with the last check's verdict, not with marks calls made since: else a
// flood of unauthenticated probes (using up the checks) plus one call
// that timed out upstream (any user's slow query) would answer a
// kubelet's probe "not ready" with no check behind it.
func TestReadyzFloodKeepsTheLastCheck(t *testing.T) {
	down := false
	h := &Health{Upstream: "Loki", Check: func(ctx context.Context) error {
		if down {
			return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		}
		return nil
	}}
	for range readyBurst + 1 {
		assert.Empty(t, h.Probe(context.Background()))
	}
	h.Failed(&tool.UpstreamError{Upstream: "Loki", Cause: tool.CauseTimeout})
	assert.Contains(t, h.State(), "Loki unreachable since", "the call's failure is recorded")
	assert.Empty(t, h.Probe(context.Background()), "no check since the last good one: still ready")

	time.Sleep(readyEvery + 50*time.Millisecond)
	down = true
	assert.Contains(t, h.Probe(context.Background()), "connection refused", "the next allowed probe checks")
	down = false
	assert.Contains(t, h.Probe(context.Background()), "connection refused", "past the limit, the last check's verdict stands")
}
