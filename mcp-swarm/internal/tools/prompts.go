package tools

import (
	"fmt"

	"github.com/opsmcp/opsmcp/shared/prompt"
)

// Prompts are mcp-swarm's MCP prompts: the investigations the team runs
// most often, as slash commands.
func Prompts() []prompt.Prompt {
	svc := prompt.Arg{Name: "service", Description: "service name (stack_service)", Kind: prompt.Name, Required: true}
	return []prompt.Prompt{{
		Name:        "swarm_service_not_converging",
		Title:       "Why is a service not converging?",
		Description: "Find why a Swarm service does not reach its desired replicas: its update state, failed tasks, their errors and logs.",
		Tools:       []string{"swarm_service", "swarm_tasks", "swarm_logs", "swarm_nodes"},
		Args:        []prompt.Arg{svc},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Find out why Swarm service %[1]s is not converging.
1. swarm_service %[1]s: desired vs running replicas, its rollout state and message, and what changed from the previous spec.
2. swarm_tasks for service %[1]s: the failed, rejected or pending tasks, with their error, exit code and node.
3. swarm_logs of a failed task (tail 200).
4. If tasks stay pending, swarm_nodes: is any node available with the resources, labels or constraints the service needs?
Answer with the cause, the evidence (quote the task error or log line) and what to change.`, a["service"])
		},
	}, {
		Name:        "swarm_stack_drift",
		Title:       "Does a stack match its compose file?",
		Description: "Compare a deployed stack with its compose file and list what differs.",
		Tools:       []string{"swarm_stacks", "swarm_compose", "swarm_services"},
		Args:        []prompt.Arg{{Name: "stack", Description: "stack name", Kind: prompt.Name, Required: true}},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Check whether stack %[1]s matches its compose file.
1. swarm_stacks: confirm %[1]s is deployed and list its services.
2. swarm_compose for stack %[1]s: what differs between the file and what runs, service by service.
3. swarm_services in stack %[1]s: running vs desired replicas.
Answer with the differences (file -> deployed) and whether any explains a problem.`, a["stack"])
		},
	}}
}
