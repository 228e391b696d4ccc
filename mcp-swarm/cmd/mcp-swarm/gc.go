package main

import (
	"os"
	"runtime/debug"

	"github.com/opsmcp/opsmcp/shared/memlimit"
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
	percent, limit := gcSettings(os.Getenv, memlimit.Cgroup())
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
// GOMEMLIMIT, when set, are the operator's. cgroup is the cgroup's memory
// limit (0: none).
func gcSettings(getenv func(string) string, cgroup int64) (percent int, limit int64) {
	percent, limit = -1, -1
	if getenv("GOGC") == "" {
		percent = gcPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		if cgroup > 0 {
			limit = cgroup / 4 * 3
		}
	}
	return percent, limit
}
