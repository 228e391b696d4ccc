// Package tool is how every server declares its tools: as data (name,
// description, input and output schemas, handler), in one table per domain.
// Registration goes through Binder, which wraps each handler in the suite's
// cross-cutting behaviour (policy, rate limit, argument validation, masking,
// output budget, audit, metrics), so no single tool can forget it.
package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/policy"
)

var fallbackMasker = sync.OnceValue(func() *mask.Masker { return mask.New(nil) })

// Tool is one tool's declaration.
type Tool struct {
	Name        string
	Title       string
	Description string
	// Input and Output are JSON schemas of the arguments and of the
	// structured result; New derives them from Go types.
	Input, Output *jsonschema.Schema
	// OpenWorld says the tool reaches an upstream whose content changes
	// independently of this server (an API server, a forge).
	OpenWorld bool
	Handler   Handler
}

// Handler runs a call whose arguments have been validated.
type Handler func(ctx context.Context, c *Call) (*Result, error)

// Call is one validated tool call.
type Call struct {
	Tool      string
	Principal auth.Principal
	Grant     *policy.Grant
	// Args are the tool's own arguments (without cursor and max_bytes).
	Args json.RawMessage
	// Resume is the position a previous result's Resume returned, when the
	// caller passed its cursor back; empty on a first call.
	Resume string
	// Header is the HTTP request's header (nil over stdio), for a server
	// that accepts the caller's own upstream credentials. It is never
	// audited.
	Header http.Header

	// mask is the server's masker, set by the binder; masked counts what
	// handlers masked through Mask, for the audit line.
	mask   func(string) (string, int)
	masker *mask.Masker
	masked atomic.Int64
	// outs are texts Mask returned, so the binder knows their lines are
	// masked and does not mask them one by one again (see known).
	outsMu sync.Mutex
	outs   []string
	lines  int

	// done are what OnDone was given.
	doneMu sync.Mutex
	done   []func()
}

// OnDone has f run once the binder has shaped the call's result into
// what is sent, or failed the call: a handler that holds something for
// its result (memory counted against a bound) gives it back then rather
// than when it returns, since the shaping still works on that result.
// Without a binder (a handler called directly) f never runs.
func (c *Call) OnDone(f func()) {
	c.doneMu.Lock()
	c.done = append(c.done, f)
	c.doneMu.Unlock()
}

// finish runs what OnDone was given, last first.
func (c *Call) finish() {
	c.doneMu.Lock()
	done := c.done
	c.done = nil
	c.doneMu.Unlock()
	for i := len(done) - 1; i >= 0; i-- {
		done[i]()
	}
}

// Bounds of what a call remembers of its masked texts: past them, the
// binder masks the rest of the result line by line as before.
const (
	maxKnownTexts = 4096
	maxKnownLines = 1 << 16
)

// Masker returns the server's masker (the binder's), or nil without a
// binder: a handler that masks structured upstream answers itself uses it
// so that a value's placeholder is the same in every tool's answer.
func (c *Call) Masker() *mask.Masker { return c.masker }

// Mask masks s with the server's masker and returns the result. Handlers
// call it on whole upstream text before they split it (into lines, pages,
// blame ranges, search hits, chunks) or filter it (grep, pattern, regexp),
// so a multi-line secret is seen whole and a filter never matches, or
// counts, a hidden value. The binder masks the result again on the way
// out; masking is idempotent. Without a binder (unit tests of a handler)
// Mask uses a masker with a random key.
func (c *Call) Mask(s string) string {
	f := c.mask
	if f == nil {
		f = fallbackMasker().Text
	}
	out, n := f(s)
	c.masked.Add(int64(n))
	if c.mask != nil {
		c.outsMu.Lock()
		if l := strings.Count(out, "\n") + 1; len(c.outs) < maxKnownTexts && c.lines+l <= maxKnownLines {
			c.outs = append(c.outs, out)
			c.lines += l
		}
		c.outsMu.Unlock()
	}
	return out
}

// known reports the strings of a result the binder's masker already
// returned through Mask: one whole line of a masked text, with no
// placeholder, which masking again would leave as it is (mask.Masked).
// Nil when Mask was not called.
func (c *Call) known() mask.Masked {
	c.outsMu.Lock()
	outs := c.outs
	c.outsMu.Unlock()
	if len(outs) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(outs))
	for _, out := range outs {
		for line := range strings.SplitSeq(out, "\n") {
			// A line with a placeholder is masked again: masking twice
			// can differ from once around one.
			if !strings.Contains(line, mask.Prefix) {
				set[line] = struct{}{}
			}
		}
	}
	return func(s string) bool {
		_, ok := set[s]
		return ok
	}
}

// Allows reports whether the caller's roles let this tool read value in
// scope key (e.g. "namespaces", "web").
func (c *Call) Allows(key, value string) bool {
	if c.Grant == nil {
		return true
	}
	return c.Grant.Allows(c.Tool, key, value)
}

// Scope returns the allowed patterns of scope key for this tool, or nil
// when unrestricted.
func (c *Call) Scope(key string) []string {
	if c.Grant == nil {
		return nil
	}
	return c.Grant.Patterns(c.Tool, key)
}

// Result is what a handler returns. Data is the structured result; it must
// encode to a JSON object, and its "items" array, if any, is what the
// budget pages through. The text rendering is either Text, or Render
// applied to the masked (and paged) data, so the text can never show what
// the structure hid.
//
// A tool that pages by a position of its own (a log timestamp, a file
// offset: something stable when new data keeps arriving) sets Resume. The
// binder then puts Resume(k) in the cursor when it cuts the result after k
// items, or Resume(len(items)) when More says the handler stopped early,
// and hands that position back in Call.Resume.
type Result struct {
	Data   any
	Text   string
	Render func(data map[string]any) string
	Resume func(shown int) string
	More   bool
}

// Errors a handler may wrap to set the audit outcome.
var (
	// ErrArgs marks a bad argument: the message tells the model what to fix.
	ErrArgs = errors.New("invalid arguments")
	// ErrDenied marks a call the caller's policy does not allow.
	ErrDenied = errors.New("denied by policy")
)

// Argf returns an argument error with a message for the model. When one
// of args is an upstream failure, that failure is returned instead: an
// upstream that is down never becomes the caller's bad argument, whatever
// a handler's error path assumed.
func Argf(format string, args ...any) error {
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, ErrUpstream) {
			return err
		}
	}
	return fmt.Errorf("%w: %s", ErrArgs, fmt.Sprintf(format, args...))
}

// Deniedf returns a policy denial.
func Deniedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDenied, fmt.Sprintf(format, args...))
}

// New declares a tool whose arguments decode into In and whose structured
// result has the shape of Out.
func New[In, Out any](name, title, description string, h func(ctx context.Context, c *Call, in In) (*Result, error)) Tool {
	in, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Errorf("tool %s: input schema: %w", name, err))
	}
	out, err := jsonschema.For[Out](nil)
	if err != nil {
		panic(fmt.Errorf("tool %s: output schema: %w", name, err))
	}
	return Tool{
		Name: name, Title: title, Description: description,
		Input: in, Output: out, OpenWorld: true,
		Handler: func(ctx context.Context, c *Call) (*Result, error) {
			var v In
			if len(c.Args) > 0 {
				if err := json.Unmarshal(c.Args, &v); err != nil {
					return nil, Argf("%v", err)
				}
			}
			return h(ctx, c, v)
		},
	}
}

// ClosedWorld marks a tool that reads only the server's own domain (its
// files, its index), not the open world of an upstream service.
func ClosedWorld(t Tool) Tool {
	t.OpenWorld = false
	return t
}

// Rows renders a result's items one line each with row, for Render
// functions of list results.
func Rows(d map[string]any, row func(m map[string]any) string) string {
	items, _ := d["items"].([]any)
	var b strings.Builder
	for _, it := range items {
		m, _ := it.(map[string]any)
		b.WriteString(row(m))
		b.WriteByte('\n')
	}
	return b.String()
}

// Str is a field of rendered data as text: "" when it is missing.
func Str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// Date is t as an RFC 3339 UTC timestamp for a result, "" for the zero
// time.
func Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
