package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ollama/ollama/api"
)

// maxLine bounds one NDJSON line of a reply (Ollama's own client allows
// 8 MiB), and maxReply a whole reply: a host, or one posing as it, cannot
// make the orchestrator hold more.
// (Variables, so tests can make them small.)
var (
	maxLine  = 8 << 20
	maxReply = 64 << 20
)

// errLongLine is a reply line over maxLine.
var errLongLine = errors.New("a reply line is over the size limit (8 MiB)")

// readLine reads up to and including the next newline (or to EOF), and
// fails once the line passes max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max {
			return nil, errLongLine
		}
		line = append(line, frag...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// Chat sends a chat request to the endpoint and passes each response
// (one, or the NDJSON stream's lines) to fn, with Ollama's own wire types
// and error semantics (api.StatusError for an HTTP error, an error for a
// mid-stream {"error"} line). It replaces api.Client.Chat on the hot path:
// that client allocates an 8 MiB line buffer per request, which was most
// of the gateway's overhead (docs/benchmarks.md).
func (e Endpoint) Chat(ctx context.Context, req *api.ChatRequest, fn func(api.ChatResponse) error) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/api/chat", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/x-ndjson")
	hc := e.http
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 32<<10)
	if resp.StatusCode >= http.StatusBadRequest {
		raw, _ := io.ReadAll(io.LimitReader(br, 64<<10))
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return api.StatusError{StatusCode: resp.StatusCode, Status: resp.Status, ErrorMessage: msg}
	}
	total := 0
	for {
		line, err := readLine(br, maxLine)
		total += len(line)
		if total > maxReply {
			return fmt.Errorf("%s sent over %d bytes for one reply; cut it off", e.Name, maxReply)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var er struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(line, &er) == nil && er.Error != "" {
				if len(er.Error) > 4096 {
					er.Error = strings.ToValidUTF8(er.Error[:4096], "") + "…"
				}
				return fmt.Errorf("%s", er.Error)
			}
			var r api.ChatResponse
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("decode chat response: %w", err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
