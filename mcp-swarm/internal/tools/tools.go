// Package tools declares mcp-swarm's tools: one table, each entry a name,
// a description, schemas derived from its input and output types, and a
// handler that parses input, asks the engine, shapes output.
package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/opsmcp/opsmcp/mcp-swarm/internal/engine"
	"github.com/opsmcp/opsmcp/shared/fsroot"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// stackLabel is how docker stack deploy marks what belongs to a stack.
const stackLabel = "com.docker.stack.namespace"

// Server holds what the handlers need.
type Server struct {
	Hosts *engine.Hosts
	// ComposeRoots are the directories swarm_compose may read files from.
	ComposeRoots *fsroot.Set
}

// Tools is the table of mcp-swarm's tools.
func (s *Server) Tools() []tool.Tool {
	return s.upstreamErrors([]tool.Tool{
		tool.New[HostInput, InfoOutput]("swarm_info", "Describe the swarm",
			"The cluster: its ID, managers, node count, engine versions, and this engine's role.",
			s.info),
		tool.New[HostInput, NodesOutput]("swarm_nodes", "List swarm nodes",
			"Nodes with role, availability, state, manager status, labels, engine version, CPUs and memory.",
			s.nodes),
		tool.New[ServicesInput, ServicesOutput]("swarm_services", "List swarm services",
			"Services with mode, replicas running/desired, image (with digest), published ports, rollout state (updating, paused, completed, rollback_started, rollback_completed…) and last update; filter by stack and name.",
			s.services),
		tool.New[ServiceInput, ServiceOutput]("swarm_service", "Inspect one service",
			"One service in full (env values masked): spec, rollout state, its tasks per slot with state, desired state, error and exit code, and what changed against the previous spec after an update or rollback.",
			s.service),
		tool.New[TasksInput, TasksOutput]("swarm_tasks", "List tasks",
			"Tasks across services, newest first, filtered by service, stack, node or state (running, failed, rejected, shutdown, complete…), with errors and exit codes.",
			s.tasks),
		tool.New[StacksInput, StacksOutput]("swarm_stacks", "List stacks",
			"Stacks (grouped by the com.docker.stack.namespace label) with their services, networks, configs and secrets.",
			s.stacks),
		tool.New[LogsInput, LogsOutput]("swarm_logs", "Read service or task logs",
			"Logs of a service (merged across its tasks in time order) or one task: tail, since, RE2 grep, stdout and stderr kept apart, byte cap. Secrets in lines are masked.",
			s.logs),
		tool.New[HostInput, ObjectsOutput]("swarm_configs", "List configs",
			"Configs: name, labels, created, which services use them, and their data (masked).",
			s.configs),
		tool.New[HostInput, ObjectsOutput]("swarm_secrets", "List secrets",
			"Secrets: name, labels, created, driver, which services use them. Secret values are never read (the engine does not return them).",
			s.secrets),
		tool.New[ComposeInput, ComposeOutput]("swarm_compose", "Compare a compose file with a stack",
			"Parses a docker-compose or stack file (given as text, or a path under the server's compose roots) and compares it with what is deployed in a stack: services missing or extra, and images, replicas, environment keys, ports and networks that differ.",
			s.compose),
	})
}

// HostInput selects an engine.
type HostInput struct {
	Host string `json:"host,omitempty" jsonschema:"docker host name (see swarm_info; default: the server's default engine)"`
}

func (s *Server) engine(name string) (*client.Client, error) {
	if name != "" && !nameOK(name) {
		return nil, tool.Argf("host %s is not a docker host name: use one of %s (see swarm_info)", shown(name), strings.Join(s.Hosts.Names(), ", "))
	}
	c, err := s.Hosts.Get(name)
	if err != nil {
		return nil, tool.Argf("%v", err)
	}
	return c, nil
}

// InfoOutput is swarm_info's structured result.
type InfoOutput struct {
	Hosts          []string `json:"hosts" jsonschema:"docker hosts this server may read"`
	ClusterID      string   `json:"cluster_id"`
	Created        string   `json:"created"`
	NodeRole       string   `json:"node_role" jsonschema:"this engine's role"`
	Managers       int      `json:"managers"`
	Nodes          int      `json:"nodes"`
	EngineVersions []string `json:"engine_versions"`
	APIVersion     string   `json:"api_version"`
	Services       int      `json:"services"`
}

func (s *Server) info(ctx context.Context, c *tool.Call, in HostInput) (*tool.Result, error) {
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	info, err := cl.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: engine info: %w", err)
	}
	sw := info.Info.Swarm
	if sw.LocalNodeState != swarm.LocalNodeStateActive {
		return nil, tool.Argf("this engine is not part of a swarm (node state %q)", sw.LocalNodeState)
	}
	out := InfoOutput{Hosts: s.Hosts.Names(), NodeRole: "worker", Managers: sw.Managers, Nodes: sw.Nodes, APIVersion: cl.ClientVersion()}
	// A worker's info has no cluster: the engine sends none.
	if sw.Cluster != nil {
		out.ClusterID, out.Created = sw.Cluster.ID, tool.Date(sw.Cluster.CreatedAt)
	}
	if sw.ControlAvailable {
		out.NodeRole = "manager"
	}
	nodes, err := cl.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list nodes: %w", err)
	}
	versions := map[string]bool{}
	for _, n := range nodes.Items {
		versions[n.Description.Engine.EngineVersion] = true
	}
	for v := range versions {
		out.EngineVersions = append(out.EngineVersions, v)
	}
	sort.Strings(out.EngineVersions)
	svcs, err := cl.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list services: %w", err)
	}
	// Only the services the caller may see count.
	for _, sv := range svcs.Items {
		if visible(c, sv.Spec.Labels) {
			out.Services++
		}
	}
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return fmt.Sprintf("swarm %s (created %s): %v nodes, %v managers, %v services; engines %v; API %s; this engine is a %s; hosts %v\n",
			tool.Str(d["cluster_id"]), tool.Str(d["created"]), d["nodes"], d["managers"], d["services"], d["engine_versions"], tool.Str(d["api_version"]), tool.Str(d["node_role"]), d["hosts"])
	}}, nil
}

// NodeInfo is one node.
type NodeInfo struct {
	ID           string            `json:"id"`
	Hostname     string            `json:"hostname"`
	Role         string            `json:"role"`
	Availability string            `json:"availability"`
	State        string            `json:"state"`
	Address      string            `json:"address,omitempty"`
	Manager      string            `json:"manager,omitempty" jsonschema:"leader, reachable or unreachable, for managers"`
	Engine       string            `json:"engine"`
	CPUs         float64           `json:"cpus"`
	MemoryBytes  int64             `json:"memory_bytes"`
	Labels       map[string]string `json:"labels,omitempty"`
}

// NodesOutput is swarm_nodes' structured result.
type NodesOutput struct {
	Items []NodeInfo `json:"items"`
}

func (s *Server) nodes(ctx context.Context, c *tool.Call, in HostInput) (*tool.Result, error) {
	cl, err := s.engine(in.Host)
	if err != nil {
		return nil, err
	}
	nodes, err := cl.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker engine: list nodes: %w", err)
	}
	out := NodesOutput{Items: []NodeInfo{}}
	for _, n := range nodes.Items {
		ni := NodeInfo{ID: n.ID, Hostname: n.Description.Hostname, Role: string(n.Spec.Role), Availability: string(n.Spec.Availability),
			State: string(n.Status.State), Address: n.Status.Addr, Engine: n.Description.Engine.EngineVersion,
			CPUs: float64(n.Description.Resources.NanoCPUs) / 1e9, MemoryBytes: n.Description.Resources.MemoryBytes, Labels: maskedMap(c, n.Spec.Labels)}
		if m := n.ManagerStatus; m != nil {
			ni.Manager = string(m.Reachability)
			if m.Leader {
				ni.Manager = "leader"
			}
		}
		out.Items = append(out.Items, ni)
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Hostname < out.Items[j].Hostname })
	return &tool.Result{Data: out, Render: func(d map[string]any) string {
		return tool.Rows(d, func(m map[string]any) string {
			return fmt.Sprintf("%s  %s %s %s %s  engine %s  %v CPUs  %v bytes", tool.Str(m["hostname"]), tool.Str(m["role"]), tool.Str(m["availability"]), tool.Str(m["state"]), tool.Str(m["manager"]), tool.Str(m["engine"]), m["cpus"], m["memory_bytes"])
		})
	}}, nil
}
