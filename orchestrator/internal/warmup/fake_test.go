package warmup

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOllama is a FAKE Ollama host for the scheduling tests: it speaks
// the wire format of Ollama v0.17.4's /api/version, /api/tags, /api/ps
// and /api/generate (bodies and field names as the real server writes
// them), and loads and unloads like its scheduler does: a load that does
// not fit its VRAM evicts the least recently used models first; a
// generate without a prompt loads (done_reason "load"), or with
// keep_alive 0 unloads (done_reason "unload"); a request without
// keep_alive gets 5m. The e2e tests (e2e/orchestrator) run the real one.
type fakeOllama struct {
	t    testing.TB
	srv  *httptest.Server
	mu   sync.Mutex
	now  func() time.Time
	vram int64 // 0: CPU only (size_vram 0)
	// models are what it has pulled: file size, and size once loaded.
	models map[string][2]int64
	loaded []*fakeLoaded
	// gens are the /api/generate bodies it received, as sent.
	gens []map[string]any
	down bool
}

type fakeLoaded struct {
	name    string
	size    int64
	vram    int64
	expires time.Time
	used    time.Time
	options map[string]any
}

func newFake(t testing.TB, vram int64, now func() time.Time) *fakeOllama {
	f := &fakeOllama{t: t, vram: vram, now: now, models: map[string][2]int64{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// pull adds a model: its file size and what it holds loaded.
func (f *fakeOllama) pull(name string, file, size int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models[full(name)] = [2]int64{file, size}
}

func full(name string) string {
	if !strings.Contains(name, ":") {
		return name + ":latest"
	}
	return name
}

// load loads name as another client would, with keep_alive ka.
func (f *fakeOllama) load(name string, ka time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loadLocked(full(name), ka, nil)
}

// evict drops name as a restart or another load would.
func (f *fakeOllama) evict(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unloadLocked(full(name))
}

func (f *fakeOllama) isLoaded(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.loaded {
		if l.name == full(name) {
			return true
		}
	}
	return false
}

func (f *fakeOllama) generates() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.gens...)
}

func (f *fakeOllama) unloadLocked(name string) {
	for i, l := range f.loaded {
		if l.name == name {
			f.loaded = append(f.loaded[:i], f.loaded[i+1:]...)
			return
		}
	}
}

func (f *fakeOllama) loadLocked(name string, ka time.Duration, opts map[string]any) {
	now := f.now()
	exp := now.Add(ka)
	if ka < 0 {
		exp = now.Add(100 * 365 * 24 * time.Hour)
	}
	for _, l := range f.loaded {
		if l.name == name {
			l.expires, l.used = exp, now
			return
		}
	}
	size := f.models[name][1]
	vram := int64(0)
	if f.vram > 0 {
		vram = size
		// Ollama's scheduler: evict the least recently used until it fits.
		sort.Slice(f.loaded, func(i, j int) bool { return f.loaded[i].used.Before(f.loaded[j].used) })
		for f.used()+size > f.vram && len(f.loaded) > 0 {
			f.loaded = f.loaded[1:]
		}
		vram = min(size, f.vram-f.used())
	}
	f.loaded = append(f.loaded, &fakeLoaded{name: name, size: size, vram: vram, expires: exp, used: now, options: opts})
}

func (f *fakeOllama) used() int64 {
	var n int64
	for _, l := range f.loaded {
		n += l.vram
	}
	return n
}

var details = map[string]any{"parent_model": "", "format": "gguf", "family": "llama", "families": []string{"llama"}, "parameter_size": "7.6B", "quantization_level": "Q4_K_M"}

func (f *fakeOllama) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch r.URL.Path {
	case "/api/version":
		json.NewEncoder(w).Encode(map[string]any{"version": "0.17.4"})
	case "/api/tags":
		var ms []map[string]any
		for name, s := range f.models {
			ms = append(ms, map[string]any{"name": name, "model": name, "modified_at": "2026-11-28T10:00:00.000000000Z",
				"size": s[0], "digest": "5ee4f07cdb9beadbbb293e85803c569b01bd37ed059d2715faa7bb405f31caa6", "details": details})
		}
		json.NewEncoder(w).Encode(map[string]any{"models": ms})
	case "/api/ps":
		ms := []map[string]any{}
		for _, l := range f.loaded {
			if !f.now().Before(l.expires) {
				continue
			}
			ms = append(ms, map[string]any{"name": l.name, "model": l.name, "size": l.size, "digest": "5ee4f07cdb9beadbbb293e85803c569b01bd37ed059d2715faa7bb405f31caa6",
				"details": details, "expires_at": l.expires.Format(time.RFC3339Nano), "size_vram": l.vram, "context_length": 4096})
		}
		json.NewEncoder(w).Encode(map[string]any{"models": ms})
	case "/api/generate":
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		f.gens = append(f.gens, req)
		name := full(req["model"].(string))
		if _, ok := f.models[name]; !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "model '" + req["model"].(string) + "' not found"})
			return
		}
		ka := 5 * time.Minute
		switch v := req["keep_alive"].(type) {
		case string:
			d, err := time.ParseDuration(v)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
				return
			}
			ka = d
		case float64:
			ka = time.Duration(v * float64(time.Second))
			if v < 0 {
				ka = -1
			}
		}
		reason := "load"
		if p, _ := req["prompt"].(string); p != "" {
			f.t.Errorf("a warm-up sent a prompt: %q", p)
		}
		if ka == 0 {
			f.unloadLocked(name)
			reason = "unload"
		} else {
			opts, _ := req["options"].(map[string]any)
			f.loadLocked(name, ka, opts)
		}
		json.NewEncoder(w).Encode(map[string]any{"model": req["model"], "created_at": f.now().UTC().Format(time.RFC3339Nano), "response": "", "done": true, "done_reason": reason})
	default:
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("404 page not found"))
	}
}
