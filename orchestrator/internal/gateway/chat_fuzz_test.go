package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

// replay answers every request with one status and body.
type replay struct {
	status int
	body   []byte
}

func (r replay) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: r.status, Status: http.StatusText(r.status), Body: io.NopCloser(bytes.NewReader(r.body)), Header: http.Header{}}, nil
}

// FuzzChatStream: whatever an Ollama host (or one posing as it) answers,
// Chat does not panic; an HTTP error is an api.StatusError with that code
// and at most 64 KiB of message; an {"error"} line ends the reply with an
// error; every response passed on came from a line of the body.
func FuzzChatStream(f *testing.F) {
	f.Add(200, []byte("{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}\n{\"done\":true}\n"))
	f.Add(200, []byte("{\"error\":\"llama runner process has terminated\"}\n"))
	f.Add(503, []byte(`{"error":"server busy"}`))
	f.Add(400, bytes.Repeat([]byte("x"), 70<<10))
	f.Add(200, []byte("{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"k8s_get\",\"arguments\":{\"a\":1}}}]}}\nnot json\n"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		ep := Endpoint{Name: "fuzz", URL: "http://127.0.0.1:1", http: &http.Client{Transport: replay{status, body}}}
		lines := bytes.Count(body, []byte("\n")) + 1
		got := 0
		err := ep.Chat(context.Background(), &api.ChatRequest{Model: "m"}, func(api.ChatResponse) error { got++; return nil })
		if got > lines {
			t.Fatalf("%d responses from %d lines", got, lines)
		}
		if status >= 400 {
			var se api.StatusError
			if !errors.As(err, &se) || se.StatusCode != status {
				t.Fatalf("status %d gave %v", status, err)
			}
			if len(se.ErrorMessage) > 64<<10 {
				t.Fatalf("error message of %d bytes", len(se.ErrorMessage))
			}
			if got != 0 {
				t.Fatal("responses passed on from an error status")
			}
		}
	})
}

// TestChatBounds: a reply line over 8 MiB, or a reply over 64 MiB in
// total, ends the turn with an error instead of being held in memory; a
// host's error line is cut to 4 KiB.
func TestChatBounds(t *testing.T) {
	chat := func(body []byte) (int, error) {
		ep := Endpoint{Name: "fuzz", URL: "http://127.0.0.1:1", http: &http.Client{Transport: replay{200, body}}}
		n := 0
		err := ep.Chat(context.Background(), &api.ChatRequest{Model: "m"}, func(api.ChatResponse) error { n++; return nil })
		return n, err
	}
	// The real limits are 8 MiB and 64 MiB; the same code at 1/64 the
	// size keeps the test light.
	defer func(l, r int) { maxLine, maxReply = l, r }(maxLine, maxReply)
	maxLine, maxReply = 128<<10, 1<<20
	_, err := chat(bytes.Repeat([]byte("x"), maxLine+1))
	if !errors.Is(err, errLongLine) {
		t.Fatalf("long line: %v", err)
	}
	line := []byte("{\"message\":{\"content\":\"" + string(bytes.Repeat([]byte("y"), 16<<10)) + "\"}}\n")
	n, err := chat(bytes.Repeat(line, 70))
	if err == nil || !strings.Contains(err.Error(), "for one reply") || n > 64 {
		t.Fatalf("a 1.1 MiB reply over a 1 MiB limit: %d responses, %v", n, err)
	}
	_, err = chat([]byte("{\"error\":\"" + string(bytes.Repeat([]byte("e"), 10000)) + "\"}\n"))
	if err == nil || len(err.Error()) > 4100 {
		t.Fatalf("error line: %d bytes", len(err.Error()))
	}
}
