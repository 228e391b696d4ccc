// Package embedtest is a deterministic embedder for tests: not a model.
// It hashes words (folded through a small synonym table, so "reboot" and
// "restart" land together) and character trigrams into a fixed number of
// dimensions. Its vectors rank by shared meaning roughly enough to test
// retrieval and fusion; real vectors come from Ollama.
package embedtest

import (
	"context"
	"hash/fnv"
	"strings"
	"unicode"
)

// Embedder is the test embedder.
type Embedder struct {
	Dim   int
	Name  string
	Calls int // texts embedded
	// Fail, if set, makes Embed return it.
	Fail error
}

// Model implements embed.Embedder.
func (e *Embedder) Model() string {
	if e.Name == "" {
		return "test-hash"
	}
	return e.Name
}

// Embed implements embed.Embedder.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if e.Fail != nil {
		return nil, e.Fail
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e.vector(t)
	}
	e.Calls += len(texts)
	return out, nil
}

// synonyms folds words to one concept.
var synonyms = map[string]string{
	"reboot": "restart", "bounce": "restart", "restarting": "restart", "restarted": "restart", "recycle": "restart",
	"failover": "failover", "fail": "failover", "switchover": "failover", "switch": "failover",
	"rollback": "rollback", "revert": "rollback", "undo": "rollback",
	"db": "database", "postgres": "database", "postgresql": "database", "databases": "database",
	"cert": "certificate", "certs": "certificate", "tls": "certificate", "certificates": "certificate",
	"disk": "storage", "volume": "storage", "pvc": "storage", "volumes": "storage",
	"secret": "credential", "password": "credential", "token": "credential", "credentials": "credential",
	"deploy": "release", "deployment": "release", "rollout": "release", "ship": "release",
	"gpu": "accelerator", "vram": "accelerator", "cuda": "accelerator",
	"pipeline": "ci", "workflow": "ci", "build": "ci",
	"mesh": "wireguard", "wg": "wireguard", "tunnel": "wireguard",
	"oom": "memory", "ram": "memory", "memory": "memory",
	"alert": "alerting", "page": "alerting", "paging": "alerting", "alerts": "alerting",
}

func (e *Embedder) vector(text string) []float32 {
	dim := e.Dim
	if dim <= 0 {
		dim = 256
	}
	v := make([]float32, dim)
	add := func(tok string, w float32) {
		h := fnv.New64a()
		h.Write([]byte(tok))
		x := h.Sum64()
		sign := float32(1)
		if x&1 == 1 {
			sign = -1
		}
		v[(x>>1)%uint64(dim)] += sign * w
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) < 3 {
			continue
		}
		if c, ok := synonyms[w]; ok {
			w = c
		}
		add("w:"+w, 1)
		for i := 0; i+3 <= len(w); i++ {
			add("t:"+w[i:i+3], 0.3)
		}
	}
	return v
}
