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
	if r.Header.Get("Upgrade") != "" || strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
		return fmt.Errorf("%w: %s %s: a protocol upgrade (WebSocket, SPDY) opens a stream, not a read", ErrRefused, r.Method, r.URL.Path)
	}
	return nil
}

var (
	// kubeStreams are the subresources where a GET reaches a process: the
	// kubelet's exec/attach/portforward, or a pod's, service's or node's
	// own web server through proxy.
	kubeStreams = regexp.MustCompile(`(^|/)api/v1/(namespaces/[^/]+/)?(pods|services|nodes)/[^/]+/(proxy|exec|attach|portforward)(/|$)|(^|/)api/v1/proxy(/|$)`)
	// dockerStreams are the Engine endpoints that attach to or exec in a
	// container, or export files out of a container or an image.
	dockerStreams = regexp.MustCompile(`^/(v[0-9.]+/)?(containers/[^/]+/(attach|export|archive)|exec/|images/([^/]+/)*get$|session$|grpc$|distribution/)`)
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
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == ".." || seg == "." {
			return "a dot segment in the path"
		}
	}
	if strings.Contains(u.Path, "\\") {
		return "a backslash in the path"
	}
	if kubeStreams.MatchString(u.Path) {
		return "the proxy, exec, attach and portforward subresources run code or open a stream"
	}
	if dockerStreams.MatchString(u.Path) {
		return "attach, exec, export, archive, image save, session and registry endpoints are not reads"
	}
	return ""
}
