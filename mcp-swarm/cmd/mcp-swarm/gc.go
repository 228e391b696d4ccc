package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the collector's heap growth when GOGC is not set. A
// swarm_logs call of 200 lines allocates about 3.6 MB over a live heap of
// a few MB, so at Go's default of 100 a collection ran about once a call;
// at 400 the server's CPU per call fell by a quarter to a third in the e2e
// benchmark (docs/benchmarks.md), for a heap of up to five times the
// live one.
const gcPercent = 400

// tuneGC applies gcSettings to this process.
func tuneGC() {
	self, _ := os.ReadFile("/proc/self/cgroup")
	percent, limit := gcSettings(os.Getenv, "/sys/fs/cgroup", string(self))
	if percent > 0 {
		debug.SetGCPercent(percent)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
}

// gcSettings returns the GC percent and the soft memory limit to set (-1:
// leave it). Five times a hostile call's live heap is more than the
// 256 MiB a container of the shipped deployments has, so under a cgroup
// memory limit the collector is held to three quarters of it: ordinary
// calls, whose heap is far below, keep the fewer collections. GOGC and
// GOMEMLIMIT, when set, are the operator's. root is the cgroup file
// system, selfCgroup /proc/self/cgroup's text.
func gcSettings(getenv func(string) string, root, selfCgroup string) (percent int, limit int64) {
	percent, limit = -1, -1
	if getenv("GOGC") == "" {
		percent = gcPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		if n := cgroupMemory(root, selfCgroup); n > 0 {
			limit = n / 4 * 3
		}
	}
	return percent, limit
}

// cgroupMemory is the memory limit of this process's cgroup (v2
// memory.max, or v1 memory.limit_in_bytes), 0 when there is none.
func cgroupMemory(root, selfCgroup string) int64 {
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
