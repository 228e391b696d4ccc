package tool

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/time/rate"

	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/budget"
	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/memory"
	"github.com/opsmcp/opsmcp/shared/metrics"
	"github.com/opsmcp/opsmcp/shared/policy"
)

// Argument names every tool accepts, added to its input schema by the
// binder: the output budget of this call, and where to continue a cut
// result.
const (
	ArgMaxBytes = "max_bytes"
	ArgCursor   = "cursor"
)

// Binder holds what every call of one server goes through.
type Binder struct {
	Server      string // binary name, for audit and metrics
	Tools       []Tool
	Masker      *mask.Masker
	Audit       *audit.Log
	Metrics     *metrics.Metrics
	Policy      *policy.Policy
	MaxBytes    int           // cap and default of max_bytes
	CallTimeout time.Duration // per call; 0: none
	// RatePerMinute and Burst limit each user's calls; 0: unlimited.
	RatePerMinute float64
	Burst         int
	Logger        *slog.Logger
	// AuditRequired fails a call whose audit line cannot be written (the
	// default over HTTP): no answer leaves without its record.
	AuditRequired bool
	// CursorKey signs cursors; empty: a random key per process (cursors
	// then do not survive a restart).
	CursorKey []byte
	// Upstream names the service the tools read ("Gitea"), for a call
	// that timed out or failed in transport without its handler naming
	// the upstream itself; "" means "the upstream".
	Upstream string
	// Memory, when set, bounds what the calls hold of their upstream's
	// answers at once: each call reads through a memory.Hold in its
	// context at MemoryCost bytes of memory a byte, given back once its
	// result is sent.
	Memory     *memory.Budget
	MemoryCost int64
	// OnUpstreamError, if set, hears of every call that failed because
	// of the upstream (readiness tracks it).
	OnUpstreamError func(*UpstreamError)
	// StopGrace is how long a call waits for its handler after the call
	// timeout before answering anyway; 0: 2 s. A handler that ignores
	// its context can then never hold a caller past its time limit.
	StopGrace time.Duration

	once     sync.Once
	inflight sync.WaitGroup
	stopOnce sync.Once
	stopCtx  context.Context
	stopAll  context.CancelFunc
	prepared []prepared
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

type prepared struct {
	tool     Tool
	mcpTool  *mcp.Tool
	resolved *jsonschema.Resolved
	metrics  *metrics.ToolMetrics // nil without Metrics
}

// prepare builds each tool's MCP declaration once; every session reuses it.
func (b *Binder) prepare() {
	b.once.Do(func() {
		if b.Logger == nil {
			b.Logger = slog.Default()
		}
		if len(b.CursorKey) == 0 {
			b.CursorKey = make([]byte, 32)
			if _, err := rand.Read(b.CursorKey); err != nil {
				panic(fmt.Errorf("cursor key: %w", err))
			}
		}
		b.limiters = map[string]*rate.Limiter{}
		names := map[string]bool{}
		for _, t := range b.Tools {
			if names[t.Name] {
				panic(fmt.Sprintf("tool %s declared twice", t.Name))
			}
			names[t.Name] = true
			in := withPaging(t.Input, b.MaxBytes)
			resolved, err := in.Resolve(nil)
			if err != nil {
				panic(fmt.Errorf("tool %s: resolve input schema: %w", t.Name, err))
			}
			openWorld := t.OpenWorld
			destructive := false
			mt := &mcp.Tool{
				Name:        t.Name,
				Title:       t.Title,
				Description: t.Description,
				InputSchema: in,
				Annotations: &mcp.ToolAnnotations{
					Title:           t.Title,
					ReadOnlyHint:    true,
					DestructiveHint: &destructive,
					IdempotentHint:  true,
					OpenWorldHint:   &openWorld,
				},
			}
			if t.Output != nil {
				mt.OutputSchema = withPageInfo(t.Output)
			}
			var tm *metrics.ToolMetrics
			if b.Metrics != nil {
				tm = b.Metrics.Tool(t.Name)
			}
			b.prepared = append(b.prepared, prepared{tool: t, mcpTool: mt, resolved: resolved, metrics: tm})
		}
	})
}

// withPaging adds max_bytes and cursor to an input schema.
func withPaging(s *jsonschema.Schema, max int) *jsonschema.Schema {
	c := s.CloneSchemas()
	if c.Properties == nil {
		c.Properties = map[string]*jsonschema.Schema{}
	}
	maxF := float64(max)
	minF := 256.0
	c.Properties[ArgMaxBytes] = &jsonschema.Schema{Type: "integer", Minimum: &minF, Maximum: &maxF,
		Description: fmt.Sprintf("Byte budget of this result (at most %d, the server's cap, which is also the default). A cut result says so and returns a cursor.", max)}
	c.Properties[ArgCursor] = &jsonschema.Schema{Type: "string",
		Description: "Cursor from a previous, cut result of the same call: continues where it stopped. Keep the other arguments the same."}
	return c
}

// withPageInfo adds the fields the budget sets on a cut result.
func withPageInfo(s *jsonschema.Schema) *jsonschema.Schema {
	c := s.CloneSchemas()
	if c.Properties == nil {
		c.Properties = map[string]*jsonschema.Schema{}
	}
	c.Properties["truncated"] = &jsonschema.Schema{Type: "boolean", Description: "True when the result was cut to fit the byte budget."}
	c.Properties["cursor"] = &jsonschema.Schema{Type: "string", Description: "Pass as the cursor argument to continue a cut result."}
	c.Properties["shown"] = &jsonschema.Schema{Type: "integer", Description: "Items in this page, when cut."}
	c.Properties["total"] = &jsonschema.Schema{Type: "integer", Description: "Items in the whole result, when cut."}
	return c
}

// Bind registers every tool on srv for calls made by p. session labels the
// audit lines when the transport has no session id of its own.
func (b *Binder) Bind(srv *mcp.Server, p auth.Principal, session string) {
	b.prepare()
	for i := range b.prepared {
		pt := &b.prepared[i]
		srv.AddTool(pt.mcpTool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			sid := session
			if sid == "" && req.Session != nil {
				sid = req.Session.ID()
			}
			var header http.Header
			caller := p
			reqID := traceID(req.Params.Meta)
			if req.Extra != nil {
				if reqID == "" {
					reqID = traceID(map[string]any{"traceparent": req.Extra.Header.Get("Traceparent")})
				}
				header = req.Extra.Header
				// Identity is per request: a delegate's session carries
				// calls for many users, each held to its own grant.
				if rp, ok := auth.FromTokenInfo(req.Extra.TokenInfo); ok {
					caller = rp
				}
			}
			return b.call(ctx, pt, caller, sid, reqID, req.Params.Arguments, header), nil
		})
	}
}

// stopping is cancelled by Stop.
func (b *Binder) stopping() context.Context {
	b.stopOnce.Do(func() { b.stopCtx, b.stopAll = context.WithCancel(context.Background()) })
	return b.stopCtx
}

// Stop cancels the calls in flight (a stopping server's grace period is
// over) and waits up to timeout for them to end and their audit lines to
// be written; it reports whether they all did.
func (b *Binder) Stop(timeout time.Duration) bool {
	b.stopping()
	b.stopAll()
	return b.Drain(timeout)
}

// Drain waits up to timeout for the calls in flight to end and their
// audit lines to be written, and reports whether they all did.
func (b *Binder) Drain(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		b.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// grantFor is what p may do: its own roles' grant, and for a delegated
// call also no more than the delegate's (both must allow).
func (b *Binder) grantFor(p auth.Principal) *policy.Grant {
	g := b.Policy.For(p.Roles)
	if p.Via != "" {
		g = g.And(b.Policy.For(p.ViaRoles))
	}
	return g
}

// Names lists the declared tools, sorted.
func (b *Binder) Names() []string {
	var names []string
	for _, t := range b.Tools {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}

func (b *Binder) limiter(user string) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.limiters[user]
	if !ok {
		l = rate.NewLimiter(rate.Limit(b.RatePerMinute/60), b.Burst)
		b.limiters[user] = l
	}
	return l
}

// outcome of one call, as the audit log and metrics see it.
type outcome struct {
	name      string
	err       string
	bytes     int
	truncated bool
	masked    int
}

// call runs one call and writes its audit line. Everything after the
// arguments arrive, masking and auditing included, runs under a recover:
// hostile input that trips a bug becomes an audited error, and the server
// keeps serving.
func (b *Binder) call(ctx context.Context, pt *prepared, p auth.Principal, session, reqID string, raw json.RawMessage, header http.Header) (res *mcp.CallToolResult) {
	b.inflight.Add(1)
	defer b.inflight.Done()
	start := time.Now()
	var out outcome
	defer func() {
		if r := recover(); r != nil {
			b.Logger.Error("tool call panicked", "tool", pt.tool.Name, "panic", b.panicText(r), "stack", string(debug.Stack()))
			res = b.fail(&out, audit.Error, fmt.Sprintf("internal error in %s; the server is still running, and the error is logged", pt.tool.Name))
		}
		res = b.record(pt, p, session, reqID, raw, start, &out, res)
	}()
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	return b.run(ctx, pt, p, b.grantFor(p), raw, header, &out)
}

// record writes the audit line and metrics of a finished call. With
// AuditRequired, a call whose line cannot be written fails and says so.
func (b *Binder) record(pt *prepared, p auth.Principal, session, reqID string, raw json.RawMessage, start time.Time, out *outcome, res *mcp.CallToolResult) (final *mcp.CallToolResult) {
	final = res
	defer func() {
		if r := recover(); r != nil {
			b.Logger.Error("audit of a call panicked", "tool", pt.tool.Name, "panic", b.panicText(r), "stack", string(debug.Stack()))
			if b.AuditRequired {
				final = &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "internal error: the call's audit record could not be written, so its result is withheld"}}}
			}
		}
	}()
	rec := audit.Build(b.Masker, audit.Call{
		Server: b.Server, Tool: pt.tool.Name, User: p.User, Via: p.Via, RequestID: reqID, Session: session,
		Start: start, Duration: time.Since(start), Args: raw, ArgsKey: b.CursorKey,
		Outcome: out.name, Err: out.err, Bytes: out.bytes, Truncated: out.truncated, Masked: out.masked,
	})
	if err := b.Audit.Write(rec); err != nil {
		b.Logger.Error("audit write failed", "err", err, "tool", pt.tool.Name, "user", p.User)
		if b.AuditRequired {
			final = &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "audit log unavailable: the call's audit record could not be written, so its result is withheld (--audit-required); the operator must fix the audit log"}}}
			out.name = audit.Error
		}
	}
	if m := pt.metrics; m != nil {
		m.Call(out.name, out.name == audit.OK, time.Since(start).Seconds(), float64(out.bytes), float64(out.masked))
	}
	return final
}

// traceID is the 32-hex trace id of a W3C traceparent in a request's
// _meta (or header), or "" when there is none or it is malformed: it is
// caller input and lands in the audit log.
func traceID(meta map[string]any) string {
	tp, _ := meta["traceparent"].(string)
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || len(parts[1]) != 32 || strings.Trim(parts[1], "0123456789abcdef") != "" || strings.Trim(parts[1], "0") == "" {
		return ""
	}
	return parts[1]
}

// run applies policy, rate limit, validation, the handler, masking and the
// budget, and fills out.
func (b *Binder) run(ctx context.Context, pt *prepared, p auth.Principal, grant *policy.Grant, raw json.RawMessage, header http.Header, out *outcome) *mcp.CallToolResult {
	name := pt.tool.Name
	// The rate limit comes first, so denied calls count too: they cannot
	// flood the audit log until rotation drops older lines.
	if b.RatePerMinute > 0 && !b.limiter(rateKey(p)).Allow() {
		return b.fail(out, audit.RateLimited, fmt.Sprintf("rate limited: user %s is over %.0f calls per minute; wait and retry", p.User, b.RatePerMinute))
	}
	if !grant.AllowsTool(name) {
		return b.fail(out, audit.Denied, fmt.Sprintf("denied: user %s (%s) may not call %s", p.User, grant.Describe(), name))
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return b.fail(out, audit.Error, "invalid arguments: arguments must be a JSON object")
	}
	if err := pt.resolved.Validate(generic); err != nil {
		return b.fail(out, audit.Error, "invalid arguments: "+err.Error()+". Check the tool's input schema.")
	}
	maxBytes := b.MaxBytes
	if v, ok := generic[ArgMaxBytes].(float64); ok && int(v) < maxBytes {
		maxBytes = int(v)
	}
	cursorArg, _ := generic[ArgCursor].(string)
	delete(generic, ArgMaxBytes)
	delete(generic, ArgCursor)
	args, _ := json.Marshal(generic) // map keys sorted: a stable form for the hash
	// Keyed, like the audit's: the id travels in the cursor, which the
	// audit log records among the arguments.
	mac := hmac.New(sha256.New, b.CursorKey)
	mac.Write([]byte("cursor args\x00"))
	mac.Write(args)
	argsSum := mac.Sum(nil)
	argsID := hex.EncodeToString(argsSum[:6])
	// A cursor is bound to this tool, these arguments and this caller.
	bind := name + "\x00" + hex.EncodeToString(argsSum[:]) + "\x00" + callerKey(p)
	var from budget.Cursor
	if cursorArg != "" {
		c, err := budget.Open(cursorArg, b.CursorKey, bind)
		if err != nil {
			return b.fail(out, audit.Error, err.Error())
		}
		from = c
	}

	if b.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.CallTimeout)
		defer cancel()
	}
	// Stop cancels the call, whatever the transport did with its context.
	ctx, cancelStop := context.WithCancel(ctx)
	defer cancelStop()
	stopWatch := context.AfterFunc(b.stopping(), cancelStop)
	defer stopWatch()
	call := &Call{Tool: name, Principal: p, Grant: grant, Args: args, Resume: from.Pos, Header: header, mask: b.Masker.Text, masker: b.Masker}
	defer func() { out.masked += int(call.masked.Load()) }()
	// After the shaping below: what a handler held for its result is
	// given back once the result is no longer worked on.
	defer call.finish()
	// What the call reads of its upstream is held against the server's
	// memory for answers until its result is sent.
	hold := b.Memory.Begin(b.MemoryCost)
	call.OnDone(hold.Release)
	ctx = memory.WithHold(ctx, hold)
	if from.Pos != "" {
		// The handler starts at its own position; only a text offset
		// within its first item is left for the budget.
		from = budget.Cursor{Text: from.Text}
	}
	res, err := b.handle(ctx, pt.tool, call)
	if refused := hold.Refusal(); refused != nil {
		// Said as such, whatever the upstream's client made of the
		// failed read or the deadline after it (a busy server is not a
		// failed upstream); and a result built past a refused read (a
		// handler that took it for the end of the answer) is never sent.
		if errors.Is(refused, memory.ErrTooLarge) {
			return b.fail(out, audit.Error, Argf("%v", refused).Error())
		}
		return b.fail(out, audit.Error, refused.Error())
	}
	if err != nil {
		err = b.classify(ctx, err)
		kind := audit.Error
		var ue *UpstreamError
		switch {
		case errors.Is(err, ErrDenied):
			kind = audit.Denied
		case errors.As(err, &ue):
			kind = audit.Upstream
			if b.OnUpstreamError != nil {
				b.OnUpstreamError(ue)
			}
		}
		return b.fail(out, kind, err.Error())
	}
	return b.shape(res, call.known(), from, argsID, bind, maxBytes, out)
}

// panicText is a panic's value for the server log, masked: it is often
// the input that tripped the bug (an upstream line, an argument). When
// masking is what panicked, the value is withheld.
func (b *Binder) panicText(r any) (text string) {
	defer func() {
		if recover() != nil {
			text = "(withheld: masking the panic value panicked too)"
		}
	}()
	text, _ = b.Masker.Text(fmt.Sprint(r))
	return text
}

// rateKey is whose budget a call spends: the user's own, also when a
// delegate calls for them, so going through the orchestrator does not
// double it. Where the user was verified stays part of it, as in
// callerKey.
func rateKey(p auth.Principal) string {
	p.Via = ""
	return callerKey(p)
}

// callerKey names a caller for its cursors and its rate budget: the user,
// where it was verified (an OIDC user may pick a token-file user's name,
// and gets neither that user's cursors nor its calls), and the delegate.
// Each part is quoted, so no name can pose as two.
func callerKey(p auth.Principal) string {
	source := "file"
	if p.OIDC {
		source = "oidc"
	}
	return fmt.Sprintf("%q %s via %q", p.User, source, p.Via)
}

// handle runs the handler, and answers at the latest StopGrace after the
// call's deadline even if the handler is still running (its context is
// cancelled, so its upstream requests are aborted; whatever it returns
// later is dropped).
func (b *Binder) handle(ctx context.Context, t Tool, c *Call) (*Result, error) {
	type answer struct {
		res *Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := b.safeHandle(ctx, t, c)
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		return a.res, a.err
	case <-ctx.Done():
	}
	grace := b.StopGrace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case a := <-done:
		return a.res, a.err
	case <-timer.C:
		b.Logger.Warn("tool handler still running after its call ended", "tool", t.Name, "grace", grace)
		return nil, context.Cause(ctx)
	}
}

// classify makes a handler's error say whose fault it is: a call whose
// time limit ran out waiting on the upstream says "timed out after N s
// waiting for <upstream>", and a bare transport failure is the
// upstream's. Argument errors and denials stay as they are.
func (b *Binder) classify(ctx context.Context, err error) error {
	if errors.Is(err, ErrArgs) || errors.Is(err, ErrDenied) || errors.Is(err, memory.ErrBusy) {
		return err
	}
	name := b.Upstream
	if name == "" {
		name = "the upstream"
	}
	var ue *UpstreamError
	if errors.Is(ctx.Err(), context.Canceled) {
		// Nobody's fault upstream: the caller went away, or the server
		// is stopping past its grace period.
		return fmt.Errorf("cancelled: the call was stopped before it finished (the client went away, or the server is shutting down); retry")
	}
	timedOut := b.CallTimeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded)
	if timedOut {
		cp := &UpstreamError{Upstream: name, Cause: CauseTimeout, Err: err}
		if errors.As(err, &ue) {
			c := *ue
			cp = &c
			cp.Cause = CauseTimeout
		}
		cp.After = b.CallTimeout
		return cp
	}
	if errors.As(err, &ue) {
		return err
	}
	if b.Upstream != "" && (IsTransport(err) || errors.Is(err, context.DeadlineExceeded)) {
		return Upstream(b.Upstream, "", err)
	}
	return err
}

func (b *Binder) safeHandle(ctx context.Context, t Tool, c *Call) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			b.Logger.Error("tool handler panicked", "tool", t.Name, "panic", b.panicText(r), "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("internal error in %s; the server is still running, and the error is logged", t.Name)
		}
	}()
	res, err = t.Handler(ctx, c)
	if err == nil && res == nil {
		err = fmt.Errorf("internal error in %s: no result", t.Name)
	}
	return res, err
}

// shape masks the result, cuts it to the budget and builds the MCP result.
// A string of the data the handler already had masked (known) is not
// masked as text again; the walk's other rules and the rendering's
// masking still apply.
func (b *Binder) shape(res *Result, known mask.Masked, from budget.Cursor, argsID, bind string, maxBytes int, out *outcome) *mcp.CallToolResult {
	data := map[string]any{}
	if res.Data != nil {
		masked, n, err := b.Masker.AnyMasked(res.Data, known)
		if err != nil {
			return b.fail(out, audit.Error, "internal error: "+err.Error())
		}
		out.masked += n
		m, ok := masked.(map[string]any)
		if !ok {
			m = map[string]any{"result": masked}
		}
		data = m
	}
	page := budget.Page{Data: data}
	renderMasked := 0
	if res.Render != nil {
		// The rendered text is masked before the budget measures and cuts
		// it: a renderer can compose a secret out of fields that were each
		// harmless ("password" and a value), and a cut through the middle
		// of it would leave both halves unmasked, one per page. The budget
		// renders the page it keeps last, so renderMasked ends as that
		// page's count.
		page.Render = func(d map[string]any) string {
			text, n := b.Masker.Text(res.Render(d))
			renderMasked = n
			return text
		}
	} else {
		text, n := b.Masker.Text(res.Text)
		out.masked += n
		page.Text = text
	}
	cut, encoded, fits := whole(page, from, maxBytes)
	if !fits {
		cut = budget.Apply(page, from, maxBytes)
	}
	more := false
	if res.Resume != nil {
		switch {
		case cut.Next != nil:
			// Continue at the first item not shown, or inside it (Text)
			// when one item alone was over the budget.
			cut.Next = &budget.Cursor{Pos: res.Resume(cut.Next.Items), Text: cut.Next.Text}
		case res.More:
			cut.Next = &budget.Cursor{Pos: res.Resume(cut.Total)}
			more = true
		}
	}
	text := cut.Text
	if res.Render != nil {
		out.masked += renderMasked
	}
	if cut.Next != nil {
		cut.Next.Args = argsID
		c := cut.Next.Seal(b.CursorKey, bind)
		cut.Data["cursor"] = c
		if more {
			text = strings.TrimRight(text, "\n") + "\n" + fmt.Sprintf("[more: the limit stopped this result; call again with the same arguments and cursor %q for the next page]", c)
		} else {
			cut.Data["truncated"] = true
			if cut.Total > 0 {
				cut.Data["shown"] = cut.Shown
				cut.Data["total"] = cut.Total
			}
			text = strings.TrimRight(text, "\n") + "\n" + truncationNote(cut, maxBytes, c)
			out.truncated = true
		}
	}
	if text == "" {
		text = "(no results)"
	}
	if !fits || cut.Next != nil {
		encoded, _ = marshalData(cut.Data)
	}
	out.name = audit.OK
	out.bytes = len(text) + len(encoded)
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: text}},
		StructuredContent: json.RawMessage(encoded),
	}
}

// whole is a first page that fits the budget as it is, and its encoding:
// what budget.Apply returns for it, without Apply's search for the most
// items that fit, which renders (and so masks) the page a dozen times.
func whole(p budget.Page, from budget.Cursor, max int) (budget.Cut, []byte, bool) {
	if from != (budget.Cursor{}) {
		return budget.Cut{}, nil, false
	}
	encoded, err := marshalData(p.Data)
	if err != nil || len(encoded) > max {
		return budget.Cut{}, nil, false
	}
	text := p.Text
	if p.Render != nil {
		text = p.Render(p.Data)
	}
	if len(text) > max {
		return budget.Cut{}, nil, false
	}
	items, _ := p.Data["items"].([]any)
	return budget.Cut{Data: p.Data, Text: text, Shown: len(items), Total: len(items)}, encoded, true
}

func truncationNote(cut budget.Cut, maxBytes int, cursor string) string {
	what := fmt.Sprintf("cut at the %d-byte budget", maxBytes)
	if cut.Total > 0 {
		what = fmt.Sprintf("cut at the %d-byte budget: %d of %d items shown", maxBytes, cut.Shown, cut.Total)
	}
	return fmt.Sprintf("[truncated: %s; call again with the same arguments and cursor %q to continue, or narrow the query]", what, cursor)
}

// fail builds an error result. Its message is masked here, once for every
// path: upstream errors and schema errors can both quote argument values.
func (b *Binder) fail(out *outcome, kind, msg string) *mcp.CallToolResult {
	msg, n := b.Masker.Text(msg)
	out.masked += n
	out.name = kind
	out.err = msg
	out.bytes = len(msg)
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}
