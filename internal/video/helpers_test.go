package video

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
	"github.com/visagehq/visage/internal/testenv"
)

// requireTools skips loudly (fails with VISAGE_REQUIRE_FIXTURES=1)
// without ffmpeg and ffprobe.
func requireTools(t testing.TB) {
	t.Helper()
	var d Decoder
	for _, f := range []func() (string, error){d.ffmpeg, d.ffprobe} {
		if _, err := f(); err != nil {
			if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
				t.Fatalf("REQUIRED BUT MISSING: %v", err)
			}
			t.Skipf("SKIPPED, MISSING: %v", err)
		}
	}
}

// segment is a fixture photo held in front of a camera for n frames.
type segment struct {
	photo  []string // path under the fixtures folder
	mirror bool
	frames int
}

// camera renders segments as a hand-held camera would see them: each
// photo as testenv.CameraImage (640×480, edges smeared, not a
// photo-of-a-photo), shaken by a few pixels frame to frame so that the
// encoder sees motion and no two frames are identical.
func camera(t testing.TB, segs ...segment) []*imageio.Image {
	t.Helper()
	var out []*imageio.Image
	k := 0
	for _, s := range segs {
		src := testenv.CameraImage(t, s.mirror, s.photo...)
		for range s.frames {
			dx, dy := 6*math.Sin(float64(k)/3), 4*math.Cos(float64(k)/4)
			tr := imageio.CropResize(8+dx, 6+dy, float64(src.W)-8+dx, float64(src.H)-6+dy, src.W, src.H)
			out = append(out, src.Warp(tr, src.W, src.H))
			k++
		}
	}
	return out
}

// codecArgs are the encoders a browser or phone would have used.
var codecArgs = map[string][]string{
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

// seekable codecs are written straight to the file (MP4's index is
// written last, or moved to the front with +faststart); the others
// through a pipe, as a recorder streaming its output writes them.
var seekable = map[string]bool{"h264": true}

// encode writes frames as a video file with ffmpeg at fps and returns
// its path; extra goes before the output.
func encode(t testing.TB, name, codec string, fps int, frames []*imageio.Image, extra ...string) string {
	t.Helper()
	requireTools(t)
	ca, ok := codecArgs[codec]
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

// ffmpegRun runs ffmpeg with args (building fixtures).
func ffmpegRun(t testing.TB, args ...string) {
	t.Helper()
	requireTools(t)
	out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y", "-nostdin"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v: %s", args, err, out)
	}
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(testenv.Fixture(t, parts...))
	if err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return data
}

// writeStreamed runs ffmpeg with args and its output piped into path, as
// a recorder streams a file it cannot seek back into.
func writeStreamed(t testing.TB, path string, args ...string) {
	t.Helper()
	requireTools(t)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("ffmpeg", append(append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, args...), "pipe:1")...)
	bw := bufio.NewWriter(f)
	cmd.Stdout = struct{ io.Writer }{bw}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v: %s", args, err, stderr.String())
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
}
