package webhook

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// FuzzDelivery: any signed body and delivery id, sent twice: no panic,
// the answer is one the handler documents, a push re-indexes at most
// once, and the second delivery never re-indexes.
func FuzzDelivery(f *testing.F) {
	f.Add([]byte(`{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"devops/docs","clone_url":"http://127.0.0.1:3000/devops/docs.git"}}`), "6a1c0d1e-0001", "push")
	f.Add([]byte(`{"ref":""}`), "", "push")
	f.Add([]byte(`[1,2,3]`), "x", "issues")
	f.Add([]byte(`{"ref":"refs/tags/v1","repository":{"ssh_url":"git@h:o/r.git"}}`), "\x00", "")
	secret := "0123456789abcdef"
	f.Fuzz(func(t *testing.T, body []byte, id, event string) {
		fired := 0
		h := &Handler{Secret: []byte(secret), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Trigger: func([]string) { fired++ },
			Match: func(p Push) []string {
				if SameRepo("http://127.0.0.1:3000/devops/docs.git", p) {
					return []string{"docs"}
				}
				return nil
			}}
		send := func() int {
			req, err := http.NewRequest("POST", "/webhook/gitea", bytesReader(body))
			if err != nil {
				t.Skip()
			}
			req.Header.Set("X-Gitea-Signature", sign(secret, string(body)))
			req.Header.Set("X-Gitea-Event", event)
			req.Header.Set("X-Gitea-Delivery", id)
			rec := newRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		first, second := send(), send()
		trimmed := strings.TrimSpace(id)
		if trimmed == "" || len(trimmed) > 128 {
			if first != http.StatusBadRequest || second != http.StatusBadRequest {
				t.Fatalf("a delivery without a usable id answered %d, then %d", first, second)
			}
		} else {
			switch first {
			case http.StatusOK, http.StatusAccepted, http.StatusBadRequest:
			default:
				t.Fatalf("first delivery answered %d", first)
			}
			if second != http.StatusConflict {
				t.Fatalf("a replay answered %d after %d", second, first)
			}
		}
		if fired > 1 {
			t.Fatalf("re-indexed %d times", fired)
		}
	})
}
