package swarm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedteam7MemoryEightOrdinaryCallsAtOnce: under the shipped 256 MiB
// container's settings, eight ordinary calls of each tool at once on the
// fixtures are all answered (swarm_configs' one-at-a-time listing makes
// them wait, never fail), those whose answer does not move between calls
// the same as one call alone.
func TestRedteam7MemoryEightOrdinaryCallsAtOnce(t *testing.T) {
	s, _ := memSession(t)
	ordinary := []struct {
		tool   string
		args   map[string]any
		stable bool // the same answer each time (no times, no live log)
	}{
		{"swarm_services", map[string]any{"stack": "shop"}, false},
		{"swarm_service", map[string]any{"service": "shop_web"}, false},
		{"swarm_logs", map[string]any{"service": "shop_web", "tail": 5}, false},
		{"swarm_stacks", map[string]any{}, false},
		{"swarm_configs", map[string]any{}, true},
		{"swarm_secrets", map[string]any{}, true},
		{"swarm_compose", map[string]any{"stack": "shop", "path": stackDir + "/stack.yml"}, true},
	}
	for _, o := range ordinary {
		one := mustCall(t, s, o.tool, o.args).Text
		texts, errs := concurrently(t, s, 8, o.tool, o.args)
		for j := range texts {
			require.False(t, errs[j], "%s: %s", o.tool, texts[j])
			assert.NotEmpty(t, texts[j])
			if o.stable {
				assert.Equal(t, one, texts[j], "%s answered whole, as one call alone", o.tool)
			}
		}
	}
}
