package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runEval runs the eval command with args and returns its exit code and
// what it wrote to stderr.
func runEval(t *testing.T, args ...string) (int, string) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	saved := os.Stderr
	os.Stderr = f
	code := evalCmd(args)
	os.Stderr = saved
	f.Close()
	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	return code, string(b)
}

// TestEvalFlags: a bad flag stops the eval before it connects anything,
// with a message that says what to fix.
func TestEvalFlags(t *testing.T) {
	t.Setenv("OPSMCP_MODEL", "")
	out := filepath.Join(t.TempDir(), "out")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("questions:\n  - {id: x, kind: poetry, question: q, contains: [a]}\n"), 0o600))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--models", "m"}, "usage: mcp-orchestrator eval --config servers.yaml"},
		{[]string{"--config", "s.yaml", "--out", out}, "no model: give --models"},
		{[]string{"--config", "s.yaml", "--models", "m", "--modes", "fast", "--out", out}, "--modes fast: use native, recovered or constrained"},
		{[]string{"--config", "s.yaml", "--models", "m", "--repeats", "0", "--out", out}, "--repeats 0: use at least 1"},
		{[]string{"--config", "s.yaml", "--models", "m", "--only", "nope", "--out", out}, "--only nope: no question has that id or kind"},
		{[]string{"--config", "s.yaml", "--models", "m", "--questions", bad, "--out", out}, "kind \"poetry\": use one of kubectl, diagnosis, multi-tool, refusal"},
		{[]string{"--config", "s.yaml", "--models", "m", "--questions", filepath.Join(out, "none.yaml")}, "no such file"},
		{[]string{"--config", "s.yaml", "--models", "m", "--no-shipped", "--out", out}, "--no-shipped needs --questions"},
		{[]string{"--config", "s.yaml", "--models", "m", "--max-calls-per-turn", "0", "--out", out}, "--max-calls-per-turn 0: use at least 1"},
	} {
		code, stderr := runEval(t, c.args...)
		assert.Equal(t, 2, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
	}
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err), "no report directory for a run that never started")
}
