package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The reverse proxies and forward auth of e2e/proxy, from the cache
// e2e/upstreams/parts/{nginx,traefik,oauth2-proxy}.sh fill.

// NginxBin unpacks (once) Debian 12's nginx and returns its binary.
func NginxBin() (string, error) {
	bin, err := Upstreams("nginx")
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(bin), "nginx-1.22.1", "root", "usr", "sbin", "nginx"), nil
}

// StartNginx checks (nginx -t) and runs nginx in the foreground with the
// main configuration main (which must say `daemon off;` and set its pid,
// error log and temp paths under dir), then waits until addr accepts
// connections.
func StartNginx(ctx context.Context, dir, main, addr string) (*Proc, error) {
	bin, err := NginxBin()
	if err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, bin, "-p", dir, "-e", "stderr", "-c", main, "-t").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t: %w: %s", err, out)
	}
	p, err := Start(dir, "nginx", bin, "-p", dir, "-e", "stderr", "-c", main)
	if err != nil {
		return nil, err
	}
	return p, waitListening(ctx, p, addr)
}

// StartTraefik builds (once) Traefik and runs it with the static
// configuration given as flags, waiting until addr accepts connections.
func StartTraefik(ctx context.Context, dir, addr string, args ...string) (*Proc, error) {
	bin, err := Upstreams("traefik")
	if err != nil {
		return nil, err
	}
	p, err := Start(dir, "traefik", filepath.Join(bin, "traefik-v3.6.12"), args...)
	if err != nil {
		return nil, err
	}
	return p, waitListening(ctx, p, addr)
}

// StartOAuth2Proxy builds (once) oauth2-proxy and runs it on addr with
// args, as name, waiting for its /ping.
func StartOAuth2Proxy(ctx context.Context, dir, name, addr string, args ...string) (*Proc, error) {
	bin, err := Upstreams("oauth2-proxy")
	if err != nil {
		return nil, err
	}
	p, err := Start(dir, name, filepath.Join(bin, "oauth2-proxy-v7.15.6"), append([]string{"--http-address=" + addr}, args...)...)
	if err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, p, "http://"+addr+"/ping", "", http.DefaultClient, 30*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// waitListening polls addr until it accepts a TCP connection.
func waitListening(ctx context.Context, p *Proc, addr string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited: %s", p.Name, p.Tail(3000))
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	return fmt.Errorf("%s not listening on %s after 60s: %s", p.Name, addr, p.Tail(3000))
}

// Substitute replaces each old string of pairs (old, new, old, new…) in
// text, failing unless each occurs exactly once: a test that runs a
// shipped configuration with its site-specific values swapped must not
// silently run something else when that file changes.
func Substitute(name, text string, pairs ...string) (string, error) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(text, pairs[i]); n != 1 {
			return "", fmt.Errorf("%s: %q occurs %d times, want once", name, pairs[i], n)
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	return text, nil
}

// WriteFiles writes each name under dir with its contents (0600).
func WriteFiles(dir string, files map[string]string) error {
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}
