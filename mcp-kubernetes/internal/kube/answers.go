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

// DocumentCost is AnswerCost for a command that prints the answer as one
// document (-o json or yaml, a JSONPath or Go template over it): on a
// 24 MB list those peaked at 262-365 MiB against 225-237 for -o name.
const DocumentCost = 12

// TemplateCopyCost is what each value a Go template's string building
// functions take adds to DocumentCost: each may be a copy of the whole
// answer ({{print . . . .}} on a 30 MiB list peaked 504 MiB higher).
const TemplateCopyCost = 5

// ColumnCost is what each custom column adds to DocumentCost: kubectl
// holds every cell until its tabwriter flushes, and a column may copy
// every object's largest value (40 columns of a 3 MB list: 479 MiB).
const ColumnCost = 4

// JSONPathActionCost is what each {action} of a JSONPath adds to
// DocumentCost: each finds its results over the whole answer (200 actions
// over a 3 MB list: 224 MiB, eight such calls 588 MiB).
const JSONPathActionCost = 1

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

// CopyCost is the memory one byte of a copy the Guard makes of an answer
// (the merge of one list per namespace) takes: a limited caller's -A list
// of 24 MB peaked 73 MiB above the same list read at once.
const CopyCost = 3

// Hold is what one call holds of Answers. A nil Hold holds nothing and
// refuses nothing.
type Hold struct {
	a *Answers
	// Under a.mu.
	cost    int64
	held    int64
	refusal error
	// closed: the call has ended; what is read through it later (a
	// handler still running past its deadline) is refused, never kept.
	closed bool
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
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.takeLocked(int64(n) * h.cost)
}

// takeCopy holds a copy of n bytes of answer the Guard made.
func (h *Hold) takeCopy(n int) error {
	if h == nil || n <= 0 {
		return nil
	}
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.takeLocked(int64(n) * CopyCost)
}

func (h *Hold) takeLocked(want int64) error {
	a := h.a
	switch {
	case h.closed:
		return errors.New("the call has ended: its answers are no longer read")
	case h.held+want > a.limit:
		h.refusal = tool.Argf("the API server's answers to this command take more memory than this server gives all calls' answers (%d MiB; it holds about %d bytes for each byte of answer, more with -o json or yaml, and per column, JSONPath node or template copy): narrow the request (a selector, a namespace, fewer columns; --tail or --since for logs), or give the server more memory", a.limit>>20, h.cost)
	case a.used+want > a.limit:
		h.refusal = fmt.Errorf("this server is holding other calls' large answers (%d of the %d MiB it gives answers): retry in a moment, or narrow the request: %w", (a.used-h.held)>>20, a.limit>>20, ErrBusy)
	default:
		a.used += want
		h.held += want
		return nil
	}
	// The call fails: what it read so far is given back now, so the
	// calls beside it go on (eight calls that each fit alone refused one
	// another when each kept its part until it ended).
	a.used -= h.held
	h.held = 0
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

// Release gives back all the call holds and closes it; call it when the
// call ends.
func (h *Hold) Release() {
	if h == nil {
		return
	}
	h.a.mu.Lock()
	h.a.used -= h.held
	h.held = 0
	h.closed = true
	h.a.mu.Unlock()
}

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
