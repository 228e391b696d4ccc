package harness

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LogLine is one line a container wrote, and when.
type LogLine struct {
	Time time.Time
	Text string
}

// ContainerLog is what a container wrote, and what its previous (crashed)
// instance wrote.
type ContainerLog struct {
	Current, Previous []LogLine
}

// FakeKubelet stands in for a node's kubelet. It is a fake: no kubelet can
// run on this machine (there is no container runtime), so pods never start
// and have no logs. It serves the one kubelet endpoint the API server
// proxies pod logs to, GET /containerLogs/{namespace}/{pod}/{container},
// with the kubelet's query parameters (tailLines, sinceSeconds, sinceTime,
// timestamps, previous, limitBytes) and its TLS, so the real API server's
// log path runs end to end.
type FakeKubelet struct {
	Port int
	srv  *http.Server
	logs map[string]ContainerLog // "namespace/pod/container"

	mu       sync.Mutex
	requests []string
}

// StartFakeKubelet serves logs over TLS on 127.0.0.1 with a certificate
// from ca (the API server verifies it with --kubelet-certificate-authority).
func StartFakeKubelet(ca *CA, logs map[string]ContainerLog) (*FakeKubelet, error) {
	certPEM, keyPEM, err := ca.Serving("127.0.0.1", "localhost")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, err
	}
	k := &FakeKubelet{Port: ln.Addr().(*net.TCPAddr).Port, logs: logs}
	k.srv = &http.Server{Handler: http.HandlerFunc(k.serve), ReadHeaderTimeout: 5 * time.Second}
	go k.srv.Serve(ln)
	return k, nil
}

// Stop stops the server.
func (k *FakeKubelet) Stop() { k.srv.Close() }

// Requests lists "METHOD /path?query" of every request served.
func (k *FakeKubelet) Requests() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.requests...)
}

func (k *FakeKubelet) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.requests = append(k.requests, r.Method+" "+r.URL.RequestURI())
	k.mu.Unlock()
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	ns, pod, container := parts[0], parts[1], parts[2]
	log, ok := k.logs[ns+"/"+pod+"/"+container]
	if !ok {
		http.Error(w, fmt.Sprintf("container %q in pod %q is not available", container, pod), http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	lines := log.Current
	if q.Get("previous") == "true" {
		if len(log.Previous) == 0 {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod), http.StatusBadRequest)
			return
		}
		lines = log.Previous
	}
	var since time.Time
	if s := q.Get("sinceSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			http.Error(w, "bad sinceSeconds", http.StatusBadRequest)
			return
		}
		since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			http.Error(w, "bad sinceTime", http.StatusBadRequest)
			return
		}
		since = t
	}
	var kept []LogLine
	for _, l := range lines {
		if !l.Time.Before(since) {
			kept = append(kept, l)
		}
	}
	if s := q.Get("tailLines"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			http.Error(w, "bad tailLines", http.StatusBadRequest)
			return
		}
		if n < len(kept) {
			kept = kept[len(kept)-n:]
		}
	}
	var b strings.Builder
	for _, l := range kept {
		if q.Get("timestamps") == "true" {
			b.WriteString(l.Time.UTC().Format(time.RFC3339Nano) + " ")
		}
		b.WriteString(l.Text + "\n")
	}
	out := b.String()
	if s := q.Get("limitBytes"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(out) {
			out = out[:n]
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, out)
}
