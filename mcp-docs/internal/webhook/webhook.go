// Package webhook receives Gitea push events: POST /webhook/gitea with
// the X-Gitea-Signature header (hex HMAC-SHA256 of the body with the
// shared secret). A valid push re-indexes the sources that follow the
// pushed repository and branch; anything else is refused and changes
// nothing.
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
