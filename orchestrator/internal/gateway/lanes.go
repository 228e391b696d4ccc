package gateway

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ollama/ollama/api"
)

// NoLane is the queue-metrics lane of a turn no configured lane matches
// (a client that names a model directly).
const NoLane = "none"

// Lane is a configured lane as the gateway sees it: a name for its
// queue, the model and the hosts its turns go to.
type Lane struct {
	Name  string
	Model string
	Hosts []string
}

// SetLanes sets the lanes a turn's queue is counted under.
func (g *Gateway) SetLanes(lanes []Lane) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lanes = append([]Lane(nil), lanes...)
}

// laneOf names the lane of a turn for model on hosts: the first lane
// with that model and exactly those hosts, else NoLane.
func (g *Gateway) laneOf(model string, hosts []string) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, l := range g.lanes {
		if SameModel(l.Model, model) && sameSet(l.Hosts, hosts) {
			return l.Name
		}
	}
	return NoLane
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// queued adds n to the turns waiting for a slot in lane.
func (g *Gateway) queued(lane string, n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.waiting == nil {
		g.waiting = map[string]int{}
	}
	g.waiting[lane] += n
}

// QueueDepth is how many turns wait for a slot now, per lane: every
// configured lane and NoLane, waiting or not.
func (g *Gateway) QueueDepth() map[string]int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := map[string]int{NoLane: 0}
	for _, l := range g.lanes {
		out[l.Name] = 0
	}
	for k, v := range g.waiting {
		out[k] = v
	}
	return out
}

// Processor is where a loaded model runs, from its size and the part of
// it in VRAM: "gpu" (all of it), "cpu" (none) or "mixed".
func (l Loaded) Processor() string {
	switch {
	case l.SizeVRAM <= 0:
		return "cpu"
	case l.SizeVRAM >= l.Size:
		return "gpu"
	}
	return "mixed"
}

// RunnerOptions are the runner options (api.Runner's keys) among base
// that a turn for model on ep carries, with the context length the
// model is loaded with there unless base fixes it: what a preload must
// send so that the next turn does not make Ollama load the model again.
func (g *Gateway) RunnerOptions(ctx context.Context, base map[string]any, ep Endpoint, model string) map[string]any {
	runner := map[string]any{}
	for k, v := range base {
		if RunnerKeys[k] {
			runner[k] = v
		}
	}
	return g.runnerOptions(ctx, runner, ep, model)
}

// maxPreloadLines bounds the answer lines to a preload.
const maxPreloadLines = 16

// Preload loads model on ep with options and keepAlive, the way Ollama
// documents it: an /api/generate with no prompt, which loads the model
// (or, already loaded with the same runner options, only resets its
// expiry) and generates nothing.
func (g *Gateway) Preload(ctx context.Context, ep Endpoint, model string, options map[string]any, keepAlive time.Duration) error {
	no := false
	req := &api.GenerateRequest{Model: model, Stream: &no, Options: options, KeepAlive: &api.Duration{Duration: keepAlive}}
	// A load is answered in one line; a host that streams on is cut off
	// rather than read until the timeout.
	lines := 0
	err := ep.API.Generate(ctx, req, func(api.GenerateResponse) error {
		if lines++; lines > maxPreloadLines {
			return fmt.Errorf("more than %d answer lines to a load; cut it off", maxPreloadLines)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("preload %s on %s: %w", model, ep.Name, err)
	}
	return nil
}
