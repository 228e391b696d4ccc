package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ollama/ollama/api"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

// bytesPerToken is a rough size of a token, enough to plan a budget.
const bytesPerToken = 4

// sampling merges a client's options, runner options left out, with the
// lane's, which win.
func sampling(client, lane map[string]any) map[string]any {
	if len(client) == 0 {
		return lane
	}
	out := map[string]any{}
	for k, v := range client {
		if !gateway.RunnerKeys[k] {
			out[k] = v
		}
	}
	for k, v := range lane {
		out[k] = v
	}
	return out
}

func tokens(msgs []api.Message) int {
	n := 0
	for _, m := range msgs {
		n += (len(m.Content)+len(m.Thinking))/bytesPerToken + 4
	}
	return n
}

// promptTokens is what the system prompt and the tools take: natively the
// tools travel as JSON; constrained, they are in the system prompt and in
// the format schema.
func promptTokens(system api.Message, tools api.Tools, mode string) int {
	raw, _ := json.Marshal(tools)
	n := tokens([]api.Message{system})
	if mode == Native {
		n += len(raw) / bytesPerToken
	}
	return n
}

// fit trims history oldest first (never the question) so that the system
// prompt, the tools and an answer's reserve fit the context. It returns
// the kept messages and how many were dropped.
func fit(system api.Message, history []api.Message, tools api.Tools, ctxLen int) ([]api.Message, int) {
	raw, _ := json.Marshal(tools)
	fixed := tokens([]api.Message{system}) + len(raw)/bytesPerToken
	reserve := ctxLen / 4 // room for tool results and the answer
	budget := ctxLen - fixed - reserve
	dropped := 0
	for len(history) > 1 && tokens(history) > budget {
		history = history[1:]
		dropped++
	}
	return history, dropped
}

// resultShare is the most bytes one tool result may take: a quarter of
// the context, and never more than maxResult.
func resultShare(ctxLen, maxResult int) int {
	return max(min(ctxLen*bytesPerToken/4, maxResult), 256)
}

// cut reports a prompt Ollama truncated: it fills the context, and Ollama
// cuts the front silently (only prompt_eval_count shows it).
func cut(resp api.ChatResponse, ctxLen int) error {
	if resp.PromptEvalCount > 0 && resp.PromptEvalCount >= ctxLen-8 {
		return fmt.Errorf("the conversation no longer fits the model's context (%d tokens; the model read %d and Ollama cut the start): ask again in a new conversation, or narrow what the tools return", ctxLen, resp.PromptEvalCount)
	}
	return nil
}

// policyTool is the name the policy file uses for the model itself: a
// role's scope `context` on it caps that user's context in tokens, e.g.
//
//	viewer:
//	  tools: [k8s_get, model]
//	  scopes:
//	    context: ["8192"]
const policyTool = "model"

// userContext is the largest context the caller's roles allow, or 0 when
// none limits it.
func (a *Agent) userContext(ctx context.Context) int {
	g := a.grant(ctx)
	if g == nil {
		return 0
	}
	limit := 0
	for _, p := range g.Patterns(policyTool, "context") {
		if n, err := strconv.Atoi(p); err == nil && n > limit {
			limit = n
		}
	}
	return limit
}
