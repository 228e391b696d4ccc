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
	"sort"
	"strings"

	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/shared/readonly"
)

// Hosts are the engines a server may read, by name.
type Hosts struct {
	clients map[string]*client.Client
	def     string
}

// New connects to the default engine (DOCKER_HOST, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH, or the local socket) as "default", and to each
// name=url in extra (tcp://, unix://, ssh:// are the client's to handle).
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
			return nil, fmt.Errorf("--docker-host %q: use name=url, e.g. prod=tcp://10.0.0.5:2376", e)
		}
		opts := []client.Opt{client.WithHost(url)}
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
