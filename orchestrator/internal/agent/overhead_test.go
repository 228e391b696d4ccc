package agent

import (
	"context"
	"testing"

	"github.com/ollama/ollama/api"
)

// BenchmarkRunOverhead is the agent's own cost of one answer with no tool
// (against the scripted Ollama, which answers at once): masking, tool
// selection, routing, the queue, the budget, and one HTTP round trip.
func BenchmarkRunOverhead(b *testing.B) {
	t := &testing.T{}
	a, s := agent(t)
	a.PollAge = 1 << 62
	s.replies = nil
	req := Request{Model: "coder", Messages: []api.Message{{Role: "user", Content: "hello there"}}}
	a.Run(context.Background(), req)
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirectFake is the floor of BenchmarkRunOverhead: the same chat
// request straight to the scripted Ollama.
func BenchmarkDirectFake(b *testing.B) {
	t := &testing.T{}
	a, s := agent(t)
	s.replies = nil
	ep := a.Gateway.Endpoints()[0]
	no := false
	req := &api.ChatRequest{Model: "coder", Stream: &no, Messages: []api.Message{{Role: "user", Content: "hello there"}}}
	for b.Loop() {
		if err := ep.Chat(context.Background(), req, func(api.ChatResponse) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
