package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDiffEvents: between two polls, a new model is a load, a model gone
// after its expiry an unload, one gone before it an eviction; "x" and
// "x:latest" are one model, and a name listed twice counts once.
func TestDiffEvents(t *testing.T) {
	now := time.Now()
	prev := State{Loaded: []Loaded{
		{Model: "kept:latest", ExpiresAt: now.Add(time.Hour)},
		{Model: "expired:latest", ExpiresAt: now.Add(-time.Second)},
		{Model: "pushed:latest", ExpiresAt: now.Add(time.Hour)},
		{Model: "pushed:latest", ExpiresAt: now.Add(time.Hour)},
	}}
	cur := State{Checked: now, Loaded: []Loaded{{Model: "kept"}, {Model: "new:7b"}, {Model: "new:7b"}}}
	assert.Equal(t, []ModelEvent{
		{Endpoint: "gpu1", Model: "new:7b", Event: EventLoad},
		{Endpoint: "gpu1", Model: "expired:latest", Event: EventUnload},
		{Endpoint: "gpu1", Model: "pushed:latest", Event: EventEvicted},
	}, Diff("gpu1", prev, cur))
	assert.Empty(t, Diff("gpu1", cur, cur))
}

// psHost is a fake Ollama host (wire format of v0.17.4's /api/version,
// /api/tags and /api/ps) whose loaded models and health the test sets.
type psHost struct {
	mu     sync.Mutex
	down   bool
	loaded []api.ProcessModelResponse
}

func (h *psHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	switch r.URL.Path {
	case "/api/version":
		json.NewEncoder(w).Encode(map[string]string{"version": "0.17.4"})
	case "/api/tags":
		json.NewEncoder(w).Encode(api.ListResponse{Models: []api.ListModelResponse{{Name: "tiny:latest", Model: "tiny:latest", Size: 1 << 20}}})
	case "/api/ps":
		json.NewEncoder(w).Encode(api.ProcessResponse{Models: h.loaded})
	}
}

func (h *psHost) set(down bool, loaded ...api.ProcessModelResponse) {
	h.mu.Lock()
	h.down, h.loaded = down, loaded
	h.mu.Unlock()
}

// TestRestartShowsAsEviction: a host that goes down with a model loaded
// and comes back without it shows the model evicted (compared with its
// last healthy poll); the polls while it was down show nothing; its
// first poll ever is not an event.
func TestRestartShowsAsEviction(t *testing.T) {
	h := &psHost{}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	ep, err := NewEndpointCA("primary", hs.URL, 5*time.Second, "")
	require.NoError(t, err)
	g := New([]Endpoint{ep})
	var evs []ModelEvent
	g.OnModelEvent(func(e ModelEvent) { evs = append(evs, e) })
	tiny := api.ProcessModelResponse{Name: "tiny:latest", Model: "tiny:latest", Size: 2 << 20, SizeVRAM: 1 << 20, ExpiresAt: time.Now().Add(time.Hour)}
	h.set(false, tiny)
	g.Poll(context.Background())
	assert.Empty(t, evs, "the first poll is where counting starts")
	st, _ := g.PollEndpoint(context.Background(), "primary")
	require.Len(t, st.Loaded, 1)
	assert.Equal(t, "mixed", st.Loaded[0].Processor())
	assert.Equal(t, int64(1<<20), st.PulledSize["tiny:latest"])
	h.set(true)
	g.Poll(context.Background())
	assert.Empty(t, evs)
	h.set(false)
	g.Poll(context.Background())
	assert.Equal(t, []ModelEvent{{Endpoint: "primary", Model: "tiny:latest", Event: EventEvicted}}, evs)
	h.set(false, tiny)
	g.Poll(context.Background())
	assert.Equal(t, EventLoad, evs[len(evs)-1].Event)
}

func TestProcessor(t *testing.T) {
	assert.Equal(t, "gpu", Loaded{Size: 10, SizeVRAM: 10}.Processor())
	assert.Equal(t, "cpu", Loaded{Size: 10}.Processor())
	assert.Equal(t, "mixed", Loaded{Size: 10, SizeVRAM: 4}.Processor())
}

// laneObs records the lane each queue wait was counted under.
type laneObs struct {
	obs
	lanes []string
}

func (o *laneObs) QueueWait(_, lane string, _ time.Duration) {
	o.mu.Lock()
	o.lanes = append(o.lanes, lane)
	o.mu.Unlock()
}

// TestQueueDepthPerLane: a turn waiting for a slot counts in its lane's
// queue depth (the lane with its model and hosts, else "none") until it
// gets the slot, and its wait is observed under that lane.
func TestQueueDepthPerLane(t *testing.T) {
	g := gatewayOf(t, &fakeOllama{ctxLen: 4096})
	g.SetLanes([]Lane{{Name: "code", Model: "coder", Hosts: []string{"primary"}}, {Name: "other", Model: "coder", Hosts: []string{"secondary"}}})
	g.SetParallel("primary", 1)
	assert.Equal(t, map[string]int{"code": 0, "other": 0, NoLane: 0}, g.QueueDepth())
	hold, _, err := g.Acquire(context.Background(), "primary", "holder")
	require.NoError(t, err)
	o := &laneObs{}
	req := &api.ChatRequest{Model: "coder:latest", Messages: []api.Message{{Role: "user", Content: "hi"}}}
	var wg sync.WaitGroup
	for _, hosts := range [][]string{{"primary"}, nil} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := g.Chat(context.Background(), req, ChatOptions{Hosts: hosts, User: "ann", Observer: o})
			assert.NoError(t, err)
		}()
	}
	waitFor(t, func() bool { return g.QueueDepth()["code"] == 1 && g.QueueDepth()[NoLane] == 1 })
	assert.Equal(t, 0, g.QueueDepth()["other"])
	hold()
	wg.Wait()
	assert.Equal(t, map[string]int{"code": 0, "other": 0, NoLane: 0}, g.QueueDepth())
	assert.ElementsMatch(t, []string{"code", NoLane}, o.lanes)
}

// TestOlderPollIsDropped: a poll that began before the state already
// kept (the background poll racing the warm-up's own) is dropped, so a
// model loaded in between is not reported evicted and loaded again.
func TestOlderPollIsDropped(t *testing.T) {
	g := New(nil)
	var evs []ModelEvent
	g.OnModelEvent(func(e ModelEvent) { evs = append(evs, e) })
	t0 := time.Now()
	tiny := Loaded{Model: "tiny:latest", ExpiresAt: t0.Add(time.Hour)}
	g.store("primary", State{Endpoint: "primary", Healthy: true, Checked: t0})
	g.store("primary", State{Endpoint: "primary", Healthy: true, Checked: t0.Add(2 * time.Second), Loaded: []Loaded{tiny}})
	g.store("primary", State{Endpoint: "primary", Healthy: true, Checked: t0.Add(time.Second)}) // began before the load was seen
	g.store("primary", State{Endpoint: "primary", Healthy: true, Checked: t0.Add(3 * time.Second), Loaded: []Loaded{tiny}})
	assert.Equal(t, []ModelEvent{{Endpoint: "primary", Model: "tiny:latest", Event: EventLoad}}, evs)
	assert.Len(t, g.States(), 0, "no endpoint configured: States lists configured ones only")
	g.mu.RLock()
	defer g.mu.RUnlock()
	assert.Len(t, g.states["primary"].Loaded, 1)
}
