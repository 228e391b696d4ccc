package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/catalog"
	"github.com/opsmcp/opsmcp/orchestrator/internal/gateway"
	"github.com/opsmcp/opsmcp/orchestrator/internal/telemetry"
	"github.com/opsmcp/opsmcp/orchestrator/internal/warmup"
)

// TestWarmerFromConfig: no warmup section, no warmer; a vram entry for a
// host that is not an endpoint stops serve at start, naming the ones
// there are.
func TestWarmerFromConfig(t *testing.T) {
	ep, err := gateway.NewEndpointCA("primary", "http://127.0.0.1:1", time.Second, "")
	require.NoError(t, err)
	gw := gateway.New([]gateway.Endpoint{ep})
	w, err := warmer(&catalog.Config{}, gw, telemetry.New(), nil)
	require.NoError(t, err)
	assert.Nil(t, w)

	cfg := &catalog.Config{Warmup: warmup.Config{KeepAlive: time.Hour, VRAM: map[string]string{"gpu-1": "24GiB"}}}
	_, err = warmer(cfg, gw, telemetry.New(), nil)
	assert.EqualError(t, err, `warmup: vram names "gpu-1", which is not an Ollama endpoint (primary)`)

	cfg.Warmup.VRAM = map[string]string{"primary": "24GiB"}
	w, err = warmer(cfg, gw, telemetry.New(), nil)
	require.NoError(t, err)
	assert.NotNil(t, w)
}
