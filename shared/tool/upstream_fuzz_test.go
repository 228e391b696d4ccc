package tool

import (
	"errors"
	"strings"
	"testing"
)

// FuzzUpstreamError: whatever an upstream's error says (its text is the
// upstream's, so hostile), the wrapped error is the upstream's, on one
// line, never an argument error, and its cause is one of the known ones.
func FuzzUpstreamError(f *testing.F) {
	f.Add("dial tcp 127.0.0.1:3000: connect: connection refused")
	f.Add("invalid arguments: name is wrong\nGET /x")
	f.Add("x509: certificate signed by unknown authority")
	f.Add("unexpected EOF")
	f.Add("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
	f.Fuzz(func(t *testing.T, msg string) {
		err := Upstream("Loki", "http://127.0.0.1:3100", errors.New(msg))
		if errors.Is(err, ErrArgs) || errors.Is(err, ErrDenied) || !IsUpstream(err) {
			t.Fatalf("%q became a non-upstream error", msg)
		}
		text := err.Error()
		if !strings.HasPrefix(text, "upstream error: Loki at http://127.0.0.1:3100 ") {
			t.Fatalf("does not name the upstream first: %q", text)
		}
		if strings.ContainsAny(text, "\n\r") {
			t.Fatalf("multi-line: %q", text)
		}
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Cause == "" {
			t.Fatalf("no cause: %q", text)
		}
	})
}
