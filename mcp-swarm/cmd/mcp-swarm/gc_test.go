package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGCKeepsUnderTheContainersMemory (red team): GC percent 400 lets the
// heap grow to five times the live one. One swarm_logs call on a hostile
// log (the engine's answer read up to its 4 MiB cap, token-dense lines;
// measured through the binder on the fake engine, whose 16 MiB of lines
// share the process) peaked at 310 MiB RSS at 400 against 142 MiB at
// Go's default, over the 256 MiB deploy/compose and deploy/kubernetes
// give mcp-swarm: such a container is killed where it was not. Under a
// cgroup memory limit
// the collector now gets a soft limit of three quarters of it (the same
// call peaked at 205 MiB under 192 MiB); GOGC and GOMEMLIMIT set by the
// operator are left alone, and no limit is set where there is none.
func TestGCKeepsUnderTheContainersMemory(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	write("v2/memory.max", "268435456\n") // a container's own namespace: "0::/"
	write("v2/system.slice/opsmcp@swarm.service/memory.max", "536870912\n")
	write("v2/unlimited/memory.max", "max\n")
	write("v1/memory/memory.limit_in_bytes", "268435456\n")
	write("v1/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n")

	for _, c := range []struct {
		name, root, cgroup string
		env                func(string) string
		percent            int
		limit              int64
	}{
		{"compose, cgroup v2", "v2", "0::/\n", env(), 400, 192 << 20},
		{"systemd MemoryMax=512M", "v2", "0::/system.slice/opsmcp@swarm.service\n", env(), 400, 384 << 20},
		{"no limit", "v2", "0::/unlimited\n", env(), 400, -1},
		{"cgroup v1", "v1", "4:memory:/\n0::/\n", env(), 400, 192 << 20},
		{"cgroup v1, unlimited", "v1", "4:memory:/docker/abc\n", env(), 400, -1},
		{"cgroup v1, a path only the host has", "v1", "4:memory:/docker/def\n", env(), 400, 192 << 20},
		{"no cgroup file", "v2", "", env(), 400, -1},
		{"operator's GOGC", "v2", "0::/\n", env("GOGC", "100"), -1, 192 << 20},
		{"operator's GOMEMLIMIT", "v2", "0::/\n", env("GOMEMLIMIT", "1GiB"), 400, -1},
	} {
		percent, limit := gcSettings(c.env, filepath.Join(root, c.root), c.cgroup)
		assert.Equal(t, c.percent, percent, c.name)
		assert.Equal(t, c.limit, limit, c.name)
	}
}
