package readonly

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzCheck asserts that a path Check lets through is one a server sees
// as it is: cleaning it (as a router or a redirect does) changes nothing
// but a trailing slash, decoding it again yields no other path, and no
// spelling of it, in any case, reaches a stream endpoint.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"/api/v1/namespaces/web/pods/x/log",
		"/api/v1/namespaces/web/pods/x//exec",
		"/v1.41/containers/x/Attach",
		"/api/v1/namespaces/web/pods/x%252F..%252Fsecrets",
		"/api/v1/namespaces/web/pods/x/\uff0e\uff0e/exec",
		"/v1.41/swarm/unlockkey",
		"/api/v1/repos/ops/infra/contents/docs/über.md",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := url.Parse("http://up/" + strings.TrimPrefix(p, "/"))
		if err != nil || u.Host != "up" {
			return
		}
		r := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
		if Check(r) != nil {
			return
		}
		got := u.Path
		if clean := path.Clean(got); clean != strings.TrimSuffix(got, "/") && !(got == "/" && clean == "/") {
			t.Fatalf("passed %q, which a server cleans to %q", got, clean)
		}
		if again, err := url.PathUnescape(got); err == nil && again != got {
			t.Fatalf("passed %q, which decodes again to %q", got, again)
		}
		lower := strings.ToLower(got)
		if kubeStreams.MatchString(lower) || dockerStreams.MatchString(lower) {
			t.Fatalf("passed a stream endpoint: %q", got)
		}
	})
}
