// Package engine connects to Docker engines in Swarm mode, read-only by
// construction: every request goes through the shared read-only rule as a
// request hook of the Docker client, so nothing but GET and HEAD leaves
// the process. There is no code path for create, update, remove, exec or
// attach.
package engine

import (
	"fmt"
	"net/http"
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
	c, err := open(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker (DOCKER_HOST): %w", err)
	}
	h.clients["default"] = c
	for _, e := range extra {
		name, url, ok := strings.Cut(e, "=")
		if !ok || name == "" || url == "" {
			return nil, fmt.Errorf("--docker-host %q: use name=url, e.g. prod=tcp://10.0.0.5:2376", e)
		}
		c, err := open(client.WithHost(url))
		if err != nil {
			return nil, fmt.Errorf("--docker-host %s: %w", name, err)
		}
		h.clients[name] = c
	}
	return h, nil
}

func open(opt client.Opt) (*client.Client, error) {
	// Negotiation is the client's default: Debian's engine speaks 1.41.
	return client.New(opt, client.WithHTTPRequestHook(func(r *http.Request) error { return readonly.Check(r) }))
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
