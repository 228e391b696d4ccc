package tools

import (
	"testing"

	"github.com/opsmcp/opsmcp/shared/prompt/prompttest"
)

// TestPrompts (issue 16): every prompt relies only on tools this server
// offers and names them, takes typed arguments that reach its text when
// valid, and refuses hostile or missing ones with an argument error.
func TestPrompts(t *testing.T) {
	var names []string
	for _, tl := range (&Server{}).Tools() {
		names = append(names, tl.Name)
	}
	prompttest.Check(t, Prompts(), names)
}
