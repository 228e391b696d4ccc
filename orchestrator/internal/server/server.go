// Package server is mcp-orchestrator's HTTP API: Ollama-compatible
// /api/chat and /api/tags and OpenAI-compatible /v1/chat/completions and
// /v1/models, so Open WebUI, Continue and any Ollama or OpenAI client can
// point at it unchanged. Every answer runs the agent (tools included);
// tool steps stream as progress ("thinking" for Ollama clients,
// "reasoning_content" for OpenAI ones), apart from the answer.
package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
)

// Server serves the API.
type Server struct {
	Agent   *agent.Agent
	Gateway *gateway.Gateway
	Audit   *audit.Log
	Log     *slog.Logger
	// Model answers requests that name none.
	Model string
	// RatePerMinute limits each user's answers (0: unlimited).
	RatePerMinute float64

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
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
		l = rate.NewLimiter(rate.Limit(s.RatePerMinute/60), max(1, int(s.RatePerMinute/6)))
		s.limiters[user] = l
	}
	return l.Allow()
}

func (s *Server) limited(w http.ResponseWriter, r *http.Request, openai bool) bool {
	user := auth.From(r.Context()).User
	if s.allow(user) {
		return false
	}
	msg := fmt.Sprintf("rate limited: user %s is over %.0f answers per minute; wait and retry", user, s.RatePerMinute)
	if openai {
		openaiError(w, http.StatusTooManyRequests, msg)
	} else {
		w.WriteHeader(http.StatusTooManyRequests)
		writeJSON(w, map[string]string{"error": msg})
	}
	return true
}

// Handler returns the API's routes (wrap it in auth.Middleware).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/tags", s.tags)
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"version": "0.17.4"})
	})
	mux.HandleFunc("POST /api/chat", s.ollamaChat)
	mux.HandleFunc("GET /v1/models", s.openaiModels)
	mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// models lists every model some healthy endpoint has pulled.
func (s *Server) models(r *http.Request) []string {
	s.Gateway.Poll(r.Context())
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

// audit writes one line per answered request, with the tools it called.
func (s *Server) audit(r *http.Request, route, model string, start time.Time, ans agent.Answer, err error) {
	if s.Audit == nil {
		return
	}
	args, _ := json.Marshal(map[string]any{"model": model, "tools": len(ans.Calls), "steps": ans.Steps, "endpoint": ans.Endpoint})
	sum := sha256.Sum256(args)
	rec := audit.Record{TS: start.UTC(), Server: "mcp-orchestrator", Tool: route, User: auth.From(r.Context()).User,
		Args: args, ArgsSHA256: hex.EncodeToString(sum[:]), Outcome: audit.OK, DurationMS: float64(time.Since(start).Microseconds()) / 1000, Bytes: len(ans.Text)}
	if err != nil {
		rec.Outcome, rec.Error = audit.Error, err.Error()
	}
	s.Audit.Write(rec)
	// Every model step, then every tool call.
	for _, t := range ans.Turns {
		targs, _ := json.Marshal(map[string]any{"model": t.Model, "endpoint": t.Endpoint, "prompt_tokens": t.PromptTokens, "output_tokens": t.OutputTokens, "tool_calls": t.ToolCalls})
		tsum := sha256.Sum256(targs)
		s.Audit.Write(audit.Record{TS: start.UTC(), Server: "mcp-orchestrator", Tool: "model_turn", User: auth.From(r.Context()).User,
			Args: targs, ArgsSHA256: hex.EncodeToString(tsum[:]), Outcome: audit.OK, DurationMS: float64(t.Duration.Microseconds()) / 1000})
	}
	for _, c := range ans.Calls {
		cargs, _ := json.Marshal(c.Args)
		csum := sha256.Sum256(cargs)
		cr := audit.Record{TS: start.UTC(), Server: "mcp-orchestrator", Tool: c.Tool, User: auth.From(r.Context()).User,
			Args: cargs, ArgsSHA256: hex.EncodeToString(csum[:]), Outcome: audit.OK, DurationMS: float64(c.Duration.Microseconds()) / 1000}
		if c.Error != "" {
			cr.Outcome, cr.Error = audit.Error, c.Error
		}
		s.Audit.Write(cr)
	}
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
	s.audit(r, "api/chat", model, start, ans, err)
	if err != nil {
		if streaming {
			// Mid-stream errors are an {"error"} line, as Ollama does.
			b, _ := json.Marshal(map[string]string{"error": err.Error()})
			st.write(append(b, '\n'))
			return
		}
		w.WriteHeader(http.StatusBadGateway)
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
	s.audit(r, "v1/chat/completions", model, start, ans, err)
	if err != nil {
		if req.Stream {
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": err.Error()}})
			st.write([]byte("data: " + string(b) + "\n\n"))
			return
		}
		openaiError(w, http.StatusBadGateway, err.Error())
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
