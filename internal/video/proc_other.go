//go:build !linux

package video

import "os/exec"

func setDeathSignal(*exec.Cmd) {}
