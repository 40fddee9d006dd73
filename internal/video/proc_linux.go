package video

import (
	"os"
	"os/exec"
	"syscall"
)

// setDeathSignal kills the tool if this process dies first, so a crashed
// server leaves no ffmpeg decoding behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// peakRSS is the process's maximum resident set size in bytes.
func peakRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024 // Linux reports KiB
	}
	return 0
}
