// Package server is mcp-orchestrator's HTTP API: Ollama-compatible
// /api/chat and /api/tags and OpenAI-compatible /v1/chat/completions and
// /v1/models, so Open WebUI, Continue and any Ollama or OpenAI client can
// point at it unchanged. Every answer runs the agent (tools included);
// tool steps stream as progress ("thinking" for Ollama clients,
// "reasoning_content" for OpenAI ones), apart from the answer.
package server

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
	"golang.org/x/time/rate"

	"github.com/opsmcp/opsmcp/orchestrator/internal/agent"
	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/shared/audit"
	"github.com/opsmcp/opsmcp/shared/auth"
	"github.com/opsmcp/opsmcp/shared/mask"
)

// Server serves the API. Its routes (Routes) run on the suite's shared
// HTTP host, which authenticates, checks Host and Origin, and bounds
// bodies before any of them runs.
type Server struct {
	Agent   *agent.Agent
	Gateway *gateway.Gateway
	Audit   *audit.Log
	// AuditRequired withholds an answer whose audit lines cannot be
	// written (--audit-required).
	AuditRequired bool
	// Masker masks audit arguments and errors, as the servers' binder
	// does; nil: a masker with a random key.
	Masker *mask.Masker
	// AuditKey keys the args_sha256 HMAC, as the binder's CursorKey does
	// (a plain hash would confirm a guess of a masked value); empty: a
	// random key per process.
	AuditKey []byte
	Log      *slog.Logger
	// Model answers requests that name none.
	Model string
	// RatePerMinute limits each user's answers (0: unlimited).
	RatePerMinute float64
	// Burst is how many answers a user may ask at once above the rate;
	// 0: a tenth of a minute's worth, at least 1.
	Burst int

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	keyOnce  sync.Once
}

// allow applies the per-user rate limit.
func (s *Server) allow(user string) bool {
	if s.RatePerMinute <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limiters == nil {
		s.limiters = map[string]*rate.Limiter{}
	}
	l, ok := s.limiters[user]
	if !ok {
		burst := s.Burst
		if burst <= 0 {
			burst = max(1, int(s.RatePerMinute/6))
		}
		l = rate.NewLimiter(rate.Limit(s.RatePerMinute/60), burst)
		s.limiters[user] = l
	}
	return l.Allow()
}

func (s *Server) limited(w http.ResponseWriter, r *http.Request, openai bool) bool {
	p := auth.From(r.Context())
	// Keyed by source too: an OIDC user who registered a token-file
	// user's name does not use up that user's answers.
	if s.allow(p.Key()) {
		return false
	}
	user := p.User
	msg := fmt.Sprintf("rate limited: user %s is over %.0f answers per minute; wait and retry", user, s.RatePerMinute)
	if openai {
		openaiError(w, http.StatusTooManyRequests, msg)
	} else {
		w.WriteHeader(http.StatusTooManyRequests)
		writeJSON(w, map[string]string{"error": msg})
	}
	return true
}

// Routes are the API's endpoints (method and path patterns), for the
// shared host's authenticated routes (transport.HTTPOptions.AuthRoutes).
func (s *Server) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/tags": http.HandlerFunc(s.tags),
		"GET /api/version": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"version": "0.17.4"})
		}),
		"POST /api/chat":            http.HandlerFunc(s.ollamaChat),
		"GET /v1/models":            http.HandlerFunc(s.openaiModels),
		"POST /v1/chat/completions": http.HandlerFunc(s.openaiChat),
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// listMaxAge is how old the hosts' states a model list answers from may
// be: a list polled every host on each request, and clients (and anyone
// looping on the route) list often.
const listMaxAge = 5 * time.Second

// models lists every model some healthy endpoint has pulled.
func (s *Server) models(r *http.Request) []string {
	s.Gateway.PollIfStale(r.Context(), listMaxAge)
	seen := map[string]bool{}
	for _, st := range s.Gateway.States() {
		if !st.Healthy {
			continue
		}
		for _, m := range st.Pulled {
			seen[m] = true
		}
	}
	// Lanes are models too, to a client.
	for _, l := range s.Agent.Lanes {
		seen[l.Name] = true
	}
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func (s *Server) tags(w http.ResponseWriter, r *http.Request) {
	var resp api.ListResponse
	for _, m := range s.models(r) {
		resp.Models = append(resp.Models, api.ListModelResponse{Name: m, Model: m})
	}
	writeJSON(w, resp)
}

// errAuditWrite withholds an answer whose audit lines could not be
// written, under AuditRequired.
var errAuditWrite = errors.New("answer withheld: its audit record could not be written (--audit-required); the server log says why")

// audit writes the answer's lines (the request, each model turn, each
// tool call), all built by record. Under AuditRequired a failed write is
// returned, and the answer must not be given.
func (s *Server) audit(r *http.Request, route, model string, start time.Time, ans agent.Answer, err error) error {
	if s.Audit == nil {
		return nil
	}
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	recs := []audit.Record{s.record(r, route, ans.RequestID, start, time.Since(start),
		map[string]any{"model": model, "tools": len(ans.Calls), "steps": ans.Steps, "endpoint": ans.Endpoint}, errText, len(ans.Text))}
	for _, t := range ans.Turns {
		recs = append(recs, s.record(r, "model_turn", ans.RequestID, start, t.Duration,
			map[string]any{"model": t.Model, "endpoint": t.Endpoint, "prompt_tokens": t.PromptTokens, "output_tokens": t.OutputTokens, "tool_calls": t.ToolCalls}, "", 0))
	}
	for _, c := range ans.Calls {
		recs = append(recs, s.record(r, c.Tool, ans.RequestID, start, c.Duration, c.Args, c.Error, 0))
	}
	var failed error
	for _, rec := range recs {
		if werr := s.Audit.Write(rec); werr != nil && failed == nil {
			failed = werr
		}
	}
	if failed != nil {
		s.logger().Error("audit write failed", "route", route, "err", failed)
		if s.AuditRequired {
			return errAuditWrite
		}
	}
	return nil
}

// record is the one place this API builds an audit line, with the
// fields the servers' binder fills: the arguments and the error masked
// by the servers' masker (a model can put a secret from a question or a
// tool result into a tool call's arguments; an error can quote one), and
// args_sha256 a keyed HMAC of the arguments as given.
func (s *Server) record(r *http.Request, tool, requestID string, start time.Time, d time.Duration, args any, errText string, bytes int) audit.Record {
	m := s.Masker
	if m == nil {
		m = fallbackMasker()
	}
	raw, err := json.Marshal(args)
	if err != nil {
		raw = []byte(`{}`)
	}
	s.keyOnce.Do(func() {
		if len(s.AuditKey) == 0 {
			s.AuditKey = make([]byte, 32)
			rand.Read(s.AuditKey)
		}
	})
	p := auth.From(r.Context())
	return audit.Build(m, audit.Call{Server: "mcp-orchestrator", Tool: tool, User: p.User, Via: p.Via, RequestID: requestID,
		Start: start, Duration: d, Args: raw, ArgsKey: s.AuditKey, Err: errText, Bytes: bytes})
}

// failStatus is the HTTP status of an answer that failed: the server's
// own fault for a withheld one, else the upstream's (model or tools).
func failStatus(err error) int {
	if errors.Is(err, errAuditWrite) {
		return http.StatusInternalServerError
	}
	return http.StatusBadGateway
}

var fallbackMasker = sync.OnceValue(func() *mask.Masker { return mask.New(nil) })

func (s *Server) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func progress(ev agent.Event) string {
	args, _ := json.Marshal(ev.Args)
	line := fmt.Sprintf("tool %s %s (%s)", ev.Tool, args, ev.Duration.Round(time.Millisecond))
	if ev.Error != "" {
		line += " error: " + ev.Error
	}
	return line + "\n"
}

// doneReason is why the answer's last model turn ended, as Ollama says
// it ("stop" when no model ran).
func doneReason(ans agent.Answer) string {
	if n := len(ans.Turns); n > 0 && ans.Turns[n-1].DoneReason != "" {
		return ans.Turns[n-1].DoneReason
	}
	return "stop"
}

// finishReason is OpenAI's name for why the answer ended.
func finishReason(ans agent.Answer) string {
	if doneReason(ans) == "length" {
		return "length"
	}
	return "stop"
}

// usage sums the tokens Ollama counted over the answer's model turns.
func usage(ans agent.Answer) (prompt, output int) {
	for _, t := range ans.Turns {
		prompt += t.PromptTokens
		output += t.OutputTokens
	}
	return prompt, output
}

// stream writes NDJSON or SSE lines as they come, flushing each.
type stream struct {
	w  http.ResponseWriter
	fl http.Flusher
}

func newStream(w http.ResponseWriter, contentType string) *stream {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // tell nginx not to buffer
	fl, _ := w.(http.Flusher)
	return &stream{w: w, fl: fl}
}

func (s *stream) write(b []byte) {
	s.w.Write(b)
	if s.fl != nil {
		s.fl.Flush()
	}
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if s.limited(w, r, false) {
		return
	}
	var req api.ChatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "request body is not an Ollama chat request: " + err.Error()})
		return
	}
	model := req.Model
	if model == "" {
		model = s.Model
	}
	streaming := req.Stream == nil || *req.Stream
	ar := agent.Request{Model: model, Messages: req.Messages, Options: req.Options}
	var st *stream
	if streaming {
		st = newStream(w, "application/x-ndjson")
		ar.Events = func(ev agent.Event) {
			b, _ := json.Marshal(api.ChatResponse{Model: model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant", Thinking: progress(ev)}})
			st.write(append(b, '\n'))
		}
		// The answer streams as the model writes it.
		ar.Tokens = func(piece string) {
			b, _ := json.Marshal(api.ChatResponse{Model: model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant", Content: piece}})
			st.write(append(b, '\n'))
		}
		ar.Queued = func(q agent.Queue) {
			b, _ := json.Marshal(api.ChatResponse{Model: model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant", Thinking: q.String()}})
			st.write(append(b, '\n'))
		}
	}
	ans, err := s.Agent.Run(r.Context(), ar)
	if aerr := s.audit(r, "api/chat", model, start, ans, err); aerr != nil {
		err = aerr
	}
	if err != nil {
		if streaming {
			// Mid-stream errors are an {"error"} line, as Ollama does.
			b, _ := json.Marshal(map[string]string{"error": err.Error()})
			st.write(append(b, '\n'))
			return
		}
		w.WriteHeader(failStatus(err))
		writeJSON(w, map[string]string{"error": err.Error()})
		return
	}
	final := api.ChatResponse{Model: model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant", Content: ans.Text, Thinking: ans.Thinking}, Done: true, DoneReason: doneReason(ans)}
	final.PromptEvalCount, final.EvalCount = usage(ans)
	final.TotalDuration = time.Since(start)
	if !streaming {
		writeJSON(w, final)
		return
	}
	final.Message.Content = "" // already streamed through Tokens
	b, _ := json.Marshal(final)
	st.write(append(b, '\n'))
}

func (s *Server) openaiModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, m := range s.models(r) {
		out.Data = append(out.Data, model{ID: m, Object: "model", Created: time.Now().Unix(), OwnedBy: "opsmcp"})
	}
	writeJSON(w, out)
}

// openaiRequest is the part of an OpenAI chat request this API reads.
type openaiRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Seed                *int            `json:"seed"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
}

// options maps the request's sampling parameters to Ollama's options, as
// Ollama's own OpenAI endpoint does.
func (r openaiRequest) options() map[string]any {
	o := map[string]any{}
	for k, v := range map[string]*float64{"temperature": r.Temperature, "top_p": r.TopP,
		"frequency_penalty": r.FrequencyPenalty, "presence_penalty": r.PresencePenalty} {
		if v != nil {
			o[k] = *v
		}
	}
	if r.Seed != nil {
		o["seed"] = *r.Seed
	}
	if r.MaxCompletionTokens != nil {
		o["num_predict"] = *r.MaxCompletionTokens
	} else if r.MaxTokens != nil {
		o["num_predict"] = *r.MaxTokens
	}
	var one string
	var many []string
	if json.Unmarshal(r.Stop, &one) == nil && one != "" {
		o["stop"] = []string{one}
	} else if json.Unmarshal(r.Stop, &many) == nil && len(many) > 0 {
		o["stop"] = many
	}
	return o
}

// text reads an OpenAI content: a string, or a list of parts whose text
// parts are joined.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func openaiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if s.limited(w, r, true) {
		return
	}
	var req openaiRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		openaiError(w, http.StatusBadRequest, "request body is not an OpenAI chat completion request: "+err.Error())
		return
	}
	model := req.Model
	if model == "" {
		model = s.Model
	}
	ar := agent.Request{Model: model, Options: req.options()}
	for _, m := range req.Messages {
		ar.Messages = append(ar.Messages, api.Message{Role: m.Role, Content: text(m.Content)})
	}
	id := fmt.Sprintf("chatcmpl-%d", start.UnixNano())
	chunk := func(delta map[string]any, finish any) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": start.Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
		return []byte("data: " + string(b) + "\n\n")
	}
	var st *stream
	if req.Stream {
		st = newStream(w, "text/event-stream")
		st.write(chunk(map[string]any{"role": "assistant"}, nil))
		ar.Events = func(ev agent.Event) {
			st.write(chunk(map[string]any{"reasoning_content": progress(ev)}, nil))
		}
		ar.Tokens = func(piece string) {
			st.write(chunk(map[string]any{"content": piece}, nil))
		}
		ar.Queued = func(q agent.Queue) {
			st.write(chunk(map[string]any{"reasoning_content": q.String()}, nil))
		}
	}
	ans, err := s.Agent.Run(r.Context(), ar)
	if aerr := s.audit(r, "v1/chat/completions", model, start, ans, err); aerr != nil {
		err = aerr
	}
	if err != nil {
		if req.Stream {
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": err.Error()}})
			st.write([]byte("data: " + string(b) + "\n\n"))
			return
		}
		openaiError(w, failStatus(err), err.Error())
		return
	}
	in, out := usage(ans)
	use := map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}
	if req.Stream {
		st.write(chunk(map[string]any{}, finishReason(ans)))
		if req.StreamOptions.IncludeUsage {
			// OpenAI's usage chunk: no choices, after the last one.
			b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": start.Unix(), "model": model,
				"choices": []any{}, "usage": use})
			st.write([]byte("data: " + string(b) + "\n\n"))
		}
		st.write([]byte("data: [DONE]\n\n"))
		return
	}
	msg := map[string]any{"role": "assistant", "content": ans.Text}
	if ans.Thinking != "" {
		msg["reasoning_content"] = ans.Thinking
	}
	writeJSON(w, map[string]any{
		"id": id, "object": "chat.completion", "created": start.Unix(), "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finishReason(ans)}},
		"usage":   use,
	})
}
