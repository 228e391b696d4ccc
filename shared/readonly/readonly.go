// Package readonly is the HTTP transport every server's upstream client
// goes through: reads (GET, HEAD) pass, everything else is refused before
// it leaves the process, except the exact POST paths a server declares to
// be reads (Kubernetes' self-review, which stores nothing).
package readonly

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("refused: this client only reads")

// Transport wraps next; readPosts are request paths whose POST is a read.
func Transport(next http.RoundTripper, readPosts ...string) http.RoundTripper {
	return transport{next: next, readPosts: readPosts}
}

type transport struct {
	next      http.RoundTripper
	readPosts []string
}

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := Check(r, t.readPosts...); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(r)
}

// Check is the rule itself, for clients that take a request hook rather
// than a transport (the Docker client): nil for a read, else ErrRefused.
//
// A read is a GET or HEAD (or a declared read POST) whose path is plain:
// no ".." segment, no encoded separator or dot (so no argument can walk to
// another endpoint), no protocol upgrade, and none of the endpoints where
// a GET runs code or streams a process: the Kubernetes subresources proxy,
// exec, attach and portforward (exec is a WebSocket GET since Kubernetes
// 1.30), and the Docker endpoints that attach, exec, or export a
// container's or image's files.
func Check(r *http.Request, readPosts ...string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if !slices.Contains(readPosts, r.URL.Path) {
			return fmt.Errorf("%w: %s %s", ErrRefused, r.Method, r.URL.Path)
		}
	default:
		return fmt.Errorf("%w: %s %s", ErrRefused, r.Method, r.URL.Path)
	}
	if why := unsafePath(r.URL); why != "" {
		return fmt.Errorf("%w: %s %s: %s", ErrRefused, r.Method, r.URL.EscapedPath(), why)
	}
	if upgrade(r.Header) {
		return fmt.Errorf("%w: %s %s: a protocol upgrade (WebSocket, SPDY, h2c) opens a stream, not a read", ErrRefused, r.Method, r.URL.Path)
	}
	return nil
}

// upgrade reports whether h asks for a protocol upgrade in any spelling:
// a header map is sent as written, so a non-canonical key ("connection")
// or a second value counts as much as the first.
func upgrade(h http.Header) bool {
	for k, vs := range h {
		switch strings.ToLower(k) {
		case "upgrade", "sec-websocket-key", "sec-websocket-version", "http2-settings", "x-stream-protocol-version":
			for _, v := range vs {
				if strings.TrimSpace(v) != "" {
					return true
				}
			}
		case "connection":
			for _, v := range vs {
				if strings.Contains(strings.ToLower(v), "upgrade") {
					return true
				}
			}
		}
	}
	return false
}

var (
	// kubeStreams are the subresources where a GET reaches a process: the
	// kubelet's exec/attach/portforward, or a pod's, service's or node's
	// own web server through proxy.
	// Matched against the lower-cased path: the servers route by case,
	// but a ";" parameter or a case change must not be a way past.
	kubeStreams = regexp.MustCompile(`(^|/)api/v1/(namespaces/[^/]+/)?(pods|services|nodes)/[^/]+/(proxy|exec|attach|portforward)(/|;|$)|(^|/)api/v1/proxy(/|;|$)`)
	// dockerStreams are the Engine endpoints that attach to or exec in a
	// container, or export files out of a container or an image.
	// The swarm unlock key and the join tokens (GET /swarm) are
	// credentials, not state to read.
	dockerStreams = regexp.MustCompile(`^/(v[^/]*/)?(containers/[^/]+/(attach|export|archive)|exec(/|;|$)|images/([^/]+/)*get(;|$)|session(/|;|$)|grpc(/|;|$)|distribution/|swarm/unlockkey|swarm/?(;|$))`)
)

// unsafePath says why a URL's path is not a plain read, or "".
func unsafePath(u *url.URL) string {
	raw := u.EscapedPath()
	lower := strings.ToLower(raw)
	for _, enc := range []string{"%2f", "%5c", "%2e", "%00"} {
		if strings.Contains(lower, enc) {
			return "an encoded separator or dot in the path"
		}
	}
	if strings.Contains(u.Path, "%") {
		return "a double-encoded path (a % left after decoding)"
	}
	if !utf8.ValidString(u.Path) {
		return "invalid UTF-8 in the path (an overlong encoding can spell a dot or a slash)"
	}
	for _, r := range u.Path {
		if r < 0x20 || r == 0x7f {
			return "a control character in the path"
		}
	}
	segs := strings.Split(u.Path, "/")
	for i, seg := range segs {
		if seg == "" && i > 0 && i < len(segs)-1 {
			// A server or a redirect that cleans the path joins "a//b"
			// to "a/b" after this check has read it apart.
			return "an empty segment (//) in the path"
		}
		if dotLike(seg) {
			return "a dot segment in the path"
		}
	}
	if strings.Contains(u.Path, "\\") {
		return "a backslash in the path"
	}
	path := strings.ToLower(u.Path)
	if kubeStreams.MatchString(path) {
		return "the proxy, exec, attach and portforward subresources run code or open a stream"
	}
	if dockerStreams.MatchString(path) {
		return "attach, exec, export, archive, image save, session and registry endpoints are not reads"
	}
	return ""
}

// dotLike reports whether a path segment is "." or "..", also spelt with
// the look-alike dots some normalisers fold to "." (one dot leader, the
// fullwidth and small full stops).
func dotLike(seg string) bool {
	if seg == "" {
		return false
	}
	n := 0
	for _, r := range seg {
		switch r {
		case '.', '\u2024', '\uff0e', '\ufe52':
			n++
		default:
			return false
		}
	}
	return n <= 2
}
