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
		// The text is cut before the binder masks it: a secret at the
		// end of the upstream's message is shown whole or not at all,
		// never as a prefix no masking rule would recognise.
		const secret = "Zq9PartialX7Secret"
		if strings.Contains(msg, secret[:4]) {
			return
		}
		text = Upstream("Loki", "http://127.0.0.1:3100", errors.New(msg+" "+secret)).Error()
		if strings.Contains(text, secret[:4]) && !strings.Contains(text, secret) {
			t.Fatalf("a prefix of the secret survived: %q", text)
		}
	})
}

// FuzzRedactURLs: whatever text surrounds an upstream URL in an error
// (the upstream's or a library's, so hostile), the credentials planted in
// its user info, query and fragment never survive, and the text grows
// by percent-escapes at most.
func FuzzRedactURLs(f *testing.F) {
	f.Add("Get \"", "\": dial tcp: connection refused")
	f.Add("", "")
	f.Add("x://", "@y/ z://a:b@c")
	f.Add("Post '", "#frag' and http://[::1")
	f.Fuzz(func(t *testing.T, before, after string) {
		const secret = "Pl4ntedS3cret"
		for _, u := range []string{
			"https://" + secret + "@gitea.example:3000/api",
			"https://svc:" + secret + "@gitea.example:3000/api",
			"http://gitea.example/x?key=" + secret,
			"http://gitea.example/x#" + secret,
		} {
			out := redactURLs(before + u + after)
			if strings.Contains(out, secret) && !strings.Contains(before+after, secret) {
				t.Fatalf("%q kept the credential: %q", before+u+after, out)
			}
			// url.String may percent-escape a byte as three.
			if len(out) > 3*len(before+u+after)+64*(strings.Count(before+u+after, "://")+1) {
				t.Fatalf("grew: %d -> %d bytes", len(before+u+after), len(out))
			}
		}
	})
}
