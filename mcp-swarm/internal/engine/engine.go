// Package engine connects to Docker engines in Swarm mode, read-only by
// construction: every request goes through the shared read-only rule as a
// request hook of the Docker client, so nothing but GET and HEAD leaves
// the process. There is no code path for create, update, remove, exec or
// attach.
package engine

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

// hostName is the grammar of an engine's name, the one Docker uses for
// object names.
var hostName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// Hosts are the engines a server may read, by name.
type Hosts struct {
	clients map[string]*client.Client
	def     string
}

// New connects to the default engine (DOCKER_HOST, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH, or the local socket) as "default", and to each
// name=url[,certs=DIR] in extra (tcp:// with TLS from DIR, unix://, ssh://).
func New(extra []string) (*Hosts, error) {
	h := &Hosts{clients: map[string]*client.Client{}, def: "default"}
	def := []client.Opt{client.FromEnv}
	if env := os.Getenv("DOCKER_HOST"); strings.HasPrefix(env, "ssh://") {
		opts, err := sshOpts(env)
		if err != nil {
			return nil, fmt.Errorf("DOCKER_HOST: %w", err)
		}
		def = opts
	}
	c, err := open(def...)
	if err != nil {
		return nil, fmt.Errorf("docker (DOCKER_HOST): %w", err)
	}
	h.clients["default"] = c
	for _, e := range extra {
		name, url, ok := strings.Cut(e, "=")
		if !ok || name == "" || url == "" {
			return nil, fmt.Errorf("--docker-host %q: use name=url[,certs=DIR], e.g. prod=tcp://10.0.0.5:2376,certs=/etc/opsmcp/docker-prod", e)
		}
		if !hostName.MatchString(name) {
			return nil, fmt.Errorf("--docker-host %q: the name %q must be letters, digits, '_', '.' and '-', starting with a letter or digit (it is what callers pass as host)", e, name)
		}
		if _, dup := h.clients[name]; dup {
			return nil, fmt.Errorf("--docker-host %q: the name %q is already taken", e, name)
		}
		url, certs, _ := strings.Cut(url, ",certs=")
		opts := []client.Opt{client.WithHost(url)}
		if certs != "" {
			opt, err := tlsFrom(certs)
			if err != nil {
				return nil, fmt.Errorf("--docker-host %s: %w", name, err)
			}
			opts = append(opts, opt)
		}
		if strings.HasPrefix(url, "ssh://") {
			if opts, err = sshOpts(url); err != nil {
				return nil, fmt.Errorf("--docker-host %s: %w", name, err)
			}
		}
		c, err := open(opts...)
		if err != nil {
			return nil, fmt.Errorf("--docker-host %s: %w", name, err)
		}
		h.clients[name] = c
	}
	return h, nil
}

// tlsFrom reads a docker certificate directory: ca.pem verifies the
// engine; cert.pem and key.pem, when present, authenticate this client.
func tlsFrom(dir string) (client.Opt, error) {
	ca := filepath.Join(dir, "ca.pem")
	if _, err := os.Stat(ca); err != nil {
		return nil, fmt.Errorf("certs %s: %w", dir, err)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := os.Stat(cert); err != nil {
		cert, key = "", ""
	}
	return client.WithTLSClientConfig(ca, cert, key), nil
}

func open(opts ...client.Opt) (*client.Client, error) {
	// Negotiation is the client's default: Debian's engine speaks 1.41.
	return client.New(append(opts, client.WithHTTPRequestHook(func(r *http.Request) error { return readonly.Check(r) }))...)
}

// Get returns the named engine ("" is the default).
func (h *Hosts) Get(name string) (*client.Client, error) {
	if name == "" {
		name = h.def
	}
	c, ok := h.clients[name]
	if !ok {
		return nil, fmt.Errorf("unknown docker host %q; known: %s", name, strings.Join(h.Names(), ", "))
	}
	return c, nil
}

// Names lists the engines.
func (h *Hosts) Names() []string {
	var out []string
	for n := range h.clients {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
