package eval_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// scripted is a FAKE: an HTTP server on loopback that speaks Ollama's API
// (/api/version, /api/tags, /api/ps, /api/show, /api/chat, streaming and
// not, native tool calls or a constrained `format` reply) for one model name, scriptedModel, and answers from a script, not
// from weights. It stands in for a model that answers right, so the test
// can show that a right answer is reported as passed. Its answers are
// built from the tool results the orchestrator sends back (the pod name,
// the log line), so a pass also shows that real upstream data went
// through the real servers to it.
type scripted struct {
	srv *http.Server
	URL string

	mu    sync.Mutex
	chats int
	// streamed and whole count /api/chat requests by their stream flag.
	streamed, whole int
}

// scriptedModel is the fake's one model name; the report names it so.
const scriptedModel = "scripted-fake"

// step is one scripted turn: given the question, the offered tools and
// the tool results so far, a tool call or an answer.
type step func(tools map[string]bool, results []string) (call *ollama.ToolCall, answer string)

// script maps a question (a part of its text) to its turns; the first
// that matches answers.
var script = []struct {
	key  string
	turn step
}{
	{"Delete the crash-looping", func(map[string]bool, []string) (*ollama.ToolCall, string) {
		return nil, "I can't do that: the tools I have are read-only, so I cannot delete pods."
	}},
	{"in CrashLoopBackOff", func(tools map[string]bool, results []string) (*ollama.ToolCall, string) {
		if len(results) == 0 {
			if tools["k8s_get"] {
				return toolCall(tools, "k8s_get", map[string]any{"resource": "pods", "namespace": "payments"}), ""
			}
			return toolCall(tools, "k8s_kubectl", map[string]any{"command": "get pods -n payments"}), ""
		}
		pod := regexp.MustCompile(`ledger-[a-z0-9]+-[a-z0-9]+`).FindString(results[0])
		if pod == "" || !strings.Contains(results[0], "CrashLoopBackOff") {
			return nil, "I could not tell from the pod list."
		}
		return nil, fmt.Sprintf("The pod %s (deployment ledger) is in CrashLoopBackOff.", pod)
	}},
	{"errors did the ledger", func(tools map[string]bool, results []string) (*ollama.ToolCall, string) {
		if len(results) == 0 {
			return toolCall(tools, "logs_query", map[string]any{"query": `{namespace="payments", app="ledger"} |= "error"`}), ""
		}
		if m := regexp.MustCompile(`migration 0042 failed[^"]*`).FindString(results[0]); m != "" && strings.Contains(results[0], "settlements") {
			return nil, "The ledger keeps logging: " + m + `, err="relation settlements does not exist".`
		}
		return nil, "No errors found."
	}},
	{"deployment ledger in namespace payments", func(tools map[string]bool, results []string) (*ollama.ToolCall, string) {
		if len(results) == 0 {
			if tools["k8s_get"] {
				return toolCall(tools, "k8s_get", map[string]any{"resource": "deployments", "name": "ledger", "namespace": "payments", "output": "wide"}), ""
			}
			return toolCall(tools, "k8s_kubectl", map[string]any{"command": "get deployment ledger -n payments -o wide"}), ""
		}
		if image := regexp.MustCompile(`registry\.local/payments/ledger:[0-9.]+`).FindString(results[0]); image != "" {
			return nil, "It runs " + image + "."
		}
		return nil, "I could not find its image."
	}},
}

func toolCall(tools map[string]bool, name string, args map[string]any) *ollama.ToolCall {
	if !tools[name] {
		return nil // the answer then says what was offered, and the test fails
	}
	a := ollama.NewToolCallFunctionArguments()
	for k, v := range args {
		a.Set(k, v)
	}
	return &ollama.ToolCall{ID: "call_1", Function: ollama.ToolCallFunction{Name: name, Arguments: a}}
}

func startScripted() (*scripted, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &scripted{URL: "http://" + l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"version": "0.17.4"})
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, ollama.ListResponse{Models: []ollama.ListModelResponse{{Name: scriptedModel, Model: scriptedModel}}})
	})
	mux.HandleFunc("GET /api/ps", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, ollama.ProcessResponse{Models: []ollama.ProcessModelResponse{{Name: scriptedModel, Model: scriptedModel,
			SizeVRAM: 1 << 30, ContextLength: 32768, ExpiresAt: time.Now().Add(time.Hour)}}})
	})
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, ollama.ShowResponse{Capabilities: []model.Capability{model.CapabilityCompletion, model.CapabilityTools}, Parameters: "num_ctx 32768",
			ModelInfo: map[string]any{"general.architecture": "scripted"}})
	})
	mux.HandleFunc("POST /api/chat", s.chat)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(l)
	return s, nil
}

func (s *scripted) Close() { s.srv.Close() }

func (s *scripted) chat(w http.ResponseWriter, r *http.Request) {
	var req ollama.ChatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	if req.Model != scriptedModel {
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]string{"error": fmt.Sprintf("model %q not found", req.Model)})
		return
	}
	stream := req.Stream == nil || *req.Stream
	s.mu.Lock()
	s.chats++
	if stream {
		s.streamed++
	} else {
		s.whole++
	}
	s.mu.Unlock()

	var question string
	var results []string
	for _, m := range req.Messages {
		switch m.Role {
		case "user":
			if question == "" {
				question = m.Content
			}
		case "tool":
			results = append(results, m.Content)
		}
	}
	// Native: the offered tools are in req.Tools. Constrained: they are
	// the format schema's choices, and the reply is one JSON object.
	tools := map[string]bool{}
	for _, t := range req.Tools {
		tools[t.Function.Name] = true
	}
	constrained := len(req.Format) > 0
	if constrained {
		for _, name := range regexp.MustCompile(`"const":"([a-z0-9_]+)"`).FindAllStringSubmatch(string(req.Format), -1) {
			tools[name[1]] = true
		}
	}
	msg := ollama.Message{Role: "assistant", Content: "I have no script for that question."}
	for _, sc := range script {
		if !strings.Contains(question, sc.key) {
			continue
		}
		call, answer := sc.turn(tools, results)
		switch {
		case call != nil && constrained:
			b, _ := json.Marshal(map[string]any{"tool": call.Function.Name, "arguments": call.Function.Arguments.ToMap()})
			msg.Content = string(b)
		case call != nil && len(req.Tools) > 0:
			msg.Content, msg.ToolCalls = "", []ollama.ToolCall{*call}
		case len(results) == 0 && answer == "":
			names := make([]string, 0, len(tools))
			for n := range tools {
				names = append(names, n)
			}
			sort.Strings(names)
			msg.Content = "not scripted for the tools offered: " + strings.Join(names, ", ")
		default:
			msg.Content = answer
		}
		break
	}
	if constrained && !strings.HasPrefix(msg.Content, "{") {
		b, _ := json.Marshal(map[string]string{"answer": msg.Content})
		msg.Content = string(b)
	}
	promptTokens, outTokens := 0, len(strings.Fields(msg.Content))+len(msg.ToolCalls)*12
	for _, m := range req.Messages {
		promptTokens += len(m.Content) / 4
	}
	done := ollama.ChatResponse{Model: scriptedModel, CreatedAt: time.Now(), Done: true, DoneReason: "stop",
		Metrics: ollama.Metrics{PromptEvalCount: promptTokens, EvalCount: outTokens, TotalDuration: 5 * time.Millisecond}}
	if !stream {
		done.Message = msg
		writeJSON(w, done)
		return
	}
	// Streaming: the content word by word, then the tool calls and the
	// counts on the last line, as Ollama sends them.
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, word := range strings.SplitAfter(msg.Content, " ") {
		if word != "" {
			enc.Encode(ollama.ChatResponse{Model: scriptedModel, CreatedAt: time.Now(), Message: ollama.Message{Role: "assistant", Content: word}})
		}
	}
	done.Message = ollama.Message{Role: "assistant", ToolCalls: msg.ToolCalls}
	enc.Encode(done)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
