package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/auth"
	sharedkubectl "github.com/opsmcp/opsmcp/shared/kubectl"
	"github.com/opsmcp/opsmcp/shared/policy"
)

// TestKubectlFastPathPolicyPerVerb: for every subcommand shared/kubectl
// maps to a tool, a role with k8s_kubectl but without that tool is refused
// before anything runs, and a role with both runs it. Verbs come from
// kubectl.Verbs(), so a pair added there is covered here.
func TestKubectlFastPathPolicyPerVerb(t *testing.T) {
	verbs := sharedkubectl.Verbs()
	require.NotEmpty(t, verbs)
	for _, verb := range verbs {
		tool, ok := sharedkubectl.ToolFor(verb)
		require.True(t, ok, verb)
		t.Run(verb, func(t *testing.T) {
			// Every kubectl tool but the one this verb maps to.
			var others []string
			for _, v := range verbs {
				if o, _ := sharedkubectl.ToolFor(v); o != tool && !slices.Contains(others, o) {
					others = append(others, fmt.Sprintf("%q", o))
				}
			}
			pol, err := policy.Parse([]byte(fmt.Sprintf("roles:\n  without:\n    tools: [\"k8s_kubectl\", %s]\n  with:\n    tools: [\"k8s_kubectl\", %q]\n",
				strings.Join(others, ", "), tool)))
			require.NoError(t, err)
			a, s := agent(t)
			a.Policy = pol
			line := "kubectl " + verb + " pods -n web"
			_, err = a.Ask(auth.With(context.Background(), auth.Principal{User: "u", Roles: []string{"without"}}), line)
			require.Error(t, err, line)
			assert.Contains(t, err.Error(), fmt.Sprintf("kubectl %s does the work of %s", verb, tool))
			assert.Empty(t, s.requests, "no model either")

			ans, err := a.Ask(auth.With(context.Background(), auth.Principal{User: "u", Roles: []string{"with"}}), line)
			require.NoError(t, err, line)
			assert.Equal(t, "ran: "+verb+" pods -n web", ans.Text)
		})
	}
}

// TestKubectlVerbLikeTheServer: flags that take a value take the next
// word, as in mcp-kubernetes' parser, so a verb cannot hide behind one;
// and a line whose subcommand cannot be told for sure needs every
// kubectl tool.
func TestKubectlVerbLikeTheServer(t *testing.T) {
	for line, want := range map[string]string{
		"get pods -n web":                  "get",
		"-n get logs pod/x":                "logs",
		"--namespace=get logs pod/x":       "logs",
		"-A get events":                    "get",
		"kubectl logs pod/x":               "logs",
		"k -n kube-system get secrets":     "get",
		"--context prod describe deploy/a": "describe",
		`"logs" pod/x`:                     "",
		`lo\gs pod/x`:                      "",
		"--unknown-flag logs pod/x":        "",
		"":                                 "",
		"delete ns web":                    "delete",
	} {
		assert.Equal(t, want, kubectlVerb(line), line)
	}
	_, need := kubectlTools(`"logs" pod/x`)
	for _, v := range sharedkubectl.Verbs() {
		tool, _ := sharedkubectl.ToolFor(v)
		assert.Contains(t, need, tool)
	}
	assert.Contains(t, need, "k8s_kubectl")
	verb, need := kubectlTools("delete ns web")
	assert.Equal(t, "", verb, "a subcommand the suite does not answer needs every tool")
	assert.Len(t, need, 1+len(distinctTools()))

	pol, err := policy.Parse([]byte("roles:\n  viewer:\n    tools: [\"k8s_kubectl\", \"k8s_get\"]\n"))
	require.NoError(t, err)
	a, _ := agent(t)
	a.Policy = pol
	_, err = a.Ask(auth.With(context.Background(), auth.Principal{User: "u", Roles: []string{"viewer"}}), `kubectl "logs" pod/x`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "could not be told for sure")
}

func distinctTools() map[string]bool {
	out := map[string]bool{}
	for _, v := range sharedkubectl.Verbs() {
		t, _ := sharedkubectl.ToolFor(v)
		out[t] = true
	}
	return out
}

// FuzzKubectlTools: whatever the command line, the tools required always
// include k8s_kubectl, and either the one tool of a verb kubectl.ToolFor
// knows (the verb being a word of the line) or every kubectl tool.
func FuzzKubectlTools(f *testing.F) {
	for _, s := range []string{"get pods -n web", "-n get logs pod/x", `"logs" x`, "logs --tail=5 pod/x", "-- logs x", "k k logs", "--types=Warning events", "-p logs x", "\x00logs"} {
		f.Add(s)
	}
	all := distinctTools()
	f.Fuzz(func(t *testing.T, line string) {
		verb, need := kubectlTools(line)
		if len(need) == 0 || need[0] != "k8s_kubectl" {
			t.Fatalf("%q: need %v lacks k8s_kubectl first", line, need)
		}
		if verb == "" {
			if len(need) != 1+len(all) {
				t.Fatalf("%q: unsure verb needs every tool, got %v", line, need)
			}
			return
		}
		tool, ok := sharedkubectl.ToolFor(verb)
		if !ok || len(need) != 2 || need[1] != tool {
			t.Fatalf("%q: verb %q needs %v", line, verb, need)
		}
		if !slices.Contains(strings.Fields(line), verb) && !strings.Contains(line, "="+verb) {
			t.Fatalf("%q: verb %q is not a word of the line", line, verb)
		}
	})
}

// TestKubectlOutputMaskedAndCleaned: what the fast path prints is masked
// again (a server that missed a secret does not leak it) and has no
// invisible characters (a person reads it).
func TestKubectlOutputMaskedAndCleaned(t *testing.T) {
	a, _ := agent(t)
	ans, err := a.Ask(context.Background(), "kubectl get cm -l pass\u200bword=Hunter2-planted-77\u202e")
	require.NoError(t, err)
	assert.NotContains(t, ans.Text, "Hunter2-planted-77")
	assert.Contains(t, ans.Text, "password=[MASKED:")
	assert.NotContains(t, ans.Text, "\u202e")
}
