package agent

import (
	"strings"

	"github.com/ollama/ollama/api"
)

// streamer is the sink of one attempt of a model turn: it passes answer
// text on as it comes. Text that may be a tool call written as JSON ({,
// ``` or <tool_call> first) is held back until the turn ends: if it was a
// call, it never reaches the user.
type streamer struct {
	tokens func(string)
	text   strings.Builder
	held   bool // holding text back
	sent   bool // some text reached the user
}

// Chunk implements gateway.Sink.
func (s *streamer) Chunk(r api.ChatResponse) error {
	s.text.WriteString(r.Message.Content)
	if r.Message.Content == "" {
		return nil
	}
	if !s.sent && !s.held {
		lead := strings.TrimLeft(s.text.String(), " \t\n")
		if lead == "" {
			return nil
		}
		if strings.HasPrefix(lead, "{") || strings.HasPrefix(lead, "`") || strings.HasPrefix(lead, "<") {
			s.held = true
			return nil
		}
		s.sent = true
		s.tokens(s.text.String())
		return nil
	}
	if s.sent {
		s.tokens(r.Message.Content)
	}
	return nil
}

// Sent implements gateway.Sink.
func (s *streamer) Sent() bool { return s.sent }
