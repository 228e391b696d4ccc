package catalog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "servers.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// TestWarmupConfig: the warm-up section is read with its durations and
// checked at load, each mistake named with what to write.
func TestWarmupConfig(t *testing.T) {
	c, err := Load(writeConfig(t, `
servers: []
lanes:
  - {name: ops, model: "qwen3:8b", hosts: [primary], options: {num_ctx: 16384}}
warmup:
  keep_alive: 2h
  every: 20s
  hours: ["07:00-19:00"]
  days: [mon-fri]
  timezone: Europe/Berlin
  lanes: [ops]
  vram: {primary: 24GiB}
`))
	require.NoError(t, err)
	assert.Equal(t, warmup.Config{KeepAlive: 2 * time.Hour, Every: 20 * time.Second, Hours: []string{"07:00-19:00"}, Days: []string{"mon-fri"},
		Timezone: "Europe/Berlin", Lanes: []string{"ops"}, VRAM: map[string]string{"primary": "24GiB"}}, c.Warmup)
	assert.Equal(t, []warmup.Lane{{Name: "ops", Model: "qwen3:8b", Hosts: []string{"primary"}, Options: map[string]any{"num_ctx": 16384}}}, c.WarmLanes())

	for body, want := range map[string]string{
		"servers: []\nwarmup: {hours: [\"07:00-19:00\"]}\n":                   "warmup: keep_alive is required",
		"servers: []\nwarmup: {keep_alive: 1h, lanes: [nope]}\n":              `warmup: lane "nope" is not among the config's lanes`,
		"servers: []\nwarmup: {keep_alive: 1h, hours: [\"9-17\"]}\n":          `hours "9-17": write HH:MM-HH:MM`,
		"servers: []\nwarmup: {keep_alive: 1h, vram: {primary: \"-3GiB\"}}\n": "write a positive size",
	} {
		_, err := Load(writeConfig(t, body))
		if assert.Error(t, err, body) {
			assert.Contains(t, err.Error(), want)
		}
	}
}
