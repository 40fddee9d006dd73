package app

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// setMemoryLimit gives the Go runtime a soft memory limit of 75 % of what
// the process may use (the cgroup's memory.max, else physical memory), so
// that under a burst of large decodes the collector works harder before
// the kernel's OOM killer steps in. GOMEMLIMIT, when set, wins.
func setMemoryLimit(log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	avail := cgroupLimit()
	if phys := physicalMemory(); avail <= 0 || (phys > 0 && phys < avail) {
		avail = phys
	}
	if avail <= 0 {
		return
	}
	limit := avail / 4 * 3
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "limit_mib", limit>>20, "available_mib", avail>>20, "hint", "set GOMEMLIMIT to choose another")
}

// cgroupLimit reads cgroup v2's memory.max; 0 when absent or "max".
func cgroupLimit() int64 {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// physicalMemory reads MemTotal from /proc/meminfo; 0 when unknown.
func physicalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}
