package transport

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHostCheck: whatever the Host header, a loopback listener serves it
// only when its name is localhost or a loopback address (or the one
// allowed name), and the check never panics.
func FuzzHostCheck(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "localhost", "[::1]:1", "evil.example:8080", "127.0.0.1.evil.example",
		"LOCALHOST.", "[::ffff:127.0.0.1]", "0x7f.1", "2130706433", "127.1", "ops.example.org:443", "", "[", "a:b:c", "localhost\x00.evil"} {
		f.Add(s)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := checkHost([]string{"ops.example.org"}, ok)
	f.Fuzz(func(t *testing.T, host string) {
		req := httptest.NewRequest("GET", "/mcp", nil)
		req.Host = host
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		name := hostName(host)
		ip := net.ParseIP(name)
		legit := name == "localhost" || name == "ops.example.org" || ip != nil && ip.IsLoopback()
		if rec.Code == http.StatusOK && !legit {
			t.Fatalf("Host %q (name %q) was served on a loopback listener", host, name)
		}
		if rec.Code != http.StatusOK && legit {
			t.Fatalf("Host %q (name %q) was refused", host, name)
		}
	})
}

// FuzzForwardedPrefix: the prefix echoed into the SSE endpoint event is
// empty or a plain absolute path: no scheme, host, query, dot segment or
// byte outside the unreserved set.
func FuzzForwardedPrefix(f *testing.F) {
	for _, s := range []string{"/logs", "/mcp/kubernetes/", "//evil.example", "/a/../b", "/a?x=1", "/a\r\nSet-Cookie: x", "https://evil", "/%2e%2e", "/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prefix string) {
		r := httptest.NewRequest("GET", "/sse", nil)
		r.Header["X-Forwarded-Prefix"] = []string{prefix}
		p := forwardedPrefix(r)
		if p == "" {
			return
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasSuffix(p, "/") {
			t.Fatalf("prefix %q from %q is not a plain path", p, prefix)
		}
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." || seg == "" {
				t.Fatalf("prefix %q from %q has segment %q", p, prefix, seg)
			}
		}
		for _, c := range p {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~/", c)) {
				t.Fatalf("prefix %q from %q has byte %q", p, prefix, c)
			}
		}
	})
}
