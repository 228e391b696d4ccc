package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/orchestrator/internal/catalog"
)

// TestServeFlags: serve takes the suite's shared flags and environment,
// with its own defaults, and refuses what the servers refuse.
func TestServeFlags(t *testing.T) {
	t.Setenv("OPSMCP_TRANSPORT", "") // a systemd unit's blanket reset
	t.Setenv("OPSMCP_MAX_BODY_BYTES", "65536")
	f := newServeFlags()
	require.NoError(t, f.parse([]string{"--config", "servers.yaml"}))
	assert.Equal(t, "http", f.o.Transport)
	assert.Equal(t, "127.0.0.1:8080", f.o.Listen)
	assert.Equal(t, 30.0, f.o.RatePerMinute)
	assert.Equal(t, 0, f.o.RateBurst)
	assert.Equal(t, int64(65536), f.o.MaxBodyBytes, "OPSMCP_* applies")
	assert.True(t, f.o.AuditIsRequired(), "over HTTP by default")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "s.yaml", "--listen", "0.0.0.0:8080"}, "refusing to listen on 0.0.0.0:8080 without auth"},
		{[]string{"--config", "s.yaml", "--transport", "stdio"}, "serve is HTTP only"},
		{[]string{"--listen", "127.0.0.1:8080"}, "serve needs --config"},
		{[]string{"--config", "s.yaml", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--config", "s.yaml", "--oidc-issuer", "https://id.example"}, "--oidc-issuer needs --oidc-audience"},
		{[]string{"--config", "s.yaml", "--max-body-bytes", "10"}, "--max-body-bytes 10: use at least 1024"},
	} {
		assert.ErrorContains(t, newServeFlags().parse(c.args), c.want, "%v", c.args)
	}
	f = newServeFlags()
	require.NoError(t, f.parse([]string{"--config", "s.yaml", "--listen", "0.0.0.0:8080", "--auth-tokens", "tokens", "--rate-burst", "5"}))
	assert.Equal(t, 5, f.o.RateBurst)
}

// TestServeCallCaps: serve's --max-calls-per-turn and --max-calls-per-answer
// (or OPSMCP_MAX_CALLS_PER_*) reach the agent its answers run on, with the
// agent's defaults otherwise; a cap below 1 is refused at start.
func TestServeCallCaps(t *testing.T) {
	f := newServeFlags()
	require.NoError(t, f.parse([]string{"--config", "s.yaml"}))
	a := f.agent(nil, nil, nil, &catalog.Config{}, nil, nil)
	assert.Equal(t, 8, a.MaxCallsPerTurn)
	assert.Equal(t, 32, a.MaxCallsPerAnswer)
	assert.False(t, a.AsItself, "serve's calls are made for the asking user")

	t.Setenv("OPSMCP_MAX_CALLS_PER_ANSWER", "12")
	t.Setenv("OPSMCP_MAX_CALLS_PER_TURN", "5")
	f = newServeFlags()
	require.NoError(t, f.parse([]string{"--config", "s.yaml", "--max-calls-per-turn", "3"}))
	a = f.agent(nil, nil, nil, &catalog.Config{}, nil, nil)
	assert.Equal(t, 3, a.MaxCallsPerTurn, "the command line wins over the environment")
	assert.Equal(t, 12, a.MaxCallsPerAnswer, "from OPSMCP_MAX_CALLS_PER_ANSWER")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "s.yaml", "--max-calls-per-turn", "0"}, "--max-calls-per-turn 0: use at least 1"},
		{[]string{"--config", "s.yaml", "--max-calls-per-answer", "-1"}, "--max-calls-per-answer -1: use at least 1"},
	} {
		assert.ErrorContains(t, newServeFlags().parse(c.args), c.want, "%v", c.args)
	}
	t.Setenv("OPSMCP_MAX_CALLS_PER_TURN", "lots")
	assert.ErrorContains(t, newServeFlags().parse([]string{"--config", "s.yaml"}), "OPSMCP_MAX_CALLS_PER_TURN")
}
