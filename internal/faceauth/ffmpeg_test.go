package faceauth

import (
	"fmt"
	"os/exec"
)

// extractFrame writes the video frame at sec seconds as a JPEG.
func extractFrame(video string, sec float64, out string) error {
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-ss", fmt.Sprint(sec), "-i", video, "-frames:v", "1", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, b)
	}
	return nil
}
