package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

// defaultContext is Ollama's num_ctx when neither the loaded model nor
// its parameters say otherwise.
const defaultContext = 4096

// bytesPerToken is a rough size of a token, enough to plan a budget.
const bytesPerToken = 4

// contextLength is the model's context on ep in tokens: as loaded
// (/api/ps), else its num_ctx parameter (/api/show), else Ollama's default.
func (a *Agent) contextLength(ctx context.Context, ep gateway.Endpoint, model string) int {
	if n := a.loadedContext(ep.Name, model); n > 0 {
		return n
	}
	if show, err := a.show(ctx, ep, model); err == nil {
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
func (a *Agent) loadedContext(endpoint, model string) int {
	for _, st := range a.Gateway.States() {
		if st.Endpoint != endpoint {
			continue
		}
		for _, l := range st.Loaded {
			if gateway.SameModel(l.Model, model) && l.ContextLength > 0 {
				return l.ContextLength
			}
		}
	}
	return 0
}

// runnerOptions are the options a request to ep carries: the lane's,
// and, unless the lane fixes num_ctx, the context length the model is
// loaded with there. Ollama reloads a model whenever a request's runner
// options differ from the loaded ones, and a request without num_ctx asks
// for the Modelfile's or the server's default: so whoever loaded the
// model (another client, a lane) decides, and no request of ours makes it
// reload. One exception: Ollama clamps a num_ctx above the model's
// training context, and /api/ps then shows the clamp, not what the runner
// was asked for. Big-VRAM hosts default to 262144, above most models'
// training context, so a model loaded at exactly its training context was
// most likely loaded by a request without num_ctx: ours sends none
// either.
func (a *Agent) runnerOptions(ctx context.Context, lane map[string]any, ep gateway.Endpoint, model string) map[string]any {
	if _, fixed := lane["num_ctx"]; fixed {
		return lane
	}
	n := a.loadedContext(ep.Name, model)
	if n == 0 {
		return lane
	}
	if show, err := a.show(ctx, ep, model); err == nil {
		if trained := trainedContext(show); trained > 0 && n >= trained {
			return lane
		}
	}
	out := make(map[string]any, len(lane)+1)
	for k, v := range lane {
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

// runnerKeys are Ollama's runner options (api.Runner's fields): a
// request whose value differs from the loaded runner's makes it reload.
var runnerKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[api.Runner]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}()

// sampling merges a client's options, runner options left out, with the
// lane's, which win.
func sampling(client, lane map[string]any) map[string]any {
	if len(client) == 0 {
		return lane
	}
	out := map[string]any{}
	for k, v := range client {
		if !runnerKeys[k] {
			out[k] = v
		}
	}
	for k, v := range lane {
		out[k] = v
	}
	return out
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

// show is the model's /api/show on ep, from a cache of showTTL.
func (a *Agent) show(ctx context.Context, ep gateway.Endpoint, model string) (*api.ShowResponse, error) {
	key := ep.Name + "/" + model
	if v, ok := a.shows.Load(key); ok && time.Since(v.(shown).at) < showTTL {
		return v.(shown).resp, nil
	}
	resp, err := ep.API.Show(ctx, &api.ShowRequest{Model: model})
	if err != nil {
		return nil, fmt.Errorf("show %s on %s: %w", model, ep.Name, err)
	}
	a.shows.Store(key, shown{resp: resp, at: time.Now()})
	return resp, nil
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
// the context, and never more than MaxResult.
func (a *Agent) resultShare(ctxLen int) int {
	share := ctxLen * bytesPerToken / 4
	if share > a.MaxResult {
		share = a.MaxResult
	}
	return max(share, 256)
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
