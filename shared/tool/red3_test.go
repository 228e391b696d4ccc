package tool

import (
	"errors"
	"net/url"
	"strings"
	"testing"
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
	// A timeout names the address too.
	e := &UpstreamError{Upstream: "Loki", Addr: "https://tenant:hunter2tok@loki:3100", After: 3e9}
	if msg := e.Error(); strings.Contains(msg, "hunter2tok") || !strings.Contains(msg, "loki:3100") {
		t.Errorf("timeout error: %s", msg)
	}
}
