package tools

import (
	"fmt"

	"github.com/opsmcp/opsmcp/shared/prompt"
)

// Prompts are mcp-gitea's MCP prompts: the investigations the team runs
// most often, as slash commands.
func Prompts() []prompt.Prompt {
	repo := prompt.Arg{Name: "repo", Description: "repository as owner/name", Kind: prompt.Name, Required: true}
	return []prompt.Prompt{{
		Name:        "gitea_review_pr_infra",
		Title:       "Review a pull request's infrastructure changes",
		Description: "Review the infrastructure-as-code a pull request changes (Terraform, Kubernetes manifests, Helm charts, compose files, pipelines) for risk.",
		Tools:       []string{"gitea_pulls", "gitea_diff", "gitea_iac", "gitea_file"},
		Args:        []prompt.Arg{repo, {Name: "pull", Description: "pull request number", Kind: prompt.Number, Required: true}},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Review the infrastructure changes of pull request #%[2]s in %[1]s.
1. gitea_pulls for %[1]s, number %[2]s: title, description, base and head.
2. gitea_diff of pull %[2]s: list the changed files; keep those that are infrastructure (*.tf, Kubernetes YAML, Chart.yaml/values*.yaml, docker-compose*.yml, CI pipelines, Dockerfiles).
3. gitea_iac on the head ref for those paths: the findings it reports.
4. gitea_file for context where a change depends on what it does not show (a module, a values file).
Answer with each risky change (what, where, why it is risky: exposure, privileges, deletion or replacement of resources, secrets, missing limits), then the safe ones in one line. Quote file:line.`, a["repo"], a["pull"])
		},
	}, {
		Name:        "gitea_recent_changes",
		Title:       "What changed recently in a path?",
		Description: "Summarise recent commits touching a path, who made them and why.",
		Tools:       []string{"gitea_commits", "gitea_diff"},
		Args:        []prompt.Arg{repo, {Name: "path", Description: "file or directory in the repository", Kind: prompt.Name, Required: true}},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Summarise recent changes to %[2]s in %[1]s.
1. gitea_commits for %[1]s, path %[2]s (limit 20).
2. gitea_diff of the most relevant commits.
Answer with a short dated list: what changed, who, and the reason the commit gives.`, a["repo"], a["path"])
		},
	}}
}
