package tool

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opsmcp/opsmcp/shared/mask"
)

// An upstream's address may carry credentials (a Gitea token as the URL's
// user, user:password, a key in the query); the error every caller reads
// names the upstream and its host, never those. The masker does not catch
// them all: a bare user or a short "?key=" value looks like nothing secret.
func TestUpstreamErrorHidesAddressCredentials(t *testing.T) {
	for _, addr := range []string{
		"https://hunter2tok@gitea.internal:3000",
		"https://svc:hunter2tok@gitea.internal:3000/",
		"https://gitea.internal:3000/?key=hunter2tok",
		"http://gitea.internal:3000/sub?private_token=hunter2tok#hunter2tok",
	} {
		cause := &url.Error{Op: "Get", URL: strings.TrimRight(addr, "/") + "/api/v1/version?token=hunter2tok", Err: errors.New("dial tcp 127.0.0.1:3000: connect: connection refused")}
		for _, err := range []error{
			Upstream("Gitea", addr, cause),
			UpstreamStatus("Gitea", addr, 502, cause),
		} {
			msg := err.Error()
			if strings.Contains(msg, "hunter2tok") {
				t.Errorf("Addr %q: the error shows a credential: %s", addr, msg)
			}
			if !strings.Contains(msg, "gitea.internal:3000") || !strings.Contains(msg, "Gitea") {
				t.Errorf("Addr %q: the error no longer names the upstream and its host: %s", addr, msg)
			}
		}
	}
	// A socket's address has no host and stays whole.
	sock := Upstream("Docker engine", "unix:///var/run/docker.sock", errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"))
	if msg := sock.Error(); strings.Count(msg, "unix:///var/run/docker.sock") != 2 || strings.Contains(msg, "withheld") {
		t.Errorf("socket address: %s", msg)
	}
	// A timeout names the address too.
	e := &UpstreamError{Upstream: "Loki", Addr: "https://tenant:hunter2tok@loki:3100", After: 3e9}
	if msg := e.Error(); strings.Contains(msg, "hunter2tok") || !strings.Contains(msg, "loki:3100") {
		t.Errorf("timeout error: %s", msg)
	}
}

// An upstream's error text is cut to one short line before the binder
// masks it; a secret the cut falls inside must not come back as its
// first half, which no masking rule recognises (a GitHub token's first 16
// characters, an AWS key's first 12, a JWT's header and part of its
// claims). The cut keeps whole words only.
func TestUpstreamErrorCutKeepsNoPartialSecret(t *testing.T) {
	m := mask.New(nil)
	for _, sec := range []string{"ghp_R8x2kQ9vLm3ZpT7wYc4NbH6jFd1sAe5Gu0Xo", "AKIAIOSFODNN7EXAMPLQ", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.Zm9vYmFyYmF6cXV4eHl6MTIzNDU2Nzg5MA"} {
		for pad := 250; pad < 310; pad += 2 {
			body := strings.Repeat("a ", pad/2) + sec + " more"
			if whole, _ := m.Text(body); strings.Contains(whole, sec[:8]) {
				t.Fatalf("the masker no longer recognises %q whole; pick another sample", sec)
			}
			err := UpstreamStatus("Gitea", "http://gitea:3000", 500, errors.New(body))
			got, _ := m.Text(err.Error())
			if strings.Contains(got, sec[:8]) {
				t.Errorf("pad %d: part of %q survived the cut and masking: %s", pad, sec[:8], got)
			}
			if !utf8.ValidString(got) {
				t.Errorf("pad %d: invalid UTF-8", pad)
			}
		}
	}
	// A cut through a multi-byte character leaves valid text.
	got := UpstreamStatus("Loki", "http://loki:3100", 500, errors.New(strings.Repeat("é", 400))).Error()
	if !utf8.ValidString(got) || !strings.Contains(got, "Loki at http://loki:3100") {
		t.Errorf("cut: %q", got)
	}
}
