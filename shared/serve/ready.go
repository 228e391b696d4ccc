package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// Health backs /readyz: it probes the upstream and remembers since when
// it has been failing, from the probes and from calls that failed
// because of it. The probe answer names the upstream and the cause class
// (refused, timeout, TLS…) but not the upstream's own error text: /readyz
// answers without authentication.
type Health struct {
	// Upstream names the service ("Gitea"); "" reads "upstream".
	Upstream string
	// Check probes the upstream; nil: always ready.
	Check func(ctx context.Context) error
	// Timeout bounds one probe; 0: 5 s.
	Timeout time.Duration

	// sem lets one check run at a time; limit spaces checks out, since
	// /readyz answers anyone and must not be a way to make the server
	// call its upstream at will.
	initOnce sync.Once
	sem      chan struct{}
	limit    *rate.Limiter
	lastOK   bool // the last check's verdict; guarded by sem

	mu    sync.Mutex
	down  bool
	since time.Time
	cause string
	now   func() time.Time
}

func (h *Health) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

func (h *Health) name() string {
	if h.Upstream == "" {
		return "upstream"
	}
	return h.Upstream
}

// Probes check the upstream one at a time, readyBurst checks in a row and
// then one per readyEvery: a kubelet's or a load balancer's probes (every
// few seconds) are always checked afresh; a flood gets the last verdict.
const (
	readyEvery = 200 * time.Millisecond
	readyBurst = 5
)

// Failed records a call that failed because of the upstream.
func (h *Health) Failed(e *tool.UpstreamError) {
	h.mark(e.Cause)
}

func (h *Health) mark(cause string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		h.down, h.since = true, h.clock()
	}
	h.cause = cause
}

func (h *Health) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = false
}

// Probe checks the upstream once and returns "" when it is ready, else
// what /readyz says.
func (h *Health) Probe(ctx context.Context) string {
	if h.Check == nil {
		return ""
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	// Concurrent probes wait for the one checking; past the rate limit a
	// probe takes the last check's verdict. A probe that checks answers
	// with State, so since when the upstream fails counts the calls that
	// failed before the check too.
	h.initOnce.Do(func() {
		h.sem = make(chan struct{}, 1)
		h.limit = rate.NewLimiter(rate.Every(readyEvery), readyBurst)
	})
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return h.State()
	}
	defer func() { <-h.sem }()
	if !h.limit.Allow() {
		// The last check's verdict, not marks calls made since: a flood
		// of probes must not let one slow query answer "not ready" with
		// no check behind it.
		if h.lastOK {
			return ""
		}
		return h.State()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := h.Check(ctx)
	h.lastOK = err == nil
	if err == nil {
		h.up()
		return ""
	}
	var ue *tool.UpstreamError
	cause := tool.Cause(err)
	switch {
	case errors.As(err, &ue):
		cause = ue.Cause
	case cause == "":
		cause = tool.CauseOther
	}
	h.mark(cause)
	return h.State()
}

// State says whether the upstream is known to be failing, and since when:
// "" when it is not.
func (h *Health) State() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return ""
	}
	return fmt.Sprintf("not ready: %s unreachable since %s (%s ago): %s", h.name(), h.since.UTC().Format(time.RFC3339),
		h.clock().Sub(h.since).Round(time.Second), h.cause)
}

// ServeHTTP answers /readyz: 200 "ok", or 503 naming the upstream, since
// when it fails and the cause.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if msg := h.Probe(r.Context()); msg != "" {
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}
