// Package webhook receives Gitea push events: POST /webhook/gitea with
// the X-Gitea-Signature header (hex HMAC-SHA256 of the body with the
// shared secret). A valid push re-indexes the sources that follow the
// pushed repository and branch; anything else is refused and changes
// nothing.
//
// A delivery is accepted once. Gitea names each delivery (X-Gitea-Delivery,
// a UUID), but the signature covers the body only, so a captured delivery
// could be sent again under a new id: a delivery is refused when its id,
// or its signed body, was already accepted within ReplayTTL. Gitea sends
// no delivery time, in a header or in the signed body (the payload's
// timestamps are the commits' own, set by whoever made them and years old
// after a rebase), so there is no time window to check; the bounded set
// of what was seen is the replay defence.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Push is the part of Gitea's push payload the index needs.
type Push struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Repository struct {
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

// Handler verifies and dispatches pushes.
type Handler struct {
	Secret []byte
	// Match names the sources that follow a repository (any of its URLs)
	// at a branch or tag ("refs/heads/main").
	Match func(p Push) []string
	// Trigger queues a re-index of the named sources.
	Trigger func(names []string)
	Log     *slog.Logger
	// Now is the clock (tests move it).
	Now func() time.Time

	seenOnce sync.Once
	seen     *seenSet
}

// Replay bounds: how long, and how many, accepted deliveries are kept.
const (
	ReplayTTL  = 7 * 24 * time.Hour
	ReplayKeep = 1 << 16
)

// seenSet holds keys for a time, the oldest dropped past a size.
type seenSet struct {
	mu    sync.Mutex
	at    map[string]time.Time
	order []string
}

// addOnce records keys, or returns one already recorded (and not yet
// expired), recording nothing.
func (s *seenSet) addOnce(now time.Time, keys ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 0 {
		k := s.order[0]
		if t, ok := s.at[k]; ok && now.Sub(t) < ReplayTTL && len(s.at) < ReplayKeep {
			break
		}
		delete(s.at, k)
		s.order = s.order[1:]
	}
	for _, k := range keys {
		if _, ok := s.at[k]; ok {
			return k
		}
	}
	for _, k := range keys {
		s.at[k] = now
		s.order = append(s.order, k)
	}
	return ""
}

// maxBody bounds a payload (Gitea's pushes are far smaller).
const maxBody = 5 << 20

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a Gitea push event here", http.StatusMethodNotAllowed)
		return
	}
	if len(h.Secret) == 0 {
		http.Error(w, "webhook disabled: the server has no --webhook-secret-file", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if !Valid(h.Secret, body, r.Header.Get("X-Gitea-Signature")) {
		h.Log.Warn("webhook refused: bad signature", "remote", r.RemoteAddr, "event", r.Header.Get("X-Gitea-Event"))
		http.Error(w, "signature does not match: check the webhook's secret", http.StatusUnauthorized)
		return
	}
	// Only signed deliveries are remembered: no one else can fill the set.
	id := strings.TrimSpace(r.Header.Get("X-Gitea-Delivery"))
	if id == "" || len(id) > 128 {
		http.Error(w, "no X-Gitea-Delivery header (or longer than 128 bytes): deliveries come from Gitea, which names each one", http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	h.seenOnce.Do(func() { h.seen = &seenSet{at: map[string]time.Time{}} })
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	if dup := h.seen.addOnce(now, "id:"+id, "body:"+hex.EncodeToString(sum[:])); dup != "" {
		what := "delivery " + id
		if strings.HasPrefix(dup, "body:") {
			what = "the same payload"
		}
		h.Log.Warn("webhook refused: replayed delivery", "remote", r.RemoteAddr, "delivery", id, "seen", strings.SplitN(dup, ":", 2)[0])
		http.Error(w, what+" was already received: a replayed delivery is refused", http.StatusConflict)
		return
	}
	if ev := r.Header.Get("X-Gitea-Event"); ev != "" && ev != "push" {
		fmt.Fprintf(w, "event %q ignored: only push re-indexes\n", ev)
		return
	}
	var p Push
	if err := json.Unmarshal(body, &p); err != nil || p.Ref == "" {
		http.Error(w, "not a push payload: want ref and repository", http.StatusBadRequest)
		return
	}
	names := h.Match(p)
	if len(names) == 0 {
		fmt.Fprintf(w, "no source follows %s at %s\n", p.Repository.FullName, p.Ref)
		return
	}
	h.Log.Info("webhook: re-indexing", "repository", p.Repository.FullName, "ref", p.Ref, "after", p.After, "sources", names)
	h.Trigger(names)
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "re-indexing %s\n", strings.Join(names, ", "))
}

// Valid checks a hex HMAC-SHA256 signature of body in constant time.
func Valid(secret, body []byte, signature string) bool {
	sig, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(signature), "sha256="))
	if err != nil || len(sig) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(sig, m.Sum(nil))
}

// SameRepo compares a source's git URL with a pushed repository's URLs,
// ignoring scheme, credentials, a trailing .git and case.
func SameRepo(sourceURL string, p Push) bool {
	want := normalize(sourceURL)
	for _, u := range []string{p.Repository.CloneURL, p.Repository.SSHURL, p.Repository.HTMLURL} {
		if u != "" && normalize(u) == want {
			return true
		}
	}
	return false
}

func normalize(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if at := strings.LastIndex(u, "@"); at >= 0 {
		u = u[at+1:]
	}
	u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	// ssh's host:owner/repo form
	return strings.Replace(u, ":", "/", 1)
}
