package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// AnswerCost is the memory, in bytes, one byte of an API server's answer
// takes while a call holds it: read, masked (decoded and encoded again),
// decoded by kubectl's or client-go's code and printed. A 30 MiB list of
// ConfigMaps read with k8s_kubectl get -o name peaked at 253 MiB RSS
// (docs/benchmarks.md).
const AnswerCost = 8

// TemplateCopyCost is what each value a Go template's string building
// functions take adds to AnswerCost: each may be a copy of the whole
// answer ({{print . . . .}} on that 30 MiB list peaked 504 MiB higher).
const TemplateCopyCost = 5

// Answers is the memory the calls of this process may hold of the API
// server's answers at once. Each call holds what it reads against it (a
// Hold) and is refused an answer past it, rather than the process being
// killed for its memory with every caller's call in it.
type Answers struct {
	mu          sync.Mutex
	limit, used int64
}

// NewAnswers returns Answers of memory bytes.
func NewAnswers(memory int64) *Answers { return &Answers{limit: memory} }

// ErrBusy is wrapped by the refusal of an answer because other calls hold
// the memory for answers: the server's state, not the caller's request
// nor the API server's doing.
var ErrBusy = errors.New("busy")

// Hold is what one call holds of Answers. A nil Hold holds nothing and
// refuses nothing.
type Hold struct {
	a *Answers
	// Under a.mu.
	cost    int64
	held    int64
	refusal error
}

// Begin starts a call's Hold; nil without Answers.
func (a *Answers) Begin() *Hold {
	if a == nil {
		return nil
	}
	return &Hold{a: a, cost: AnswerCost}
}

// SetCost sets the memory one byte of answer takes in this call (more
// than AnswerCost for a template that copies it).
func (h *Hold) SetCost(cost int64) {
	if h == nil || cost <= 0 {
		return
	}
	h.a.mu.Lock()
	h.cost = cost
	h.a.mu.Unlock()
}

// Cost is the memory one byte of answer takes in this call.
func (h *Hold) Cost() int64 {
	if h == nil {
		return AnswerCost
	}
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.cost
}

// take holds n more bytes of answer.
func (h *Hold) take(n int) error {
	if h == nil || n <= 0 {
		return nil
	}
	a := h.a
	a.mu.Lock()
	defer a.mu.Unlock()
	want := int64(n) * h.cost
	switch {
	case h.held+want > a.limit:
		h.refusal = tool.Argf("the API server's answers to this command take more memory than this server gives all calls' answers (%d MiB; it holds about %d bytes for each byte of answer, more with a template that copies it): narrow the request (a selector, a namespace; --tail or --since for logs)", a.limit>>20, h.cost)
	case a.used+want > a.limit:
		h.refusal = fmt.Errorf("this server is holding other calls' large answers (%d of the %d MiB it gives answers): retry in a moment, or narrow the request: %w", (a.used-h.held)>>20, a.limit>>20, ErrBusy)
	default:
		a.used += want
		h.held += want
		return nil
	}
	return h.refusal
}

// give gives back n bytes of memory (no more than the call holds).
func (h *Hold) give(n int64) {
	if h == nil {
		return
	}
	h.a.mu.Lock()
	n = min(n, h.held)
	h.a.used -= n
	h.held -= n
	h.a.mu.Unlock()
}

// Release gives back all the call holds; call it when the call ends.
func (h *Hold) Release() { h.give(1 << 62) }

// Refusal is the call's refusal of an answer for memory, or nil.
func (h *Hold) Refusal() error {
	if h == nil {
		return nil
	}
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.refusal
}

type holdKey struct{}

// WithHold returns ctx carrying the call's Hold, for Counted.
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
// context carries a Hold is held against it as it is read: every client
// of a cluster (client-go's typed and dynamic clients, kubectl's code
// behind the Guard) reads through it.
func Counted(next http.RoundTripper) http.RoundTripper {
	return countedRT{next}
}

type countedRT struct{ next http.RoundTripper }

func (c countedRT) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if h := HoldFrom(req.Context()); h != nil {
		resp.Body = &countedBody{ReadCloser: resp.Body, h: h}
	}
	return resp, nil
}

type countedBody struct {
	io.ReadCloser
	h *Hold
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if herr := b.h.take(n); herr != nil {
		return 0, herr
	}
	return n, err
}
