// Command mcp-swarm is a read-only MCP server for Docker Swarm: nodes,
// services, tasks, rollouts, stacks, configs, secrets' metadata, logs and
// compose drift.
package main

import (
	"context"
	"log/slog"

	"github.com/moby/moby/client"
	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/mcp-swarm/internal/engine"
	"github.com/opsmcp/opsmcp/mcp-swarm/internal/tools"
	"github.com/opsmcp/opsmcp/shared/fsroot"
	"github.com/opsmcp/opsmcp/shared/serve"
	"github.com/opsmcp/opsmcp/shared/tool"
)

var version = "dev"

func main() {
	tuneGC()
	var (
		hosts []string
		roots []string
	)
	spec := serve.Spec{
		Name: "mcp-swarm", Version: version, Title: "read-only Docker Swarm MCP server",
		Upstream:   tools.Upstream,
		MemoryCost: tools.MemoryCost, MemoryNarrow: " (a smaller tail, a since, one task)",
		Instructions: "Read-only access to Docker Swarm. swarm_services and swarm_tasks show what runs and what fails; swarm_service explains one service and what its last update changed; swarm_logs reads logs; swarm_stacks and swarm_compose compare stacks with their files. Secrets are masked; secret values are never read.",
		Prompts:      tools.Prompts(),
		Tools:        func() []tool.Tool { return (&tools.Server{}).Tools() },
	}
	serve.Main(spec, 8083, func(fs *pflag.FlagSet) {
		fs.StringArrayVar(&hosts, "docker-host", nil, "further engines as name=url[,certs=DIR] (tcp://host:2376,certs=DIR with ca.pem[, cert.pem, key.pem]; unix:///path; ssh://user@host); the default engine comes from DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH (repeatable)")
		fs.StringArrayVar(&roots, "compose-root", nil, "directory swarm_compose may read compose files from (repeatable)")
	}, func(ctx context.Context, log *slog.Logger) ([]tool.Tool, func(context.Context) error, error) {
		h, err := engine.New(hosts)
		if err != nil {
			return nil, nil, err
		}
		ready := func(ctx context.Context) error {
			cl, err := h.Get("")
			if err != nil {
				return err
			}
			if _, err := cl.Ping(ctx, client.PingOptions{}); err != nil {
				return tools.UpstreamErr(cl, err)
			}
			return nil
		}
		croots, err := fsroot.New("compose roots", roots)
		if err != nil {
			return nil, nil, err
		}
		s := &tools.Server{Hosts: h, ComposeRoots: croots}
		return s.Tools(), ready, nil
	})
}
