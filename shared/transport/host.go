package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
)

// DefaultMaxBodyBytes bounds a request body when HTTPOptions.MaxBodyBytes
// is not set: far above any MCP message or chat a person types, far below
// what would strain memory.
const DefaultMaxBodyBytes = 4 << 20

// bodyReadTimeout bounds reading one request body, so a client that
// trickles its body in cannot hold a handler and its buffer forever; the
// server has no overall read timeout, which would also cut streaming
// answers.
var bodyReadTimeout = 60 * time.Second

// checkHost refuses DNS rebinding: a page on an attacker's name that
// resolves to 127.0.0.1 reaches a loopback listener with the attacker's
// name as Host. On a loopback listener the Host must be a loopback name or
// address, or one of allowed (a proxy's public name); on any other
// listener allowed, when given, is enforced alone. The port is ignored.
func checkHost(allowed []string, next http.Handler) http.Handler {
	set := map[string]bool{}
	for _, a := range allowed {
		set[hostName(a)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		loopback := local != nil && IsLoopback(local.String())
		name := hostName(r.Host)
		ok := set[name] || (loopback || len(set) > 0) && isLoopbackName(name) || !loopback && len(set) == 0
		if !ok {
			http.Error(w, fmt.Sprintf("forbidden Host %q: not a loopback name or address, nor in --allowed-hosts (DNS rebinding protection)", r.Host), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostName is the lower-case name of a Host header or host:port value,
// without port, brackets or a final dot.
func hostName(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.Trim(h, "[]"), ".")
}

// isLoopbackName reports whether a host name (no port) is localhost or a
// loopback address.
func isLoopbackName(name string) bool {
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// requireJSON refuses a request with a body whose Content-Type is not
// application/json. A browser can send text/plain, form and multipart
// bodies cross-site without a preflight ("simple" requests); JSON it
// cannot.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				http.Error(w, "unsupported media type: send the body with 'Content-Type: application/json'", http.StatusUnsupportedMediaType)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody reads the request body, refusing with 413 one over max bytes
// (declared or not), and hands the handler the whole body in memory, so a
// handler never meets a cut body halfway through.
func limitBody(max int64, next http.Handler) http.Handler {
	tooLarge := func(w http.ResponseWriter) {
		http.Error(w, fmt.Sprintf("request body over %d bytes: send less, or raise --max-body-bytes", max), http.StatusRequestEntityTooLarge)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			tooLarge(w)
			return
		}
		rc := http.NewResponseController(w)
		// Not every writer supports deadlines (a test recorder); the limit
		// on size still holds there.
		_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		_ = rc.SetReadDeadline(time.Time{})
		if err != nil {
			var mbe *http.MaxBytesError
			var ne net.Error
			switch {
			case errors.As(err, &mbe):
				tooLarge(w)
			case errors.As(err, &ne) && ne.Timeout():
				http.Error(w, fmt.Sprintf("request body not received within %s: send it at once", bodyReadTimeout), http.StatusRequestTimeout)
			default:
				http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		next.ServeHTTP(w, r)
	})
}
