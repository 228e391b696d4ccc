package tool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// ErrUpstream marks a failure of the service a server reads (an API server,
// a forge, Loki, a Docker engine): not the caller's fault, and never told
// as if it were.
var ErrUpstream = errors.New("upstream error")

// Causes of an upstream failure, as UpstreamError.Cause names them.
const (
	CauseRefused     = "connection refused"
	CauseTimeout     = "timeout"
	CauseTLS         = "TLS failure"
	CauseDNS         = "name not resolved"
	CauseReset       = "connection reset"
	CauseCut         = "connection closed in the middle of the answer"
	CauseUnreachable = "unreachable"
	CauseAuth        = "401 unauthorized: the server's credentials were rejected"
	CauseForbidden   = "403 forbidden"
	CauseServerError = "server error"
	CauseOther       = "failed"
)

// UpstreamError is a failure of an upstream: which one, where, and why.
// Its message never blames the caller's arguments.
type UpstreamError struct {
	// Upstream names the service ("kube-apiserver", "Gitea", "Loki",
	// "Docker engine").
	Upstream string
	// Addr is where the server reaches it (a URL or host:port).
	Addr string
	// Cause is one of the Cause constants, or a status line.
	Cause string
	// After is the call's time limit when that is what ran out.
	After time.Duration
	// Err is the underlying error.
	Err error
}

func (e *UpstreamError) Error() string {
	where := e.Upstream
	if e.Addr != "" {
		where += " at " + redactURLs(e.Addr)
	}
	if e.After > 0 {
		return fmt.Sprintf("upstream error: timed out after %s waiting for %s; the request was cancelled. This is not a problem with your arguments: retry later, or narrow the query if it is a large one", fmtSeconds(e.After), where)
	}
	detail := ""
	if e.Err != nil {
		detail = " (" + Shorten(redactURLs(e.Err.Error()), 300) + ")"
	}
	return fmt.Sprintf("upstream error: %s %s%s. This is not a problem with your arguments: retry later, or ask the operator to check %s", where, verb(e.Cause), detail, e.Upstream)
}

// urlInText finds URLs in an error's text (Go's url.Error quotes them).
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// redactURLs drops the user info, query and fragment of every URL in s:
// an upstream's address may carry its credentials there (a Gitea token as
// the URL's user, ?key=…), and this text reaches every caller, the audit
// log and /readyz's logs. The masker would miss a bare user or a short
// key; the host and path, which say where the upstream is, stay.
func redactURLs(s string) string {
	return urlInText.ReplaceAllStringFunc(s, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			// Not a URL we can take apart: keep its scheme and say no more.
			scheme, _, _ := strings.Cut(raw, "://")
			return scheme + "://[address withheld]"
		}
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		if strings.Contains(u.Path, "@") || strings.Contains(u.Path, "://") {
			// Another URL nested in the path ("x://https://tok@host"): its
			// user info is path text to the parser, so the path goes.
			u.Path, u.RawPath = "/…", ""
		}
		return u.String()
	})
}

// verb phrases a cause after the upstream's name.
func verb(cause string) string {
	switch cause {
	case CauseRefused, CauseReset:
		return "is unreachable: " + cause
	case CauseUnreachable:
		return "is unreachable"
	case CauseTimeout:
		return "did not answer in time (timeout)"
	case CauseCut:
		return "failed: " + cause + "; nothing partial is returned"
	}
	return "failed: " + cause
}

// fmtSeconds writes d as "3 s", "1.5 s".
func fmtSeconds(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", d.Seconds()), "0"), ".") + " s"
}

// Shorten keeps the whole words of s that fit in n bytes, on one line,
// for upstream text shown in an error. Masking comes after (in the
// binder), so a cut through a word could leave the first half of a
// secret that no masking rule recognises (a token's prefix): a word cut
// short is dropped whole.
func Shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := s[:n+1]
		i := strings.LastIndexByte(cut, ' ')
		if i < 0 {
			i = 0
		}
		s = strings.TrimRight(s[:i], " ") + "…"
	}
	return s
}

// Unwrap returns ErrUpstream and the cause, so errors.Is(err, ErrUpstream)
// holds and the original error stays reachable.
func (e *UpstreamError) Unwrap() []error { return []error{ErrUpstream, e.Err} }

// Upstream wraps err, a failure to reach or read upstream name at addr,
// as an UpstreamError with its cause classified. nil stays nil; an
// argument error, a policy denial or an UpstreamError is returned as it
// is.
func Upstream(name, addr string, err error) error {
	if err == nil || errors.Is(err, ErrArgs) || errors.Is(err, ErrDenied) {
		return err
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return err
	}
	cause := Cause(err)
	if cause == "" {
		cause = CauseOther
	}
	return &UpstreamError{Upstream: name, Addr: addr, Cause: cause, Err: err}
}

// UpstreamStatus is Upstream for an HTTP status the upstream answered
// with: 401 and 403 name the server's identity, 5xx the upstream.
func UpstreamStatus(name, addr string, status int, err error) error {
	cause := fmt.Sprintf("HTTP %d", status)
	switch {
	case status == 401:
		cause = CauseAuth
	case status == 403:
		cause = CauseForbidden
	case status >= 500:
		cause = fmt.Sprintf("%s (HTTP %d)", CauseServerError, status)
	}
	if err == nil {
		err = errors.New(cause)
	}
	return &UpstreamError{Upstream: name, Addr: addr, Cause: cause, Err: err}
}

// Cause classifies a transport failure: refused, timeout, TLS, reset, cut,
// or "" when err does not look like one. Libraries that flatten errors to
// text (several SDKs do) are matched on the text as a last resort.
func Cause(err error) string {
	if err == nil {
		return ""
	}
	var (
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		dnsErr   *net.DNSError
		netErr   net.Error
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.As(err, &recErr), errors.As(err, &alertErr):
		return CauseTLS
	case errors.As(err, &dnsErr):
		return CauseDNS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT):
		return CauseTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return CauseReset
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return CauseCut
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return CauseUnreachable
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "connection refused"):
		return CauseRefused
	case strings.Contains(msg, "x509:"), strings.Contains(msg, "tls:"), strings.Contains(msg, "certificate"):
		return CauseTLS
	case strings.Contains(msg, "no such host"):
		return CauseDNS
	case strings.Contains(msg, "deadline exceeded"), strings.Contains(msg, "timeout"), strings.Contains(msg, "timed out"):
		return CauseTimeout
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"):
		return CauseReset
	case strings.Contains(msg, "unexpected eof"), strings.HasSuffix(msg, ": eof"), msg == "eof",
		strings.Contains(msg, "server closed"), strings.Contains(msg, "connection closed"):
		return CauseCut
	case strings.Contains(msg, "no route to host"), strings.Contains(msg, "network is unreachable"),
		strings.Contains(msg, "cannot connect to the docker daemon"):
		return CauseUnreachable
	}
	return ""
}

// IsTransport reports whether err is a failure to reach or read an
// upstream at all (as opposed to an answer the upstream gave).
func IsTransport(err error) bool {
	return Cause(err) != ""
}

// IsUpstream reports whether err is an upstream failure.
func IsUpstream(err error) bool { return errors.Is(err, ErrUpstream) }

// UpstreamTransport wraps an upstream client's RoundTripper so that every
// failure to reach or read the upstream is an UpstreamError naming it:
// a refused or timed-out request, and a body cut in the middle of the
// answer, which a JSON decoder would otherwise report as "unexpected EOF"
// in the caller's terms. Answers the upstream gave (any status) pass as
// they are: what a status means is the client's to say.
func UpstreamTransport(name, addr string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &upstreamTransport{name: name, addr: addr, next: next}
}

type upstreamTransport struct {
	name, addr string
	next       http.RoundTripper
}

func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, Upstream(t.name, t.addr, err)
	}
	resp.Body = &upstreamBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

// upstreamBody names the upstream in a read error other than the end of
// the body.
type upstreamBody struct {
	io.ReadCloser
	t *upstreamTransport
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = Upstream(b.t.name, b.t.addr, err)
	}
	return n, err
}
