// Package readonly is the HTTP transport every server's upstream client
// goes through: reads (GET, HEAD) pass, everything else is refused before
// it leaves the process, except the exact POST paths a server declares to
// be reads (Kubernetes' self-review, which stores nothing).
package readonly

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
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
func Check(r *http.Request, readPosts ...string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return nil
	case http.MethodPost:
		if slices.Contains(readPosts, r.URL.Path) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s %s", ErrRefused, r.Method, r.URL.Path)
}
