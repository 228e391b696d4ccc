package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCgroupAt reads the limit where each cgroup layout keeps it: a
// container's own namespace (v2, "0::/"), a systemd unit's cgroup, v1's
// memory controller, and no limit ("max", v1's page-rounded MaxInt64, no
// file).
func TestCgroupAt(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	write("v2/memory.max", "268435456\n")
	write("v2/system.slice/opsmcp@swarm.service/memory.max", "536870912\n")
	write("v2/unlimited/memory.max", "max\n")
	write("v1/memory/memory.limit_in_bytes", "268435456\n")
	write("v1/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n")
	for _, c := range []struct {
		name, root, cgroup string
		want               int64
	}{
		{"container, cgroup v2", "v2", "0::/\n", 256 << 20},
		{"systemd MemoryMax=512M", "v2", "0::/system.slice/opsmcp@swarm.service\n", 512 << 20},
		{"no limit", "v2", "0::/unlimited\n", 0},
		{"cgroup v1", "v1", "4:memory:/\n0::/\n", 256 << 20},
		{"cgroup v1, unlimited", "v1", "4:memory:/docker/abc\n", 0},
		{"cgroup v1, a path only the host has", "v1", "4:memory:/docker/def\n", 256 << 20},
		{"no cgroup file", "v2", "", 0},
		{"garbage", "v2", "x\n::\n0:\n", 0},
	} {
		assert.Equal(t, c.want, cgroupAt(filepath.Join(root, c.root), c.cgroup), c.name)
	}
}

// TestProcessTakesTheSoftLimit: a Go soft limit below the cgroup's (or
// without one) is the process's limit.
func TestProcessTakesTheSoftLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(100 << 20)
	defer debug.SetMemoryLimit(prev)
	n := Process()
	assert.Greater(t, n, int64(0))
	assert.LessOrEqual(t, n, int64(100<<20))
}
