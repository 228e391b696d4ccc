// Package gateway knows the team's Ollama hosts: which answer, which
// models each has pulled, and which it has loaded (and on GPU or CPU),
// from /api/version, /api/tags and /api/ps only, never a generation. It
// picks the host a request for a model should go to, tells an observer
// when a poll shows a model loaded, unloaded or evicted, and preloads a
// model (an /api/generate without a prompt) when the warm-up asks.
package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// EnvNames are the variables the deployments already use, in failover
// order.
var EnvNames = []struct{ Name, Env string }{
	{"primary", "OLLAMA_URL"},
	{"secondary", "OLLAMA_SECONDARY_URL"},
	{"fallback", "OLLAMA_FALLBACK_URL"},
}

// Endpoint is one Ollama host.
type Endpoint struct {
	Name string
	URL  string
	API  *api.Client
	http *http.Client
}

// transport is shared by every endpoint's client. It keeps up to 64 idle
// connections per host where the default keeps 2: with 4-8 chats in
// flight on a host, the default closed most connections after each
// request and opened new ones for the next.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}()

// CAFileEnv names the variable with a PEM file of the CAs an https
// Ollama endpoint's certificate must chain to (--ollama-ca-file).
const CAFileEnv = "OLLAMA_CA_FILE"

// NewEndpoint checks raw and makes its client; with OLLAMA_CA_FILE set,
// as NewEndpointCA with that file.
func NewEndpoint(name, raw string, timeout time.Duration) (Endpoint, error) {
	return NewEndpointCA(name, raw, timeout, os.Getenv(CAFileEnv))
}

// NewEndpointCA checks raw and makes its client. With caFile (PEM), the
// endpoint must be https and its certificate must chain to one of those
// CAs, and only those: a host that answers in its place without such a
// certificate is refused, so answers and tool calls cannot be spoofed.
func NewEndpointCA(name, raw string, timeout time.Duration, caFile string) (Endpoint, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Endpoint{}, fmt.Errorf("%s %q: want http(s)://host:port", name, raw)
	}
	rt := http.RoundTripper(transport)
	if caFile != "" {
		if u.Scheme != "https" {
			return Endpoint{}, fmt.Errorf("%s %q: a CA file is set (%s), so the endpoint must be https:// to be checked against it", name, raw, CAFileEnv)
		}
		t, err := caTransport(caFile)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%s: %w", name, err)
		}
		rt = t
	}
	hc := &http.Client{Timeout: timeout, Transport: capGets{rt}}
	return Endpoint{Name: name, URL: u.String(), API: api.NewClient(u, hc), http: hc}, nil
}

var (
	caMu         sync.Mutex
	caTransports = map[string]*http.Transport{}
)

// caTransport is the shared transport's settings with only caFile's CAs
// trusted, one per file (so its idle connections are shared too).
func caTransport(caFile string) (*http.Transport, error) {
	caMu.Lock()
	defer caMu.Unlock()
	if t, ok := caTransports[caFile]; ok {
		return t, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("Ollama CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("Ollama CA file %s has no PEM certificate", caFile)
	}
	t := transport.Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	caTransports[caFile] = t
	return t, nil
}

// FromEnv reads OLLAMA_URL, OLLAMA_SECONDARY_URL and OLLAMA_FALLBACK_URL
// (and OLLAMA_CA_FILE).
func FromEnv(timeout time.Duration) ([]Endpoint, error) {
	return FromEnvCA(timeout, os.Getenv(CAFileEnv))
}

// FromEnvCA is FromEnv with the endpoints checked against caFile's CAs
// (none: the system's).
func FromEnvCA(timeout time.Duration, caFile string) ([]Endpoint, error) {
	var out []Endpoint
	for _, e := range EnvNames {
		raw := os.Getenv(e.Env)
		if raw == "" {
			continue
		}
		ep, err := NewEndpointCA(e.Name, raw, timeout, caFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Env, err)
		}
		out = append(out, ep)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Ollama endpoint: set OLLAMA_URL (and OLLAMA_SECONDARY_URL, OLLAMA_FALLBACK_URL)")
	}
	return out, nil
}

// Loaded is a model an endpoint holds in memory.
type Loaded struct {
	Model string `json:"model"`
	// Size is the memory the model holds in all (weights and context);
	// SizeVRAM the part of it on GPU.
	Size          int64     `json:"size"`
	SizeVRAM      int64     `json:"size_vram"`
	ContextLength int       `json:"context_length"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// State is what the last poll saw of one endpoint.
type State struct {
	Endpoint string   `json:"endpoint"`
	URL      string   `json:"url"`
	Healthy  bool     `json:"healthy"`
	Version  string   `json:"version,omitempty"`
	Error    string   `json:"error,omitempty"`
	Pulled   []string `json:"pulled,omitempty"`
	// PulledSize is each pulled model's file size (/api/tags), the least
	// memory it needs loaded.
	PulledSize map[string]int64 `json:"pulled_size,omitempty"`
	Loaded     []Loaded         `json:"loaded,omitempty"`
	Checked    time.Time        `json:"checked"`
}

// Gateway holds the endpoints and their last known state.
type Gateway struct {
	eps    []Endpoint
	mu     sync.RWMutex
	states map[string]State
	failed map[string]time.Time // circuit breaker: last failure per endpoint
	slots  map[string]*slots    // concurrency cap and fair queue per endpoint
	// gpu remembers, per endpoint, whether the last models it was seen
	// running were on GPU (true) or CPU only (false), so a GPU host whose
	// models have expired still ranks as one.
	gpu map[string]bool
	// shows caches /api/show per endpoint/model; noTools marks the
	// endpoint/models that refused a request with tools.
	shows, noTools sync.Map
	// lastUp is each endpoint's last healthy state, what the next healthy
	// poll is compared with for model events (across any downtime, so a
	// restart that lost the models shows as their eviction).
	lastUp map[string]State
	events func(ModelEvent)
	// lanes name the queue a turn waits in; waiting counts the turns
	// waiting for a slot per lane.
	lanes   []Lane
	waiting map[string]int
}

// onGPU reports whether st shows the endpoint running models on GPU, and
// whether it shows anything loaded at all.
func onGPU(st State) (gpu, known bool) {
	for _, l := range st.Loaded {
		if l.SizeVRAM > 0 {
			return true, true
		}
	}
	return false, len(st.Loaded) > 0
}

// New makes a gateway over eps, in failover order.
func New(eps []Endpoint) *Gateway {
	return &Gateway{eps: eps, states: map[string]State{}}
}

// Endpoints returns the endpoints in failover order.
func (g *Gateway) Endpoints() []Endpoint { return append([]Endpoint(nil), g.eps...) }

// Poll asks every endpoint, concurrently, for its version, pulled models
// and loaded models.
func (g *Gateway) Poll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ep := range g.eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.store(ep.Name, probe(ctx, ep))
		}()
	}
	wg.Wait()
}

// PollEndpoint polls one endpoint now and returns its state (a poll
// begun later that finished first wins).
func (g *Gateway) PollEndpoint(ctx context.Context, name string) (State, bool) {
	ep, ok := g.Endpoint(name)
	if !ok {
		return State{}, false
	}
	return g.store(name, probe(ctx, ep)), true
}

// store keeps a poll's state, unless a later-begun poll's is kept
// already, and tells the event hook what changed since the endpoint's
// last healthy poll.
func (g *Gateway) store(name string, st State) State {
	var evs []ModelEvent
	g.mu.Lock()
	if prev, ok := g.states[name]; ok && st.Checked.Before(prev.Checked) {
		// A poll that began before the kept one (the background poll
		// racing the warm-up's) would turn a load seen in between into
		// an eviction and a second load.
		g.mu.Unlock()
		return prev
	}
	g.states[name] = st
	if gpu, known := onGPU(st); known {
		if g.gpu == nil {
			g.gpu = map[string]bool{}
		}
		g.gpu[name] = gpu
	}
	if st.Healthy {
		if g.lastUp == nil {
			g.lastUp = map[string]State{}
		}
		if prev, ok := g.lastUp[name]; ok {
			evs = Diff(name, prev, st)
		}
		g.lastUp[name] = st
	}
	hook := g.events
	g.mu.Unlock()
	if hook != nil {
		for _, e := range evs {
			hook(e)
		}
	}
	return st
}

// Model events a poll shows.
const (
	// EventLoad: a model is loaded that the previous poll did not list.
	EventLoad = "load"
	// EventUnload: a model is gone after its keep_alive ran out.
	EventUnload = "unload"
	// EventEvicted: a model is gone before its keep_alive ran out (another
	// load pushed it out, a keep_alive 0 request, a host restart).
	EventEvicted = "evicted"
)

// ModelEvent is one model's change on one endpoint between two polls.
type ModelEvent struct {
	Endpoint, Model, Event string
}

// OnModelEvent sets the function told each model event (for metrics and
// the warm-up); it is called outside the gateway's lock.
func (g *Gateway) OnModelEvent(f func(ModelEvent)) {
	g.mu.Lock()
	g.events = f
	g.mu.Unlock()
}

// Diff is what changed on endpoint between two healthy polls: models
// loaded since, and models gone, as unloaded when their expiry had
// passed by the later poll, else evicted. Names are compared the way
// Ollama does ("x" is "x:latest"); a name listed twice counts once.
func Diff(endpoint string, prev, cur State) []ModelEvent {
	was := map[string]Loaded{}
	for _, l := range prev.Loaded {
		if _, dup := was[ModelKey(l.Model)]; !dup {
			was[ModelKey(l.Model)] = l
		}
	}
	now := map[string]bool{}
	var out []ModelEvent
	for _, l := range cur.Loaded {
		k := ModelKey(l.Model)
		if now[k] {
			continue
		}
		now[k] = true
		if _, ok := was[k]; !ok {
			out = append(out, ModelEvent{Endpoint: endpoint, Model: l.Model, Event: EventLoad})
		}
	}
	var gone []ModelEvent
	for k, l := range was {
		if now[k] {
			continue
		}
		ev := EventEvicted
		if !cur.Checked.Before(l.ExpiresAt) {
			ev = EventUnload
		}
		gone = append(gone, ModelEvent{Endpoint: endpoint, Model: l.Model, Event: ev})
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].Model < gone[j].Model })
	return append(out, gone...)
}

// PollIfStale polls when any endpoint's state is older than maxAge (or
// missing), so a request does not pay for a poll the background loop
// already made.
func (g *Gateway) PollIfStale(ctx context.Context, maxAge time.Duration) {
	g.mu.RLock()
	stale := len(g.states) < len(g.eps)
	for _, st := range g.states {
		if time.Since(st.Checked) > maxAge {
			stale = true
		}
	}
	g.mu.RUnlock()
	if stale {
		g.Poll(ctx)
	}
}

// Run polls every interval until ctx ends.
func (g *Gateway) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		g.Poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func probe(ctx context.Context, ep Endpoint) State {
	st := State{Endpoint: ep.Name, URL: ep.URL, Checked: time.Now()}
	v, err := ep.API.Version(ctx)
	if err != nil {
		st.Error = fmt.Sprintf("version: %v", err)
		return st
	}
	st.Version = v
	tags, err := ep.API.List(ctx)
	if err != nil {
		st.Error = fmt.Sprintf("tags: %v", err)
		return st
	}
	st.PulledSize = map[string]int64{}
	for _, m := range tags.Models {
		st.Pulled = append(st.Pulled, m.Name)
		st.PulledSize[m.Name] = m.Size
	}
	sort.Strings(st.Pulled)
	ps, err := ep.API.ListRunning(ctx)
	if err != nil {
		st.Error = fmt.Sprintf("ps: %v", err)
		return st
	}
	for _, m := range ps.Models {
		st.Loaded = append(st.Loaded, Loaded{Model: m.Name, Size: m.Size, SizeVRAM: m.SizeVRAM, ContextLength: m.ContextLength, ExpiresAt: m.ExpiresAt})
	}
	st.Healthy = true
	return st
}

// States returns the last poll's states in failover order.
func (g *Gateway) States() []State {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]State, 0, len(g.eps))
	for _, ep := range g.eps {
		if st, ok := g.states[ep.Name]; ok {
			out = append(out, st)
		}
	}
	return out
}

// SameModel compares model names the way Ollama does: "x" is "x:latest".
func SameModel(a, b string) bool { return ModelKey(a) == ModelKey(b) }

// ModelKey is a model's name with Ollama's default tag made explicit
// ("x" is "x:latest"): equal keys are the same model.
func ModelKey(s string) string {
	if !strings.Contains(s, ":") {
		return s + ":latest"
	}
	return s
}

// Choice is where a request for a model goes, and why.
type Choice struct {
	Endpoint string `json:"endpoint"`
	URL      string `json:"url"`
	Reason   string `json:"reason"`
	// Model is the model's name as that endpoint lists it.
	Model string `json:"model,omitempty"`
}

// Candidates ranks the endpoints that can serve model, best first, among
// healthy ones whose circuit is closed: loaded on GPU; pulled on a host
// seen running models on GPU (now or when it last ran any); loaded on
// CPU (size_vram 0); pulled on a host not seen running anything yet;
// pulled on a host seen running on CPU only. Within a rank, failover
// order wins. So a heavy model never goes to a CPU-only host while a GPU
// host has it, and a loaded model is reused instead of loaded again. It
// says why none fits.
func (g *Gateway) Candidates(model string, hosts ...string) ([]Choice, error) {
	states := g.States()
	if len(hosts) > 0 {
		var kept []State
		for _, st := range states {
			for _, h := range hosts {
				if st.Endpoint == h {
					kept = append(kept, st)
				}
			}
		}
		states = kept
	}
	gpu := map[string]bool{} // what each endpoint runs models on, where known
	g.mu.RLock()
	for k, v := range g.gpu {
		gpu[k] = v
	}
	g.mu.RUnlock()
	for _, st := range states {
		if on, known := onGPU(st); known {
			gpu[st.Endpoint] = on
		}
	}
	rank := func(st State) (int, string, string) {
		for _, l := range st.Loaded {
			if SameModel(l.Model, model) {
				if l.SizeVRAM > 0 {
					return 5, "model loaded on GPU", l.Model
				}
				return 3, "model loaded on CPU", l.Model
			}
		}
		for _, p := range st.Pulled {
			if SameModel(p, model) {
				on, known := gpu[st.Endpoint]
				switch {
				case on:
					return 4, "model pulled on a GPU host", p
				case known:
					return 1, "model pulled on a CPU-only host", p
				}
				return 2, "model pulled", p
			}
		}
		return 0, "", ""
	}
	type ranked struct {
		c Choice
		r int
	}
	var ok []ranked
	var why []string
	for _, st := range states {
		r, reason, name := rank(st)
		switch {
		case !st.Healthy:
			why = append(why, fmt.Sprintf("%s unhealthy (%s)", st.Endpoint, st.Error))
		case g.open(st.Endpoint):
			why = append(why, fmt.Sprintf("%s failed recently (circuit open)", st.Endpoint))
		case r == 0:
			why = append(why, fmt.Sprintf("%s has no %s", st.Endpoint, model))
		default:
			ok = append(ok, ranked{Choice{Endpoint: st.Endpoint, URL: st.URL, Reason: reason, Model: name}, r})
		}
	}
	if len(ok) == 0 {
		if len(states) == 0 {
			if len(hosts) > 0 {
				return nil, fmt.Errorf("none of the hosts %s is configured or polled", strings.Join(hosts, ", "))
			}
			return nil, fmt.Errorf("no endpoint polled yet")
		}
		return nil, fmt.Errorf("no endpoint can serve %s: %s", model, strings.Join(why, "; "))
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].r > ok[j].r })
	out := make([]Choice, len(ok))
	for i, r := range ok {
		out[i] = r.c
	}
	return out, nil
}

// Pick is the best candidate for model.
func (g *Gateway) Pick(model string) (Choice, error) {
	c, err := g.Candidates(model)
	if err != nil {
		return Choice{}, err
	}
	return c[0], nil
}

// Cooldown is how long an endpoint that failed a request is skipped.
var Cooldown = 30 * time.Second

// Fail opens the endpoint's circuit: it gets no requests for Cooldown.
func (g *Gateway) Fail(endpoint string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed == nil {
		g.failed = map[string]time.Time{}
	}
	g.failed[endpoint] = time.Now()
}

func (g *Gateway) open(endpoint string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	t, ok := g.failed[endpoint]
	return ok && time.Since(t) < Cooldown
}

// Endpoint returns the endpoint named name.
func (g *Gateway) Endpoint(name string) (Endpoint, bool) {
	for _, e := range g.eps {
		if e.Name == name {
			return e, true
		}
	}
	return Endpoint{}, false
}
