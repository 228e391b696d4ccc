package harness

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PIDsOf are the processes running the binary bin now.
func PIDsOf(bin string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe")); err == nil && exe == bin {
			out = append(out, d.Name())
		}
	}
	return out
}

// PeakRSS is a process's peak resident set (VmHWM) in bytes, 0 when it
// cannot be read (the process has ended).
func PeakRSS(pid string) int64 {
	raw, _ := os.ReadFile(filepath.Join("/proc", pid, "status"))
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
