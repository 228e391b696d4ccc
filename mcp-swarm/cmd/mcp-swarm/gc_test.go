package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
	// Where each cgroup layout keeps the limit: shared/memlimit's
	// TestCgroupAt.
	for _, c := range []struct {
		name    string
		cgroup  int64
		env     func(string) string
		percent int
		limit   int64
	}{
		{"a container of 256 MiB", 256 << 20, env(), 400, 192 << 20},
		{"systemd MemoryMax=512M", 512 << 20, env(), 400, 384 << 20},
		{"no limit", 0, env(), 400, -1},
		{"operator's GOGC", 256 << 20, env("GOGC", "100"), -1, 192 << 20},
		{"operator's GOMEMLIMIT", 256 << 20, env("GOMEMLIMIT", "1GiB"), 400, -1},
	} {
		percent, limit := gcSettings(c.env, c.cgroup)
		assert.Equal(t, c.percent, percent, c.name)
		assert.Equal(t, c.limit, limit, c.name)
	}
}
