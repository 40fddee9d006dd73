//go:build !linux

package video

import (
	"os"
	"os/exec"
)

func setDeathSignal(*exec.Cmd) {}

func peakRSS(*os.ProcessState) int64 { return 0 }
