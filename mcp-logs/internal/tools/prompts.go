package tools

import (
	"fmt"

	"github.com/opsmcp/opsmcp/shared/prompt"
)

// Prompts are mcp-logs' MCP prompts: the investigations the team runs
// most often, as slash commands.
func Prompts() []prompt.Prompt {
	return []prompt.Prompt{{
		Name:        "logs_errors_around_deploy",
		Title:       "Errors around a deploy",
		Description: "Compare a service's errors before and after a deploy time: new error patterns, rates, first occurrences.",
		Tools:       []string{"logs_label_values", "logs_stats", "logs_patterns", "logs_query"},
		Args: []prompt.Arg{
			{Name: "service", Description: "value of the service label (or app, job) in Loki", Kind: prompt.Name, Required: true},
			{Name: "deployed_at", Description: "when the deploy happened", Kind: prompt.Time, Required: true},
			{Name: "window", Description: "how far to look on each side (default 30m)", Kind: prompt.Time},
		},
		Text: func(a map[string]string) string {
			w := a["window"]
			if w == "" {
				w = "30m"
			}
			return fmt.Sprintf(`Find errors in service %[1]s around its deploy at %[2]s, looking %[3]s before and %[3]s after.
1. logs_label_values for service (and app, job) to find the label that holds %[1]s; call it L below.
2. logs_stats for {L="%[1]s"} over both windows: did the volume change?
3. logs_patterns for {L="%[1]s"} |~ "(?i)error|panic|fatal|exception" in the window before and the window after: which patterns are new after the deploy, and which grew?
4. logs_query for each new pattern (limit 20, direction forward) to find its first occurrence and a few full lines.
Answer with what is new or worse after the deploy, when it started relative to %[2]s, and sample lines (they are masked). Say so if nothing changed.`, a["service"], a["deployed_at"], w)
		},
	}, {
		Name:        "logs_first_error",
		Title:       "When did an error start?",
		Description: "Find when an error pattern first appeared in a service's logs and what came just before it.",
		Tools:       []string{"logs_query", "logs_patterns"},
		Args: []prompt.Arg{
			{Name: "service", Description: "value of the service label in Loki", Kind: prompt.Name, Required: true},
			{Name: "since", Description: "how far back to look (default 1d)", Kind: prompt.Time},
		},
		Text: func(a map[string]string) string {
			since := a["since"]
			if since == "" {
				since = "1d"
			}
			return fmt.Sprintf(`Find when errors started in service %[1]s over the last %[2]s.
1. logs_patterns for {service="%[1]s"} |~ "(?i)error|panic|fatal" since %[2]s: the main error patterns.
2. For the top pattern, logs_query with direction forward and limit 5: its first occurrence.
3. logs_query for {service="%[1]s"} in the minute before it: what happened just before.
Answer with the first occurrence, the lines before it, and a guess at the trigger marked as a guess.`, a["service"], since)
		},
	}}
}
