package tools

import (
	"fmt"

	"github.com/opsmcp/opsmcp/shared/prompt"
)

// Prompts are mcp-docs' MCP prompts: the investigations the team runs
// most often, as slash commands.
func Prompts() []prompt.Prompt {
	return []prompt.Prompt{{
		Name:        "docs_runbook_for_alert",
		Title:       "Find the runbook for an alert",
		Description: "Find the runbook for an alert and the steps it prescribes, with citations.",
		Tools:       []string{"docs_search", "docs_get"},
		Args:        []prompt.Arg{{Name: "alert", Description: "alert name, e.g. KubePodCrashLooping", Kind: prompt.Name, Required: true}},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Find the runbook for alert %[1]s.
1. docs_search for %[1]s, first with path runbooks/*, then anywhere.
2. docs_get the best hit with mode section, to read the whole procedure.
Answer with the steps in order, each with its citation (path#heading@version). Say so if no runbook covers it.`, a["alert"])
		},
	}, {
		Name:        "docs_decision_record",
		Title:       "Why was it built this way?",
		Description: "Find the architecture decision records about a component and summarise the decision and its reasons.",
		Tools:       []string{"docs_search", "docs_get", "docs_sources"},
		Args:        []prompt.Arg{{Name: "component", Description: "component or topic, e.g. ingress", Kind: prompt.Name, Required: true}},
		Text: func(a map[string]string) string {
			return fmt.Sprintf(`Explain why %[1]s is built the way it is.
1. docs_sources: check the index is fresh.
2. docs_search for %[1]s decision, first with path adr/* or docs/adr/*, then anywhere.
3. docs_get each relevant record with mode section.
Answer with the decision, its context, the alternatives rejected and their reasons, with citations.`, a["component"])
		},
	}}
}
