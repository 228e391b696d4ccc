package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

// Tool-calling modes.
const (
	// Native: tools go in the request; the model answers with tool_calls
	// (or writes the call as JSON in its content, which is recovered).
	Native = "native"
	// Constrained: for models without tool support (deepseek-r1, gemma3
	// answer 400 "does not support tools"), a `format` JSON schema lets
	// the model either pick one offered tool with schema-valid arguments
	// or give the final answer, and nothing else.
	Constrained = "constrained"
)

// mode decides how to call tools with the model on ep: the Modes
// override, else the model's capabilities from /api/show.
func (a *Agent) mode(ctx context.Context, ep gateway.Endpoint, model string) string {
	if m := a.Modes[model]; m == Native || m == Constrained {
		return m
	}
	if a.Gateway.SupportsTools(ctx, ep, model) {
		return Native
	}
	return Constrained
}

// unsupportedTools reports Ollama's refusal of tools for a model.
func unsupportedTools(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusBadRequest && strings.Contains(se.ErrorMessage, "does not support tools")
}

// constrainedFormat is the schema of a constrained reply: one object that
// is either {"tool": <name>, "arguments": <that tool's input schema>} for
// one offered tool, or {"answer": "..."}.
func constrainedFormat(tools api.Tools) json.RawMessage {
	var choices []any
	for _, t := range tools {
		params, _ := json.Marshal(t.Function.Parameters)
		choices = append(choices, map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"tool": map[string]any{"const": t.Function.Name}, "arguments": json.RawMessage(params)},
			"required":             []string{"tool", "arguments"},
			"additionalProperties": false,
		})
	}
	choices = append(choices, map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"answer": map[string]any{"type": "string"}},
		"required":             []string{"answer"},
		"additionalProperties": false,
	})
	b, _ := json.Marshal(map[string]any{"anyOf": choices})
	return b
}

// constrainedPrompt tells a model without tool support which tools exist
// and how to reply.
func constrainedPrompt(tools api.Tools) string {
	var b strings.Builder
	b.WriteString("Reply with one JSON object. To look something up, reply {\"tool\": NAME, \"arguments\": {...}} with one of these tools; to answer, reply {\"answer\": TEXT}.\nTools:\n")
	for _, t := range tools {
		params, _ := json.Marshal(t.Function.Parameters)
		fmt.Fprintf(&b, "- %s: %s Arguments: %s\n", t.Function.Name, t.Function.Description, params)
	}
	return b.String()
}

// parseConstrained reads a constrained reply as a tool call or an answer.
func parseConstrained(content string, offered map[string]bool) (*api.ToolCall, string, error) {
	var r struct {
		Tool      string         `json:"tool"`
		Arguments map[string]any `json:"arguments"`
		Answer    *string        `json:"answer"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(content)), &r); err != nil {
		return nil, "", fmt.Errorf("constrained reply is not the JSON asked for: %w", err)
	}
	if r.Answer != nil {
		return nil, *r.Answer, nil
	}
	if !offered[r.Tool] {
		return nil, "", fmt.Errorf("constrained reply names tool %q, which was not offered", r.Tool)
	}
	args := api.NewToolCallFunctionArguments()
	for k, v := range r.Arguments {
		args.Set(k, v)
	}
	return &api.ToolCall{ID: "constrained", Function: api.ToolCallFunction{Name: r.Tool, Arguments: args}}, "", nil
}
