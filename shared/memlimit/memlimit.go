// Package memlimit tells how much memory this process may use: its
// cgroup's memory limit (a container's, or a systemd unit's MemoryMax),
// and the Go soft limit an operator set with GOMEMLIMIT. Servers size what
// they hold for a call by it, so that a large answer is refused with a
// clear error rather than the process being killed.
package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Cgroup is the memory limit of this process's cgroup (v2 memory.max, or
// v1 memory.limit_in_bytes), 0 when there is none or it cannot be read.
func Cgroup() int64 {
	self, _ := os.ReadFile("/proc/self/cgroup")
	return cgroupAt("/sys/fs/cgroup", string(self))
}

// Process is the least of the cgroup's memory limit and the Go soft limit
// (GOMEMLIMIT, or one the process set), 0 when there is neither.
func Process() int64 {
	n := Cgroup()
	if soft := debug.SetMemoryLimit(-1); soft > 0 && soft < math.MaxInt64 && (n == 0 || soft < n) {
		n = soft
	}
	return n
}

// cgroupAt is Cgroup with the cgroup file system at root and
// /proc/self/cgroup's text selfCgroup.
func cgroupAt(root, selfCgroup string) int64 {
	for _, line := range strings.Split(selfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, name string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, name = root, "memory.max"
		case strings.Contains(","+parts[1]+",", ",memory,"):
			dir, name = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		// The cgroup's own directory, or (a container that sees only
		// its own cgroup, mounted at the root) the root's.
		b, err := os.ReadFile(filepath.Join(dir, parts[2], name))
		if err != nil {
			b, err = os.ReadFile(filepath.Join(dir, name))
		}
		if err != nil {
			continue
		}
		// "max", or v1's page-rounded MaxInt64: no limit.
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<50 {
			return n
		}
	}
	return 0
}
