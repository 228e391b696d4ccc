package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// Observer is told what happens on the hosts (for metrics). Every value
// it gets is from a closed set: endpoint names from the config, model
// names as a host lists them.
type Observer interface {
	ModelTurn(model, endpoint string, d time.Duration, resp api.ChatResponse, loaded bool)
	// QueueWait is a turn's wait for a slot on endpoint, in lane (a
	// configured lane's name, or NoLane).
	QueueWait(endpoint, lane string, d time.Duration)
	Failover(from string)
	FirstToken(model string, d time.Duration)
}

// Queue is a model request's place in a host's queue: on joining it
// (Ahead), then on getting a slot (Granted, Waited).
type Queue struct {
	Endpoint string
	Ahead    int
	Granted  bool
	Waited   time.Duration
}

// String is the line a client is shown.
func (q Queue) String() string {
	if q.Granted {
		return fmt.Sprintf("got a slot on %s after %s\n", q.Endpoint, q.Waited.Round(time.Millisecond))
	}
	return fmt.Sprintf("waiting for a slot on %s: every slot busy, %d waiting ahead\n", q.Endpoint, q.Ahead)
}

// Sink receives one attempt's reply as it streams.
type Sink interface {
	Chunk(api.ChatResponse) error
	// Sent reports that part of the reply reached the user: the turn
	// can no longer move to another host (the user would see text twice).
	Sent() bool
}

// ChatOptions say how to run one model turn.
type ChatOptions struct {
	// Hosts limits the turn to these endpoints (a lane's); none: all.
	Hosts []string
	// Lane names the turn's lane in the queue metrics; empty: the lane
	// SetLanes gave with this model and Hosts, else NoLane.
	Lane string
	// User is the fair queue's key.
	User string
	// NewSink, when set, makes the sink of each attempt: the reply then
	// streams. Nil: one response.
	NewSink func() Sink
	// Queued, when set, is told when the turn waits for a slot, and when
	// it gets one.
	Queued func(Queue)
	// Observer, when set, is told the turn, the wait and any failover.
	Observer Observer
}

// Reply is one model turn's outcome.
type Reply struct {
	// Response is the whole reply: content, thinking and tool calls
	// gathered from the stream, and the final metrics.
	Response api.ChatResponse
	// Endpoint is the host that answered (or failed last).
	Endpoint string
	// Model is the model's name as that host lists it, without the
	// default tag ":latest" (so "tiny" whether asked as tiny or
	// tiny:latest).
	Model string
	// Sent: some of the reply reached the user through the sink.
	Sent bool
}

// Route polls the endpoints when their state is older than maxAge, and
// returns the endpoint a turn for model would go to first (among hosts,
// when given), and the model's name there.
func (g *Gateway) Route(ctx context.Context, model string, maxAge time.Duration, hosts ...string) (Endpoint, error) {
	g.PollIfStale(ctx, maxAge)
	cands, err := g.Candidates(model, hosts...)
	if err != nil {
		return Endpoint{}, err
	}
	ep, _ := g.Endpoint(cands[0].Endpoint)
	return ep, nil
}

// Chat runs one model turn on the best host for req.Model: a host with a
// free slot when the best one is crowded, a slot in that host's fair
// queue, the runner options the model is loaded with there, and, when the
// host fails the way a dead or overloaded one does (no answer, 5xx,
// timeout) before anything reached the user, its circuit opened and the
// same turn on the next candidate. req is not changed.
func (g *Gateway) Chat(ctx context.Context, req *api.ChatRequest, o ChatOptions) (Reply, error) {
	cands, err := g.Candidates(req.Model, o.Hosts...)
	if err != nil {
		return Reply{}, err
	}
	if o.Lane == "" {
		o.Lane = g.laneOf(req.Model, o.Hosts)
	}
	ep, _ := g.Endpoint(cands[0].Endpoint)
	// A long expected wait on the best host, and a free slot on another
	// that has the model: go there instead.
	if g.Crowded(ep.Name) {
		for _, c := range cands {
			if c.Endpoint != ep.Name && g.Free(c.Endpoint) {
				ep, _ = g.Endpoint(c.Endpoint)
				break
			}
		}
	}
	for {
		choice := cands[0]
		for _, c := range cands {
			if c.Endpoint == ep.Name {
				choice = c
			}
		}
		reply, err := g.attempt(ctx, req, ep, choice, o)
		// Retrying is safe only while nothing reached the user.
		if err == nil || !retryable(err) || ctx.Err() != nil || reply.Sent {
			return reply, err
		}
		g.Fail(ep.Name)
		if o.Observer != nil {
			o.Observer.Failover(ep.Name)
		}
		var rest []Choice
		for _, c := range cands {
			if c.Endpoint != ep.Name {
				rest = append(rest, c)
			}
		}
		if len(rest) == 0 {
			return reply, fmt.Errorf("%s failed and no other endpoint has %s: %w", ep.Name, req.Model, err)
		}
		cands = rest
		ep, _ = g.Endpoint(cands[0].Endpoint)
	}
}

// attempt is one try of a turn on ep: its slot, its runner options, the
// request, the reply gathered.
func (g *Gateway) attempt(ctx context.Context, req *api.ChatRequest, ep Endpoint, choice Choice, o ChatOptions) (Reply, error) {
	// The host's own name for the model (a closed set: what it pulled),
	// not the caller's spelling, without Ollama's default tag.
	reply := Reply{Endpoint: ep.Name, Model: strings.TrimSuffix(choice.Model, ":latest")}
	if reply.Model == "" {
		reply.Model = req.Model
	}
	// Acquire calls onQueue in this goroutine, before it waits.
	waiting := false
	onQueue := []func(int){func(int) { waiting = true; g.queued(o.Lane, 1) }}
	if o.Queued != nil {
		onQueue = append(onQueue, func(ahead int) { o.Queued(Queue{Endpoint: ep.Name, Ahead: ahead}) })
	}
	release, waited, err := g.Acquire(ctx, ep.Name, o.User, onQueue...)
	if waiting {
		g.queued(o.Lane, -1)
	}
	if err != nil {
		return reply, fmt.Errorf("waiting for %s: %w", ep.Name, err)
	}
	defer release()
	if o.Queued != nil && waited > 0 {
		o.Queued(Queue{Endpoint: ep.Name, Granted: true, Waited: waited})
	}
	if o.Observer != nil {
		o.Observer.QueueWait(ep.Name, o.Lane, waited)
	}
	r := *req // this host's copy: its own options and stream flag
	stream := o.NewSink != nil
	r.Stream = &stream
	r.Options = g.runnerOptions(ctx, req.Options, ep, req.Model)
	var sink Sink
	if stream {
		sink = o.NewSink()
	}
	var acc gathered
	start := time.Now()
	err = ep.Chat(ctx, &r, func(c api.ChatResponse) error {
		acc.add(c, start)
		if sink != nil {
			return sink.Chunk(c)
		}
		return nil
	})
	release()
	reply.Response = acc.final()
	reply.Sent = sink != nil && sink.Sent()
	if err == nil && o.Observer != nil {
		o.Observer.ModelTurn(reply.Model, ep.Name, time.Since(start), reply.Response, strings.HasPrefix(choice.Reason, "model loaded"))
		if !acc.first.IsZero() {
			o.Observer.FirstToken(reply.Model, acc.first.Sub(start))
		}
	}
	return reply, err
}

// gathered is a streamed reply put back together.
type gathered struct {
	first time.Time
	resp  api.ChatResponse
	text  strings.Builder
	think strings.Builder
	calls []api.ToolCall
}

func (a *gathered) add(r api.ChatResponse, start time.Time) {
	if a.first.IsZero() && (r.Message.Content != "" || len(r.Message.ToolCalls) > 0) {
		a.first = time.Now()
	}
	a.text.WriteString(r.Message.Content)
	a.think.WriteString(r.Message.Thinking)
	a.calls = append(a.calls, r.Message.ToolCalls...)
	if r.Done {
		a.resp = r
	}
}

func (a *gathered) final() api.ChatResponse {
	r := a.resp
	r.Message.Role = "assistant"
	r.Message.Content = a.text.String()
	r.Message.Thinking = a.think.String()
	r.Message.ToolCalls = a.calls
	return r
}

// retryable: the host did not answer, or answered 5xx.
func retryable(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= 500
	}
	return true // connection refused, reset, timeout
}

// showTTL is how long a model's /api/show answer is reused. It changes
// only when the model is created again, and each ask is a round trip in
// which Ollama reads the model file's metadata: per request, that was
// most of the gateway's overhead while a model was not yet in /api/ps.
const showTTL = time.Minute

type shown struct {
	resp *api.ShowResponse
	at   time.Time
}

// Show is the model's /api/show on ep, from a cache of showTTL.
func (g *Gateway) Show(ctx context.Context, ep Endpoint, model string) (*api.ShowResponse, error) {
	key := ep.Name + "/" + model
	if v, ok := g.shows.Load(key); ok && time.Since(v.(shown).at) < showTTL {
		return v.(shown).resp, nil
	}
	resp, err := ep.API.Show(ctx, &api.ShowRequest{Model: model})
	if err != nil {
		return nil, fmt.Errorf("show %s on %s: %w", model, ep.Name, err)
	}
	g.shows.Store(key, shown{resp: resp, at: time.Now()})
	return resp, nil
}

// SupportsTools reports whether model on ep takes native tool calls: its
// /api/show capabilities, unless a request was refused with Ollama's
// "does not support tools" (NoTools).
func (g *Gateway) SupportsTools(ctx context.Context, ep Endpoint, model string) bool {
	if _, refused := g.noTools.Load(ep.Name + "/" + model); refused {
		return false
	}
	show, err := g.Show(ctx, ep, model)
	if err != nil {
		return false
	}
	for _, c := range show.Capabilities {
		if c == "tools" {
			return true
		}
	}
	return false
}

// NoTools records that model on endpoint refused a request with tools.
func (g *Gateway) NoTools(endpoint, model string) {
	g.noTools.Store(endpoint+"/"+model, true)
}

// defaultContext is Ollama's num_ctx when neither the loaded model nor
// its parameters say otherwise.
const defaultContext = 4096

// ContextLength is the model's context on ep in tokens: as loaded
// (/api/ps), else its num_ctx parameter (/api/show), else Ollama's default.
func (g *Gateway) ContextLength(ctx context.Context, ep Endpoint, model string) int {
	if n := g.loadedContext(ep.Name, model); n > 0 {
		return n
	}
	if show, err := g.Show(ctx, ep, model); err == nil {
		for _, line := range strings.Split(show.Parameters, "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[0] == "num_ctx" {
				if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
					return n
				}
			}
		}
	}
	return defaultContext
}

// loadedContext is the context length model was loaded with on endpoint
// as the last poll saw it (/api/ps), or 0 when it is not loaded there.
func (g *Gateway) loadedContext(endpoint, model string) int {
	g.mu.RLock()
	st, ok := g.states[endpoint]
	g.mu.RUnlock()
	if !ok {
		return 0
	}
	for _, l := range st.Loaded {
		if SameModel(l.Model, model) && l.ContextLength > 0 {
			return l.ContextLength
		}
	}
	return 0
}

// runnerOptions are the options a request to ep carries: base, and,
// unless base fixes num_ctx (a lane), the context length the model is loaded with there. Ollama reloads a model
// whenever a request's runner options differ from the loaded ones, and a
// request without num_ctx asks for the Modelfile's or the server's
// default: so whoever loaded the model (another client, a lane) decides,
// and no request of ours makes it reload. One exception: Ollama clamps a
// num_ctx above the model's training context, and /api/ps then shows the
// clamp, not what the runner was asked for. Big-VRAM hosts default to
// 262144, above most models' training context, so a model loaded at
// exactly its training context was most likely loaded by a request
// without num_ctx: ours sends none either.
func (g *Gateway) runnerOptions(ctx context.Context, base map[string]any, ep Endpoint, model string) map[string]any {
	if _, fixed := base["num_ctx"]; fixed {
		return base // a lane's, the same on every request
	}
	n := g.loadedContext(ep.Name, model)
	if n == 0 {
		return base
	}
	if show, err := g.Show(ctx, ep, model); err == nil {
		if trained := trainedContext(show); trained > 0 && n >= trained {
			return base
		}
	}
	out := make(map[string]any, len(base)+1)
	for k, v := range base {
		out[k] = v
	}
	out["num_ctx"] = n
	return out
}

// trainedContext is the model's training context from /api/show's
// model_info ("<architecture>.context_length"), or 0.
func trainedContext(show *api.ShowResponse) int {
	arch, _ := show.ModelInfo["general.architecture"].(string)
	switch v := show.ModelInfo[arch+".context_length"].(type) {
	case float64:
		return int(v)
	case int:
		return v
	case int64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}

// RunnerKeys are Ollama's runner options (api.Runner's fields): a
// request whose value differs from the loaded runner's makes it reload.
var RunnerKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[api.Runner]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}()
