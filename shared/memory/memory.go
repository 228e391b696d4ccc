// Package memory bounds what the calls of a server hold of their
// upstreams' answers at once. Each call has a Hold (carried in its
// context) that counts the bytes it reads, at a cost in memory per byte
// the server measured for what it does with them (decode, mask, render),
// against the process's Budget; an answer past it is refused with what to
// do, rather than the process being killed for its memory with every
// caller's call in it.
package memory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// ErrBusy is wrapped by the refusal of an answer because other calls hold
// the memory: the server's state, not the caller's request nor the
// upstream's doing.
var ErrBusy = errors.New("busy")

// ErrTooLarge is wrapped by the refusal of an answer that alone takes
// more than the whole Budget: the caller's to narrow.
var ErrTooLarge = errors.New("too large")

// Budget is the memory the calls of this process may hold of upstream
// answers at once.
type Budget struct {
	mu          sync.Mutex
	limit, used int64
	// Costs says, after "it holds about N bytes for each byte of
	// answer", what costs more (", more with -o json").
	Costs string
	// Narrow says, after "narrow the request", how (" (a selector)").
	Narrow string
}

// NewBudget returns a Budget of bytes of memory for upstream answers.
func NewBudget(bytes int64) *Budget { return &Budget{limit: bytes} }

// Limit is the Budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used is what the calls hold now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Hold is what one call holds of a Budget. A nil Hold holds nothing and
// refuses nothing.
type Hold struct {
	b *Budget
	// Under b.mu.
	cost    int64
	held    int64
	refusal error
	// closed: the call has ended; what is read through it later (a
	// handler still running past its deadline) is refused, never kept.
	closed bool
}

// Begin starts a call's Hold at cost bytes of memory a byte of answer;
// nil without a Budget.
func (b *Budget) Begin(cost int64) *Hold {
	if b == nil {
		return nil
	}
	return &Hold{b: b, cost: max(cost, 1)}
}

// SetCost sets the memory one byte of answer takes in this call.
func (h *Hold) SetCost(cost int64) {
	if h == nil || cost <= 0 {
		return
	}
	h.b.mu.Lock()
	h.cost = cost
	h.b.mu.Unlock()
}

// Cost is the memory one byte of answer takes in this call.
func (h *Hold) Cost() int64 {
	if h == nil {
		return 1
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	return h.cost
}

// Take holds n more bytes of answer at the call's cost.
func (h *Hold) Take(n int) error {
	if h == nil || n <= 0 {
		return nil
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	return h.takeLocked(int64(n), h.cost)
}

// TakeAt holds n bytes at cost bytes of memory each (a copy the server
// made of an answer).
func (h *Hold) TakeAt(n int, cost int64) error {
	if h == nil || n <= 0 {
		return nil
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	return h.takeLocked(int64(n), max(cost, 1))
}

// takeLocked holds n bytes at cost bytes of memory a byte.
func (h *Hold) takeLocked(n, cost int64) error {
	b := h.b
	// n*cost past the whole limit is too large, and is not computed: it
	// could wrap.
	want := int64(-1)
	if n <= b.limit/cost {
		want = n * cost
	}
	switch {
	case h.closed:
		return errors.New("the call has ended: its answers are no longer read")
	case h.refusal != nil:
		// A call refused once stays refused: a handler reading on past
		// the refusal holds nothing for a result never sent.
		return h.refusal
	case want < 0 || h.held+want > b.limit:
		h.refusal = fmt.Errorf("the answers to this call take more memory than this server gives all calls' answers (%d MiB; it holds about %d bytes for each byte of answer%s): narrow the request%s, or give the server more memory: %w", b.limit>>20, cost, b.Costs, b.Narrow, ErrTooLarge)
	case b.used+want > b.limit:
		h.refusal = fmt.Errorf("this server is holding other calls' large answers (%d of the %d MiB it gives answers): retry in a moment, or narrow the request: %w", (b.used-h.held)>>20, b.limit>>20, ErrBusy)
	default:
		b.used += want
		h.held += want
		return nil
	}
	// The call fails: what it read so far is given back now, so the
	// calls beside it go on (eight calls that each fit alone refused one
	// another when each kept its part until it ended).
	b.used -= h.held
	h.held = 0
	return h.refusal
}

// Give gives back n bytes of memory (no more than the call holds): what
// the server read and has let go of (a log copied out).
func (h *Hold) Give(n int64) {
	if h == nil || n <= 0 {
		return
	}
	h.b.mu.Lock()
	n = min(n, h.held)
	h.b.used -= n
	h.held -= n
	h.b.mu.Unlock()
}

// Release gives back all the call holds and closes it; call it when the
// call's result has been sent.
func (h *Hold) Release() {
	if h == nil {
		return
	}
	h.b.mu.Lock()
	h.b.used -= h.held
	h.held = 0
	h.closed = true
	h.b.mu.Unlock()
}

// Refusal is the call's refusal of an answer for memory, or nil.
func (h *Hold) Refusal() error {
	if h == nil {
		return nil
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	return h.refusal
}

type holdKey struct{}

// WithHold returns ctx carrying the call's Hold.
func WithHold(ctx context.Context, h *Hold) context.Context {
	if h == nil {
		return ctx
	}
	return context.WithValue(ctx, holdKey{}, h)
}

// HoldFrom is the Hold ctx carries, or nil.
func HoldFrom(ctx context.Context) *Hold {
	h, _ := ctx.Value(holdKey{}).(*Hold)
	return h
}

// Counted wraps next so that the body of each answer to a request whose
// context carries a Hold is held against it as it is read.
func Counted(next http.RoundTripper) http.RoundTripper { return counted{next} }

type counted struct{ next http.RoundTripper }

func (c counted) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if h := HoldFrom(req.Context()); h != nil {
		resp.Body = Reader(h, resp.Body)
	}
	return resp, nil
}

// Reader returns r, whose reads are held against h.
func Reader(h *Hold, r io.ReadCloser) io.ReadCloser {
	if h == nil {
		return r
	}
	return &countedBody{ReadCloser: r, h: h}
}

type countedBody struct {
	io.ReadCloser
	h *Hold
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if herr := b.h.Take(n); herr != nil {
		return 0, herr
	}
	return n, err
}
