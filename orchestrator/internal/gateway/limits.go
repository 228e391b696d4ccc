package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxPollBody bounds a host's answer to a GET (/api/version, /api/tags,
// /api/ps, read whole by Ollama's client): a host, or one posing as it,
// cannot make each poll hold more. A real /api/tags of hundreds of
// models is well under 1 MiB. (A variable, so tests can lower it.)
var maxPollBody int64 = 8 << 20

// capGets cuts a GET's answer off past maxPollBody with an error. Chat
// answers (POST) have their own bounds (maxLine, maxReply).
type capGets struct{ next http.RoundTripper }

func (c capGets) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodGet {
		resp.Body = &capped{ReadCloser: resp.Body, left: maxPollBody}
	}
	return resp, err
}

var errPollBody = fmt.Errorf("the answer is over %d MiB; cut it off", maxPollBody>>20)

type capped struct {
	io.ReadCloser
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, err := c.ReadCloser.Read(one[:]); n == 0 && errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, errPollBody
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	return n, err
}
