package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/imageio"
)

// Segment is a fixture photo held in front of a camera for Frames frames.
type Segment struct {
	Photo  []string // path under the fixtures folder
	Mirror bool
	Frames int
}

// CameraFrames renders segments as a hand-held camera would see them: each
// photo as CameraImage (640×480, edges smeared, not a photo-of-a-photo),
// shaken by a few pixels frame to frame so that an encoder sees motion and
// no two frames are identical.
func CameraFrames(t testing.TB, segs ...Segment) []*imageio.Image {
	t.Helper()
	var out []*imageio.Image
	k := 0
	for _, s := range segs {
		src := CameraImage(t, s.Mirror, s.Photo...)
		for range s.Frames {
			dx, dy := 6*math.Sin(float64(k)/3), 4*math.Cos(float64(k)/4)
			tr := imageio.CropResize(8+dx, 6+dy, float64(src.W)-8+dx, float64(src.H)-6+dy, src.W, src.H)
			out = append(out, src.Warp(tr, src.W, src.H))
			k++
		}
	}
	return out
}

// VideoCodecs are the encoders a browser or phone would have used.
var VideoCodecs = map[string][]string{
	"h264": {"-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"},
	"vp8":  {"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M", "-f", "webm"},
	"vp9":  {"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-b:v", "1500k", "-f", "webm"},
	// What Chrome's MediaRecorder writes: WebM streamed as it records,
	// so the header never learns the duration.
	"vp8-live": {"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M", "-live", "1", "-f", "webm"},
	// Fragmented MP4, as Chrome's and Safari's MediaRecorder write H.264.
	"h264-frag": {"-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
		"-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4"},
}

// seekable codecs are written straight to the file; the others through a
// pipe, as a recorder streaming its output writes them.
var seekable = map[string]bool{"h264": true}

// EncodeVideo writes frames as a video file (in a test temp dir) with
// ffmpeg at fps and returns its path; extra goes before the output. It
// fails loudly when ffmpeg is missing and fixtures are required, and skips
// otherwise.
func EncodeVideo(t testing.TB, name, codec string, fps int, frames []*imageio.Image, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		missing(t, "ffmpeg (run scripts/setup-system.sh)")
	}
	ca, ok := VideoCodecs[codec]
	if !ok {
		t.Fatalf("unknown codec %s", codec)
	}
	w, h := frames[0].W, frames[0].H
	path := filepath.Join(t.TempDir(), name)
	args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
		"-s", fmt.Sprintf("%dx%d", w, h), "-r", fmt.Sprint(fps), "-i", "pipe:0"}
	out := "pipe:1"
	if seekable[codec] {
		out = path
	}
	args = append(append(append(args, ca...), extra...), out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var raw bytes.Buffer
	for _, f := range frames {
		raw.Write(f.Pix)
	}
	cmd.Stdin = &raw
	var bw *bufio.Writer
	if !seekable[codec] {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// A writer that is not an *os.File makes exec give ffmpeg a pipe.
		bw = bufio.NewWriter(f)
		cmd.Stdout = struct{ io.Writer }{bw}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return path
}
