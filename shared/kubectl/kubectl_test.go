package kubectl

import "testing"

func TestToolFor(t *testing.T) {
	cases := map[string]string{"get": "k8s_get", "logs": "k8s_logs", "log": "k8s_logs", "events": "k8s_events",
		"describe": "k8s_describe", "rollout": "k8s_describe", "config": "k8s_contexts"}
	for verb, want := range cases {
		if got, ok := ToolFor(verb); !ok || got != want {
			t.Errorf("ToolFor(%q) = %q, %v; want %q", verb, got, ok, want)
		}
	}
	for _, verb := range []string{"exec", "delete", "port-forward", "proxy", ""} {
		if got, ok := ToolFor(verb); ok {
			t.Errorf("ToolFor(%q) = %q; want no tool", verb, got)
		}
	}
	if len(Verbs()) != len(tools) {
		t.Fatal("Verbs does not list every subcommand")
	}
}
