package video

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the tool if this process dies first, so a crashed
// server leaves no ffmpeg decoding behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
