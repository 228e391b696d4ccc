package tools

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogsAfterTheInspect: a service's logs are asked for after its
// inspect, by the ID the inspect resolved and the scope allowed, never by
// the name the caller gave: a name no service has reaches no logs
// endpoint, and a name taken over meanwhile by a service of another stack
// reads nothing. (Asking for the logs beside the inspect, for callers the
// scope does not narrow, saved 0.1 ms a call on the e2e benchmark, within
// its noise, and would send an unresolved name to the logs endpoint.)
func TestLogsAfterTheInspect(t *testing.T) {
	for _, role := range []string{"sre", "shopper"} {
		t.Run(role, func(t *testing.T) {
			f := newFakeEngine(t)
			f.logs[shopWebID] = [][2]string{{"stdout", "shop line"}}
			s := f.server(t)
			_, err := s.logs(context.Background(), callAs("swarm_logs", role), LogsInput{Service: "shop_web"})
			require.NoError(t, err)
			_, err = s.logs(context.Background(), callAs("swarm_logs", role), LogsInput{Service: "nope"})
			require.Error(t, err)
			checkInspectThenLogsByID(t, f.requests())
		})
	}
}

func checkInspectThenLogsByID(t *testing.T, reqs []string) {
	t.Helper()
	inspect, logs := -1, -1
	for i, r := range reqs {
		if strings.Contains(r, "/services/shop_web") {
			inspect = i
		}
		if strings.Contains(r, "/logs") {
			logs = i
			assert.Contains(t, r, "/services/"+shopWebID+"/logs", "asked for by the resolved ID")
		}
	}
	require.GreaterOrEqual(t, inspect, 0, "inspected: %v", reqs)
	require.GreaterOrEqual(t, logs, 0, "logs asked for: %v", reqs)
	assert.Less(t, inspect, logs, "inspect first: %v", reqs)
	for _, r := range reqs {
		assert.NotContains(t, r, "nope/logs", "an unresolved name reaches no logs endpoint")
	}
}
