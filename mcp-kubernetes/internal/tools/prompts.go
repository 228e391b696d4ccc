package tools

import (
	"fmt"

	"github.com/opsmcp/opsmcp/shared/prompt"
)

// Prompts are mcp-kubernetes' MCP prompts: the investigations the team
// runs most often, as slash commands.
func Prompts() []prompt.Prompt {
	ns := prompt.Arg{Name: "namespace", Description: "namespace of the workload", Kind: prompt.Name, Required: true}
	return []prompt.Prompt{{
		Name:        "k8s_pod_not_ready",
		Title:       "Why is a pod not ready?",
		Description: "Find why a pod is not Ready: its conditions, container states, events and recent logs.",
		Tools:       []string{"k8s_get", "k8s_describe", "k8s_events", "k8s_logs"},
		Args:        []prompt.Arg{ns, {Name: "pod", Description: "pod name", Kind: prompt.Name, Required: true}},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Find out why pod %[1]s in namespace %[2]s is not ready.
1. k8s_describe the pod (kind pod, name %[1]s, namespace %[2]s): read its conditions, each container's state, last state, restart count and readiness probe.
2. k8s_events for the pod (namespace %[2]s, object pod/%[1]s): scheduling failures, image pulls, probe failures, OOM kills.
3. k8s_logs of the failing container (with previous=true if it restarted), tail 200.
4. If it waits on something else (a ConfigMap, a Secret, a PVC, a node), k8s_get that object.
Answer with the cause, the evidence (quote the condition, event or log line) and what to change. Do not guess beyond what the tools show.`, a["pod"], a["namespace"])
		},
	}, {
		Name:        "k8s_rollout_changes",
		Title:       "What changed in a rollout?",
		Description: "Compare a Deployment's current ReplicaSet with the previous one, and say what changed and how the rollout is going.",
		Tools:       []string{"k8s_get", "k8s_describe", "k8s_events"},
		Args:        []prompt.Arg{ns, {Name: "deployment", Description: "Deployment name", Kind: prompt.Name, Required: true}},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Say what changed in the latest rollout of Deployment %[1]s in namespace %[2]s.
1. k8s_describe deployment %[1]s: its revision, conditions (Progressing, Available), replicas updated/ready/available.
2. k8s_get replicasets in namespace %[2]s with the Deployment's label selector, output yaml: find the two newest revisions (annotation deployment.kubernetes.io/revision).
3. Compare their pod templates: images, env, args, resources, probes, volumes.
4. k8s_events in namespace %[2]s for the Deployment and its ReplicaSets since the rollout began.
Answer with the change (old -> new, field by field), whether the rollout finished, and any failure it caused, quoting what the tools returned.`, a["deployment"], a["namespace"])
		},
	}, {
		Name:        "k8s_namespace_warnings",
		Title:       "What is wrong in a namespace?",
		Description: "Survey a namespace's Warning events and unhealthy pods.",
		Tools:       []string{"k8s_events", "k8s_get"},
		Args:        []prompt.Arg{ns},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Survey namespace %[1]s for problems.
1. k8s_events in namespace %[1]s with type Warning: group them by object and reason.
2. k8s_get pods in namespace %[1]s: list those not Running/Succeeded or with restarts.
Answer with a short list of problems, most urgent first, each with its evidence.`, a["namespace"])
		},
	}}
}
