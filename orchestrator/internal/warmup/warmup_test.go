package warmup

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
)

const gib = int64(1) << 30

// testClock is a test testClock the fake host and the warmer share.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// counts records the warm-up metric's increments.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) Warmup(host, model, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[host+"/"+model+"/"+result]++
}

func (c *counts) get(k string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[k] }

type rig struct {
	clk   *testClock
	hosts map[string]*fakeOllama
	gw    *gateway.Gateway
	w     *Warmer
	rec   *counts
}

// newRig makes one fake host per name (with vram), a gateway over them,
// and a warmer for lanes with cfg.
func newRig(t *testing.T, cfg Config, lanes []Lane, vram map[string]int64, names ...string) *rig {
	t.Helper()
	r := &rig{clk: &testClock{t: time.Now()}, hosts: map[string]*fakeOllama{}, rec: &counts{}}
	var eps []gateway.Endpoint
	for _, n := range names {
		f := newFake(t, vram[n], r.clk.now)
		r.hosts[n] = f
		ep, err := gateway.NewEndpointCA(n, f.srv.URL, 5*time.Second, "")
		require.NoError(t, err)
		eps = append(eps, ep)
	}
	r.gw = gateway.New(eps)
	set, err := cfg.Parse()
	require.NoError(t, err)
	r.w = New(r.gw, set, lanes, r.rec, nil)
	r.w.Now = r.clk.now
	return r
}

func results(ds []Decision) map[string]string {
	out := map[string]string{}
	for _, d := range ds {
		out[d.Host+"/"+d.Lane] = d.Result
	}
	return out
}

// TestPreloadCarriesKeepAliveAndTheLanesRunnerOptions: the preload is an
// /api/generate with no prompt, the configured keep_alive, and the
// lane's runner options only (num_ctx, not temperature), so the lane's
// next request finds the model loaded as it would load it.
func TestPreloadCarriesKeepAliveAndTheLanesRunnerOptions(t *testing.T) {
	r := newRig(t, Config{KeepAlive: 37 * time.Minute}, []Lane{{Name: "ops", Model: "qwen3:8b", Hosts: []string{"gpu1"},
		Options: map[string]any{"num_ctx": 16384, "temperature": 0.1}}}, nil, "gpu1")
	r.hosts["gpu1"].pull("qwen3:8b", 5*gib, 6*gib)
	ds := r.w.Tick(context.Background())
	assert.Equal(t, map[string]string{"gpu1/ops": Loaded}, results(ds))
	gens := r.hosts["gpu1"].generates()
	require.Len(t, gens, 1)
	assert.Equal(t, "qwen3:8b", gens[0]["model"])
	assert.Equal(t, "37m0s", gens[0]["keep_alive"], "the configured keep_alive, on the wire as Ollama reads it")
	assert.Equal(t, map[string]any{"num_ctx": float64(16384)}, gens[0]["options"], "runner options only")
	assert.Equal(t, "", gens[0]["prompt"], "no prompt: a load, not a generation")
	assert.Equal(t, false, gens[0]["stream"])
	assert.True(t, r.hosts["gpu1"].isLoaded("qwen3:8b"))
	assert.Equal(t, 1, r.rec.get("gpu1/qwen3:8b/loaded"))

	// Loaded and far from its expiry: nothing is sent.
	ds = r.w.Tick(context.Background())
	assert.Equal(t, map[string]string{"gpu1/ops": Warm}, results(ds))
	assert.Len(t, r.hosts["gpu1"].generates(), 1)
}

// TestHoursWindow: outside the configured hours nothing is preloaded;
// inside, it is.
func TestHoursWindow(t *testing.T) {
	r := newRig(t, Config{KeepAlive: time.Hour, Hours: []string{"07:00-19:00"}, Days: []string{"mon-fri"}, Timezone: "Europe/Berlin"},
		[]Lane{{Name: "ops", Model: "tiny"}}, nil, "primary")
	r.hosts["primary"].pull("tiny", 100, 200)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	for _, tc := range []struct {
		at   time.Time
		warm bool
	}{
		{time.Date(2026, 11, 30, 6, 59, 0, 0, berlin), false}, // Monday, before
		{time.Date(2026, 11, 30, 7, 0, 0, 0, berlin), true},
		{time.Date(2026, 11, 30, 18, 59, 0, 0, berlin), true},
		{time.Date(2026, 11, 30, 19, 0, 0, 0, berlin), false},
		{time.Date(2026, 11, 29, 12, 0, 0, 0, berlin), false},  // Sunday
		{time.Date(2026, 11, 30, 6, 30, 0, 0, time.UTC), true}, // 07:30 in Berlin
	} {
		assert.Equal(t, tc.warm, r.w.set.Window.Contains(tc.at), tc.at.String())
	}
	r.w.Now = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, berlin) } // Sunday noon
	assert.Empty(t, r.w.Tick(context.Background()))
	assert.Empty(t, r.hosts["primary"].generates(), "no preload outside the hours")
	r.w.Now = func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, berlin) } // Monday noon
	assert.Equal(t, map[string]string{"primary/ops": Loaded}, results(r.w.Tick(context.Background())))
	assert.Len(t, r.hosts["primary"].generates(), 1)
}

// TestOvernightWindowBelongsToItsStartDay: 22:00-06:00 on fri covers
// Saturday 05:00 and not Friday 05:00.
func TestOvernightWindowBelongsToItsStartDay(t *testing.T) {
	w, err := ParseWindow([]string{"22:00-06:00"}, []string{"fri"}, "UTC")
	require.NoError(t, err)
	assert.True(t, w.Contains(time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)))  // Fri 23:00
	assert.True(t, w.Contains(time.Date(2026, 12, 5, 5, 59, 0, 0, time.UTC)))  // Sat 05:59
	assert.False(t, w.Contains(time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)))  // Fri 05:00: Thursday's night
	assert.False(t, w.Contains(time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC))) // Sat 22:00
	assert.Equal(t, "22:00-06:00 on Fri (UTC)", w.String())
}

// TestReloadAfterEviction: a model evicted (another load, a restart, a
// keep_alive 0) is loaded again at the next check, and the gateway's
// poll reports the eviction.
func TestReloadAfterEviction(t *testing.T) {
	r := newRig(t, Config{KeepAlive: time.Hour}, []Lane{{Name: "ops", Model: "tiny", Hosts: []string{"primary"}}}, nil, "primary")
	var mu sync.Mutex
	var evs []gateway.ModelEvent
	r.gw.OnModelEvent(func(e gateway.ModelEvent) { mu.Lock(); evs = append(evs, e); mu.Unlock() })
	f := r.hosts["primary"]
	f.pull("tiny", 100, 200)
	r.w.Tick(context.Background())
	require.True(t, f.isLoaded("tiny"))
	f.evict("tiny")
	r.clk.add(20 * time.Second) // the next check: the state is stale
	ds := r.w.Tick(context.Background())
	assert.Equal(t, map[string]string{"primary/ops": Loaded}, results(ds))
	assert.True(t, f.isLoaded("tiny"), "loaded again")
	assert.Equal(t, 2, r.rec.get("primary/tiny:latest/loaded"))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []gateway.ModelEvent{
		{Endpoint: "primary", Model: "tiny:latest", Event: gateway.EventLoad},
		{Endpoint: "primary", Model: "tiny:latest", Event: gateway.EventEvicted},
		{Endpoint: "primary", Model: "tiny:latest", Event: gateway.EventLoad},
	}, evs)
}

// TestRefreshBeforeExpiry: a question without keep_alive set Ollama's
// default 5m; near its end the warm-up resets it to the configured one.
func TestRefreshBeforeExpiry(t *testing.T) {
	r := newRig(t, Config{KeepAlive: time.Hour, Every: 10 * time.Second}, []Lane{{Name: "ops", Model: "tiny"}}, nil, "primary")
	f := r.hosts["primary"]
	f.pull("tiny", 100, 200)
	f.load("tiny", 5*time.Minute)
	r.clk.add(4*time.Minute + 45*time.Second) // 15 s left: under two checks
	ds := r.w.Tick(context.Background())
	assert.Equal(t, map[string]string{"primary/ops": Refreshed}, results(ds))
	require.Len(t, f.generates(), 1)
	assert.Equal(t, "1h0m0s", f.generates()[0]["keep_alive"])
	r.clk.add(time.Minute) // past the old expiry
	assert.True(t, f.isLoaded("tiny"))
	assert.Equal(t, map[string]string{"primary/ops": Warm}, results(r.w.Tick(context.Background())))
}

// TestVRAMFitWithConfiguredVRAM: a host with 10 GiB holding one lane's
// 6 GiB model does not get another lane's 6 GiB model (Ollama would
// evict the first); with 16 GiB, both are kept.
func TestVRAMFitWithConfiguredVRAM(t *testing.T) {
	lanes := []Lane{{Name: "chat", Model: "a", Hosts: []string{"gpu1"}}, {Name: "code", Model: "b", Hosts: []string{"gpu1"}}}
	for _, tc := range []struct {
		vram   int64
		result string
	}{{10 * gib, NoFit}, {16 * gib, Loaded}} {
		r := newRig(t, Config{KeepAlive: time.Hour, Lanes: []string{"code"}, VRAM: map[string]string{"gpu1": bytesConf(tc.vram)}}, lanes,
			map[string]int64{"gpu1": tc.vram}, "gpu1")
		f := r.hosts["gpu1"]
		f.pull("a", 5*gib, 6*gib)
		f.pull("b", 5*gib, 6*gib)
		f.load("a", time.Hour) // the chat lane's, loaded by its own use
		ds := r.w.Tick(context.Background())
		require.Len(t, ds, 1)
		assert.Equal(t, tc.result, ds[0].Result, ds[0].Reason)
		assert.True(t, f.isLoaded("a"), "the chat lane's model is never pushed out")
		assert.Equal(t, tc.result == Loaded, f.isLoaded("b"))
		if tc.result == NoFit {
			assert.Empty(t, f.generates(), "no preload sent")
			assert.Contains(t, ds[0].Reason, "needs 5.0 GiB; gpu1 has 10.0 GiB (warmup.vram) and other lanes' models [a:latest] hold 6.0 GiB")
			assert.Equal(t, 1, r.rec.get("gpu1/b:latest/no_fit"))
		}
	}
}

func bytesConf(n int64) string { return bytes(n)[:len(bytes(n))-4] + "GiB" }

// TestVRAMFitLearnedFromPs: with no VRAM configured, a host seen holding
// at most one lane's 6 GiB model does not get another lane's model
// beside it; a model no lane needs does not hold a lane back (Ollama may
// evict it).
func TestVRAMFitLearnedFromPs(t *testing.T) {
	lanes := []Lane{{Name: "chat", Model: "a", Hosts: []string{"gpu1"}}, {Name: "code", Model: "b", Hosts: []string{"gpu1"}}}
	r := newRig(t, Config{KeepAlive: time.Hour, Lanes: []string{"code"}}, lanes, map[string]int64{"gpu1": 8 * gib}, "gpu1")
	f := r.hosts["gpu1"]
	f.pull("a", 5*gib, 6*gib)
	f.pull("b", 5*gib, 6*gib)
	f.pull("adhoc", 3*gib, 4*gib)
	f.load("a", time.Hour)
	ds := r.w.Tick(context.Background())
	require.Len(t, ds, 1)
	assert.Equal(t, NoFit, ds[0].Result)
	assert.Contains(t, ds[0].Reason, "has been seen holding at most 6.0 GiB at once (set warmup.vram.gpu1")
	assert.True(t, f.isLoaded("a"))
	assert.False(t, f.isLoaded("b"))

	// The chat lane's model expires; an ad-hoc model takes its place: the
	// code lane's model is preloaded and Ollama evicts the ad-hoc one.
	f.evict("a")
	f.load("adhoc", time.Hour)
	r.clk.add(20 * time.Second)
	ds = r.w.Tick(context.Background())
	assert.Equal(t, map[string]string{"gpu1/code": Loaded}, results(ds))
	assert.True(t, f.isLoaded("b"))
	assert.False(t, f.isLoaded("adhoc"))
}

// TestTwoLanesOneHostNeverEvictEachOther: both lanes warm on one host
// that fits only one: the first is loaded, the second is reported as not
// fitting at every check, and the first stays.
func TestTwoLanesOneHostNeverEvictEachOther(t *testing.T) {
	lanes := []Lane{{Name: "chat", Model: "a", Hosts: []string{"gpu1"}}, {Name: "code", Model: "b", Hosts: []string{"gpu1"}}}
	r := newRig(t, Config{KeepAlive: time.Hour, VRAM: map[string]string{"gpu1": "8GiB"}}, lanes, map[string]int64{"gpu1": 8 * gib}, "gpu1")
	f := r.hosts["gpu1"]
	f.pull("a", 5*gib, 6*gib)
	f.pull("b", 5*gib, 6*gib)
	for i := range 3 {
		ds := r.w.Tick(context.Background())
		want := map[string]string{"gpu1/chat": Warm, "gpu1/code": NoFit}
		if i == 0 {
			want["gpu1/chat"] = Loaded
		}
		assert.Equal(t, want, results(ds), "check %d", i)
		assert.True(t, f.isLoaded("a"))
		assert.False(t, f.isLoaded("b"))
		r.clk.add(20 * time.Second)
	}
	assert.Len(t, f.generates(), 1, "one preload, of the first lane's model")
}

// TestMissingAndDown: a host the lane names that has not pulled its
// model is reported; a host down gets nothing; a lane on every host
// skips the hosts without its model quietly.
func TestMissingAndDown(t *testing.T) {
	r := newRig(t, Config{KeepAlive: time.Hour}, []Lane{{Name: "ops", Model: "tiny", Hosts: []string{"a", "b"}}, {Name: "any", Model: "big"}}, nil, "a", "b")
	r.hosts["b"].pull("tiny", 100, 200)
	r.hosts["b"].mu.Lock()
	r.hosts["b"].down = true
	r.hosts["b"].mu.Unlock()
	ds := r.w.Tick(context.Background())
	assert.Equal(t, map[string]string{"a/ops": Missing}, results(ds))
	assert.Equal(t, 1, r.rec.get("a/tiny/missing"))
	assert.Empty(t, r.hosts["b"].generates())
}

// TestConfigErrors: each bad setting says what to fix.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Hours: []string{"07:00-19:00"}}, "keep_alive is required"},
		{Config{KeepAlive: 30 * time.Second, Every: 15 * time.Second}, "under 4 checks"},
		{Config{KeepAlive: time.Hour, Every: time.Millisecond}, "at least 1s"},
		{Config{KeepAlive: time.Hour, Hours: []string{"7-19"}}, `hours "7-19": write HH:MM-HH:MM`},
		{Config{KeepAlive: time.Hour, Hours: []string{"07:00-07:00"}}, "two different times"},
		{Config{KeepAlive: time.Hour, Hours: []string{"07:00-24:01"}}, "HH:MM-HH:MM"},
		{Config{KeepAlive: time.Hour, Days: []string{"monday"}}, `days "monday": write a weekday`},
		{Config{KeepAlive: time.Hour, Timezone: "Mars/Olympus"}, `timezone "Mars/Olympus"`},
		{Config{KeepAlive: time.Hour, VRAM: map[string]string{"gpu1": "lots"}}, `vram of gpu1: "lots": write a positive size`},
		{Config{KeepAlive: time.Hour, VRAM: map[string]string{"gpu1": "NaN"}}, "write a positive size"},
	} {
		_, err := tc.c.Parse()
		if assert.Error(t, err, tc.want) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	s, err := Config{KeepAlive: -1, VRAM: map[string]string{"g": "24GiB", "h": "16GB", "i": "1024"}}.Parse()
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"g": 24 << 30, "h": 16e9, "i": 1024}, s.VRAM)
	assert.Equal(t, DefaultEvery, s.Every)
	assert.Equal(t, time.Duration(-1), s.KeepAlive)
	assert.False(t, Config{}.Enabled())
	assert.EqualError(t, CheckLanes([]string{"ops", "nope"}, []Lane{{Name: "ops"}}), `warmup: lane "nope" is not among the config's lanes`)
}

// TestReloadAfterHostRestart: a host that goes down is left alone (no
// preload, nothing counted); back up without the model (a restart), the
// model is loaded again at the first check.
func TestReloadAfterHostRestart(t *testing.T) {
	r := newRig(t, Config{KeepAlive: time.Hour}, []Lane{{Name: "ops", Model: "tiny", Hosts: []string{"primary"}}}, nil, "primary")
	f := r.hosts["primary"]
	f.pull("tiny", 100, 200)
	r.w.Tick(context.Background())
	setDown := func(down bool) {
		f.mu.Lock()
		f.down = down
		if down {
			f.loaded = nil // a restart loses every loaded model
		}
		f.mu.Unlock()
	}
	setDown(true)
	r.clk.add(20 * time.Second)
	assert.Empty(t, r.w.Tick(context.Background()), "a host down gets no preload")
	setDown(false)
	r.clk.add(20 * time.Second)
	assert.Equal(t, map[string]string{"primary/ops": Loaded}, results(r.w.Tick(context.Background())))
	assert.True(t, f.isLoaded("tiny"))
	assert.Len(t, f.generates(), 2)
	assert.Equal(t, 0, r.rec.get("primary/tiny:latest/failed"))
}

// TestNoFitIsLogged: a preload that does not fit is said in the log once
// (with what it needs and what holds the host), not at every check.
func TestNoFitIsLogged(t *testing.T) {
	lanes := []Lane{{Name: "chat", Model: "a", Hosts: []string{"gpu1"}}, {Name: "code", Model: "b", Hosts: []string{"gpu1"}}}
	r := newRig(t, Config{KeepAlive: time.Hour, Lanes: []string{"code"}, VRAM: map[string]string{"gpu1": "8GiB"}}, lanes, map[string]int64{"gpu1": 8 * gib}, "gpu1")
	var buf strings.Builder
	var mu sync.Mutex
	r.w.log = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) }), nil))
	f := r.hosts["gpu1"]
	f.pull("a", 5*gib, 6*gib)
	f.pull("b", 5*gib, 6*gib)
	f.load("a", time.Hour)
	r.w.Tick(context.Background())
	r.clk.add(20 * time.Second)
	r.w.Tick(context.Background())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, strings.Count(buf.String(), "level=WARN"), buf.String())
	assert.Contains(t, buf.String(), `msg="warm-up did not load a model" host=gpu1 lane=code model=b:latest result=no_fit why="needs 5.0 GiB; gpu1 has 8.0 GiB (warmup.vram) and other lanes' models [a:latest] hold 6.0 GiB"`)
	assert.Equal(t, 2, r.rec.get("gpu1/b:latest/no_fit"), "counted at every check")
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }
