package proxy_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestZZExpiredTokenRefused (last: it restarts Gitea): with Gitea's
// tokens living 3 s, a fresh ID token for the opsmcp client is accepted
// by the servers, then once expired refused by both proxies' forward auth
// and by every server and the orchestrator.
func TestZZExpiredTokenRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := w.forge.SetTokenLifetime(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	tok, err := w.forge.IDToken(ctx, browser(t, alice), w.clientID, w.secret, w.nginx.url+"/oauth2/callback", "openid profile email groups")
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := claims(t, tok)["exp"].(float64)
	if left := time.Until(time.Unix(int64(exp), 0)); left > 5*time.Second || left < 0 {
		t.Fatalf("the short-lived token expires in %s", left)
	}
	k8s := w.backends[0]
	if status, body := post(t, &http.Client{Timeout: 30 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/mcp", k8s.port), tok); status != http.StatusOK {
		t.Fatalf("the fresh short-lived token: %d %.200s", status, body)
	}
	time.Sleep(time.Until(time.Unix(int64(exp)+1, 0)))
	refusedEverywhere(t, "an expired Gitea token", tok)
}
