package tools

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"

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

// TestConfigsShowBoundedData: swarm_configs shows the data of configs (by
// name) up to maxConfigData in all and lists the rest without it, saying
// why: 40 configs of 480 KB took one call to 268 MiB under a 256 MiB
// limit (red team).
func TestConfigsShowBoundedData(t *testing.T) {
	f := newFakeEngine(t)
	data := []byte(strings.Repeat("password=Pw-planted-000001 x\n", 500_000/30))
	for i := range 6 {
		f.configs = append(f.configs, swarm.Config{ID: fmt.Sprintf("cfg%d", i), Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: fmt.Sprintf("big-%d", 5-i)}, Data: data}})
	}
	s := f.server(t)
	r, err := s.configs(context.Background(), callAs("swarm_configs", "sre"), HostInput{})
	require.NoError(t, err)
	items := r.Data.(ObjectsOutput).Items
	require.Len(t, items, 6)
	shown := 0
	for i, it := range items {
		assert.Equal(t, fmt.Sprintf("big-%d", i), it.Name, "by name")
		if (i+1)*len(data) <= maxConfigData {
			shown++
			assert.NotEmpty(t, it.Data)
			assert.NotContains(t, it.Data, "Pw-planted-000001")
			assert.Empty(t, it.Omitted)
			continue
		}
		assert.Empty(t, it.Data)
		assert.Equal(t, "data not shown: the configs before it hold over 2 MiB; docker config inspect "+it.Name+" shows it", it.Omitted)
	}
	assert.Equal(t, maxConfigData/len(data), shown)
	assert.Contains(t, renderObjects(map[string]any{"items": []any{map[string]any{"name": "big-5", "data_omitted": items[5].Omitted}}}), "(data not shown: the configs before it hold over 2 MiB")
}
