package config

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvFillsUnsetFlags(t *testing.T) {
	fs := NewFlagSet("x", "test")
	listen := fs.String("listen", "127.0.0.1:1", "")
	max := fs.Int("max-output-bytes", 10, "")
	roots := fs.StringSlice("allowed-origins", nil, "")
	require.NoError(t, fs.Parse([]string{"--max-output-bytes", "99"}))
	env := map[string]string{"OPSMCP_LISTEN": "127.0.0.1:2", "OPSMCP_MAX_OUTPUT_BYTES": "5", "OPSMCP_ALLOWED_ORIGINS": "https://a, https://b"}
	require.NoError(t, FromEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	assert.Equal(t, "127.0.0.1:2", *listen)
	assert.Equal(t, 99, *max, "the command line wins")
	assert.Equal(t, []string{"https://a", "https://b"}, *roots)

	env = map[string]string{"OPSMCP_MAX_OUTPUT_BYTES": "lots"}
	fs2 := NewFlagSet("x", "test")
	fs2.Int("max-output-bytes", 10, "")
	err := FromEnv(fs2, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	assert.ErrorContains(t, err, "OPSMCP_MAX_OUTPUT_BYTES")
}

func TestUsageListsEnv(t *testing.T) {
	fs := NewFlagSet("x", "test")
	fs.String("audit-log", "stderr", "where")
	var b bytes.Buffer
	Usage(&b, "x", "test", fs)
	assert.Contains(t, b.String(), "--audit-log string")
	assert.Contains(t, b.String(), "env OPSMCP_AUDIT_LOG")
}
