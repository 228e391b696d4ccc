package warmup

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

// Results of one warm-up decision (the warmup_total metric's result).
const (
	// Loaded: the model was not loaded and the preload loaded it.
	Loaded = "loaded"
	// Refreshed: the model was loaded and near its expiry; the preload
	// reset it.
	Refreshed = "refreshed"
	// NoFit: not preloaded, it would not fit beside other lanes' models.
	NoFit = "no_fit"
	// Missing: the host has not pulled the model.
	Missing = "missing"
	// Failed: the preload request failed.
	Failed = "failed"
	// Warm: loaded, nothing to do (not counted).
	Warm = "warm"
)

// Lane is a configured lane: its model, hosts (none: every host) and the
// options its requests carry.
type Lane struct {
	Name    string
	Model   string
	Hosts   []string
	Options map[string]any
}

// on reports whether the lane may use host.
func (l Lane) on(host string) bool {
	if len(l.Hosts) == 0 {
		return true
	}
	for _, h := range l.Hosts {
		if h == host {
			return true
		}
	}
	return false
}

// Recorder is told every counted decision (for metrics).
type Recorder interface {
	Warmup(host, model, result string)
}

// Decision is what one check did for one lane on one host.
type Decision struct {
	Host   string `json:"host"`
	Lane   string `json:"lane"`
	Model  string `json:"model"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// Warmer keeps the warm lanes' models loaded.
type Warmer struct {
	gw  *gateway.Gateway
	set Settings
	// lanes are every configured lane: the warm ones are preloaded, and
	// no preload may push out any lane's model.
	lanes []Lane
	rec   Recorder
	log   *slog.Logger
	// Now is the clock (tests set it).
	Now func() time.Time

	mu sync.Mutex
	// size is the memory a model held on a host when last seen loaded;
	// most is the most a host was seen holding at once.
	size map[[2]string]int64
	most map[string]int64
	// said is the last result logged per host and lane, so a log line
	// marks a change, not every check.
	said map[[2]string]string
}

// New makes a warmer over gw for lanes with settings set; rec and log
// may be nil.
func New(gw *gateway.Gateway, set Settings, lanes []Lane, rec Recorder, log *slog.Logger) *Warmer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Warmer{gw: gw, set: set, lanes: lanes, rec: rec, log: log, Now: time.Now,
		size: map[[2]string]int64{}, most: map[string]int64{}, said: map[[2]string]string{}}
}

// warm are the lanes kept warm.
func (w *Warmer) warm() []Lane {
	if len(w.set.Lanes) == 0 {
		return w.lanes
	}
	var out []Lane
	for _, l := range w.lanes {
		for _, n := range w.set.Lanes {
			if l.Name == n {
				out = append(out, l)
			}
		}
	}
	return out
}

// CheckLanes says which of names are not configured lanes.
func CheckLanes(names []string, lanes []Lane) error {
	for _, n := range names {
		found := false
		for _, l := range lanes {
			found = found || l.Name == n
		}
		if !found {
			return fmt.Errorf("warmup: lane %q is not among the config's lanes", n)
		}
	}
	return nil
}

// Run checks every host each Every until ctx ends, one loop per host so
// a slow load on one does not hold up the others.
func (w *Warmer) Run(ctx context.Context) {
	w.log.Info("warm-up on", "window", w.set.Window.String(), "keep_alive", w.set.KeepAlive, "every", w.set.Every, "lanes", len(w.warm()))
	var wg sync.WaitGroup
	for _, ep := range w.gw.Endpoints() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(w.set.Every)
			defer t.Stop()
			for {
				w.Host(ctx, ep.Name)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
}

// Tick checks every host once, concurrently, and returns the decisions.
func (w *Warmer) Tick(ctx context.Context) []Decision {
	eps := w.gw.Endpoints()
	per := make([][]Decision, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[i] = w.Host(ctx, ep.Name)
		}()
	}
	wg.Wait()
	var out []Decision
	for _, d := range per {
		out = append(out, d...)
	}
	return out
}

// state is host's state, polled now unless the gateway's is fresher than
// a check interval.
func (w *Warmer) state(ctx context.Context, host string) (gateway.State, bool) {
	for _, st := range w.gw.States() {
		if st.Endpoint == host && w.Now().Sub(st.Checked) < w.set.Every && st.Checked.Before(w.Now().Add(time.Second)) {
			return st, true
		}
	}
	return w.gw.PollEndpoint(ctx, host)
}

// Host checks one host: outside the window, nothing; inside, each warm
// lane that may use it, one after the other (a load changes what fits).
func (w *Warmer) Host(ctx context.Context, host string) []Decision {
	if !w.set.Window.Contains(w.Now()) {
		return nil
	}
	var out []Decision
	for _, l := range w.warm() {
		if !l.on(host) || ctx.Err() != nil {
			continue
		}
		st, ok := w.state(ctx, host)
		if !ok || !st.Healthy {
			return out // host_up says so; it is checked again next time
		}
		w.learn(st)
		d := w.decide(st, l)
		if d.Result == Missing && len(l.Hosts) == 0 {
			continue // a lane on every host: only the hosts that have its model
		}
		if d.Result == Loaded || d.Result == Refreshed {
			d = w.preload(ctx, st, l, d)
			if ctx.Err() != nil {
				return out // stopping: a cut-off preload is no failure to count
			}
		}
		w.record(d)
		out = append(out, d)
	}
	return out
}

// held is the memory a loaded model takes on the host's accelerator: its
// VRAM, or, on a host running everything on CPU, its size.
func held(l gateway.Loaded, vram bool) int64 {
	if vram {
		return max(l.SizeVRAM, 0)
	}
	return max(l.Size, 0)
}

// countsVRAM: the host has VRAM configured, or runs a model on GPU.
func (w *Warmer) countsVRAM(st gateway.State) bool {
	if w.set.VRAM[st.Endpoint] > 0 {
		return true
	}
	for _, l := range st.Loaded {
		if l.SizeVRAM > 0 {
			return true
		}
	}
	return false
}

// learn remembers each loaded model's size and the most the host holds.
func (w *Warmer) learn(st gateway.State) {
	vram := w.countsVRAM(st)
	w.mu.Lock()
	defer w.mu.Unlock()
	var total int64
	for _, l := range st.Loaded {
		if l.Size > 0 {
			w.size[[2]string{st.Endpoint, gateway.ModelKey(l.Model)}] = l.Size
		}
		total += held(l, vram)
	}
	w.most[st.Endpoint] = max(w.most[st.Endpoint], total)
}

// protects reports whether model, loaded on host, is a lane's other than
// target's: a preload must not push it out.
func (w *Warmer) protects(host, model, target string) bool {
	if gateway.SameModel(model, target) {
		return false
	}
	for _, l := range w.lanes {
		if l.on(host) && gateway.SameModel(l.Model, model) {
			return true
		}
	}
	return false
}

// decide is what to do for lane l on the host st shows: nothing (warm),
// a refresh, a load, or why not.
func (w *Warmer) decide(st gateway.State, l Lane) Decision {
	d := Decision{Host: st.Endpoint, Lane: l.Name, Model: l.Model}
	name := ""
	for _, p := range st.Pulled {
		if gateway.SameModel(p, l.Model) {
			name = p
		}
	}
	if name == "" {
		d.Result, d.Reason = Missing, fmt.Sprintf("%s has not pulled %s", st.Endpoint, l.Model)
		return d
	}
	d.Model = name
	for _, m := range st.Loaded {
		if !gateway.SameModel(m.Model, l.Model) {
			continue
		}
		left := m.ExpiresAt.Sub(w.Now())
		// A request without keep_alive (a question, another client) sets
		// Ollama's default expiry: reset ours before it runs out.
		if left < 2*w.set.Every {
			d.Result, d.Reason = Refreshed, fmt.Sprintf("expires in %s", left.Round(time.Second))
			return d
		}
		d.Result = Warm
		return d
	}
	vram := w.countsVRAM(st)
	w.mu.Lock()
	need := w.size[[2]string{st.Endpoint, gateway.ModelKey(name)}]
	most := w.most[st.Endpoint]
	w.mu.Unlock()
	if need == 0 {
		need = st.PulledSize[name] // the file: the least it needs
	}
	var kept int64
	var keptNames []string
	for _, m := range st.Loaded {
		if w.protects(st.Endpoint, m.Model, l.Model) {
			kept += held(m, vram)
			keptNames = append(keptNames, m.Model)
		}
	}
	if limit, ok := w.set.VRAM[st.Endpoint]; ok && need+kept > limit {
		d.Result, d.Reason = NoFit, fmt.Sprintf("needs %s; %s has %s (warmup.vram) and other lanes' models %v hold %s", bytes(need), st.Endpoint, bytes(limit), keptNames, bytes(kept))
		return d
	} else if !ok && len(keptNames) > 0 && need+kept > most {
		d.Result, d.Reason = NoFit, fmt.Sprintf("needs %s beside other lanes' models %v holding %s; %s has been seen holding at most %s at once (set warmup.vram.%s to say what it has)",
			bytes(need), keptNames, bytes(kept), st.Endpoint, bytes(most), st.Endpoint)
		return d
	}
	d.Result = Loaded
	return d
}

// preload runs the load (or refresh) d decided, and polls the host so
// the next lane's decision sees it.
func (w *Warmer) preload(ctx context.Context, st gateway.State, l Lane, d Decision) Decision {
	ep, _ := w.gw.Endpoint(st.Endpoint)
	opts := w.gw.RunnerOptions(ctx, l.Options, ep, d.Model)
	start := w.Now()
	if err := w.gw.Preload(ctx, ep, d.Model, opts, w.set.KeepAlive); err != nil {
		d.Result, d.Reason = Failed, err.Error()
		return d
	}
	if d.Reason == "" {
		d.Reason = fmt.Sprintf("preloaded in %s", w.Now().Sub(start).Round(time.Millisecond))
	}
	w.gw.PollEndpoint(ctx, st.Endpoint)
	return d
}

// record counts d and logs it when its result changed.
func (w *Warmer) record(d Decision) {
	if d.Result != Warm && w.rec != nil {
		w.rec.Warmup(d.Host, d.Model, d.Result)
	}
	key := [2]string{d.Host, d.Lane}
	w.mu.Lock()
	changed := w.said[key] != d.Result
	w.said[key] = d.Result
	w.mu.Unlock()
	switch {
	case d.Result == Loaded:
		w.log.Info("warm-up loaded a model", "host", d.Host, "lane", d.Lane, "model", d.Model, "why", d.Reason)
	case !changed || d.Result == Warm || d.Result == Refreshed:
		w.log.Debug("warm-up", "host", d.Host, "lane", d.Lane, "model", d.Model, "result", d.Result, "why", d.Reason)
	default:
		w.log.Warn("warm-up did not load a model", "host", d.Host, "lane", d.Lane, "model", d.Model, "result", d.Result, "why", d.Reason)
	}
}

// bytes renders n for a log line.
func bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}
