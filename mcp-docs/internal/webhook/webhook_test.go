package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestHandler(t *testing.T) {
	var triggered []string
	h := &Handler{Secret: []byte("0123456789abcdef"), Log: slog.Default(),
		Trigger: func(n []string) { triggered = append(triggered, n...) },
		Match: func(p Push) []string {
			if p.Repository.FullName == "devops/docs" && p.Ref == "refs/heads/main" {
				return []string{"docs"}
			}
			return nil
		}}
	push := `{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"devops/docs"}}`
	other := `{"ref":"refs/heads/dev","after":"abc","repository":{"full_name":"devops/docs"}}`
	cases := []struct {
		name, method, body, sig, event string
		code                           int
		says                           string
		fires                          bool
	}{
		{"valid push", "POST", push, sign("0123456789abcdef", push), "push", 202, "re-indexing docs", true},
		{"bad signature", "POST", push, sign("wrong-secret-000", push), "push", 401, "signature does not match", false},
		{"no signature", "POST", push, "", "push", 401, "signature does not match", false},
		{"body changed after signing", "POST", strings.Replace(push, "main", "mainx", 1), sign("0123456789abcdef", push), "push", 401, "", false},
		{"another branch", "POST", other, sign("0123456789abcdef", other), "push", 200, "no source follows devops/docs at refs/heads/dev", false},
		{"not a push", "POST", push, sign("0123456789abcdef", push), "issues", 200, "ignored", false},
		{"GET", "GET", "", "", "", 405, "POST a Gitea push", false},
		{"garbage", "POST", "{", sign("0123456789abcdef", "{"), "push", 400, "not a push payload", false},
	}
	for i, c := range cases {
		triggered = nil
		h.seen = nil // each case a first delivery
		h.seenOnce = sync.Once{}
		req := httptest.NewRequest(c.method, "/webhook/gitea", strings.NewReader(c.body))
		req.Header.Set("X-Gitea-Signature", c.sig)
		req.Header.Set("X-Gitea-Event", c.event)
		req.Header.Set("X-Gitea-Delivery", fmt.Sprintf("delivery-%d", i))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, c.code, rec.Code, c.name)
		assert.Contains(t, rec.Body.String(), c.says, c.name)
		assert.Equal(t, c.fires, len(triggered) > 0, c.name)
	}
	off := &Handler{Log: slog.Default()}
	rec := httptest.NewRecorder()
	off.ServeHTTP(rec, httptest.NewRequest("POST", "/webhook/gitea", strings.NewReader(push)))
	assert.Equal(t, http.StatusNotFound, rec.Code, "no secret, no webhook")
}

func TestSameRepo(t *testing.T) {
	var p Push
	p.Repository.CloneURL = "http://127.0.0.1:3000/devops/docs.git"
	p.Repository.SSHURL = "git@127.0.0.1:devops/docs.git"
	for u, want := range map[string]bool{
		"http://127.0.0.1:3000/devops/docs.git":     true,
		"http://token@127.0.0.1:3000/devops/docs":   true,
		"HTTP://127.0.0.1:3000/DevOps/Docs.git/":    true,
		"ssh://git@127.0.0.1/devops/docs.git":       true,
		"http://127.0.0.1:3000/devops/docs-old.git": false,
	} {
		assert.Equal(t, want, SameRepo(u, p), u)
	}
}

func deliver(h *Handler, id, body, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/webhook/gitea", strings.NewReader(body))
	req.Header.Set("X-Gitea-Signature", sig)
	req.Header.Set("X-Gitea-Event", "push")
	if id != "" {
		req.Header.Set("X-Gitea-Delivery", id)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestReplayRefused: a delivery is accepted once; the same delivery id,
// or the same signed payload under a new id, is refused and re-indexes
// nothing; a delivery without an id is refused; the memory of deliveries
// expires after ReplayTTL and is kept to ReplayKeep entries.
func TestReplayRefused(t *testing.T) {
	fired := 0
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	secret := "0123456789abcdef"
	h := &Handler{Secret: []byte(secret), Log: slog.Default(), Now: func() time.Time { return now },
		Trigger: func([]string) { fired++ },
		Match:   func(Push) []string { return []string{"docs"} }}
	push := `{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"devops/docs"}}`
	sig := sign(secret, push)

	assert.Equal(t, http.StatusAccepted, deliver(h, "6a1c0d1e-0001", push, sig).Code)
	rec := deliver(h, "6a1c0d1e-0001", push, sig)
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Contains(t, rec.Body.String(), "delivery 6a1c0d1e-0001 was already received")
	rec = deliver(h, "6a1c0d1e-9999", push, sig)
	assert.Equal(t, http.StatusConflict, rec.Code, "the same payload under a new id")
	assert.Contains(t, rec.Body.String(), "the same payload was already received")
	rec = deliver(h, "", push, sig)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "X-Gitea-Delivery")
	assert.Equal(t, 1, fired, "only the first delivery re-indexed")

	// A bad signature is refused before it is remembered.
	other := strings.Replace(push, "abc", "def", 1)
	assert.Equal(t, http.StatusUnauthorized, deliver(h, "6a1c0d1e-0002", other, sign("wrong-secret-000", other)).Code)
	assert.Equal(t, http.StatusAccepted, deliver(h, "6a1c0d1e-0002", other, sign(secret, other)).Code)

	now = now.Add(ReplayTTL + time.Minute)
	assert.Equal(t, http.StatusAccepted, deliver(h, "6a1c0d1e-0001", push, sig).Code, "forgotten after ReplayTTL")
	assert.Equal(t, 3, fired)

	// Bounded: past ReplayKeep entries the oldest go.
	for i := 0; i < ReplayKeep; i++ {
		h.seen.addOnce(now, fmt.Sprintf("filler-%d", i))
	}
	assert.LessOrEqual(t, len(h.seen.at), ReplayKeep+1)
}
