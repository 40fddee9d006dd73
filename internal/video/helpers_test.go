package video

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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
type segment = testenv.Segment

func seg(photo []string, mirror bool, frames int) segment {
	return segment{Photo: photo, Mirror: mirror, Frames: frames}
}

// camera renders segments as a hand-held camera would see them.
func camera(t testing.TB, segs ...segment) []*imageio.Image { return testenv.CameraFrames(t, segs...) }

// encode writes frames as a video file with ffmpeg at fps.
func encode(t testing.TB, name, codec string, fps int, frames []*imageio.Image, extra ...string) string {
	t.Helper()
	requireTools(t)
	return testenv.EncodeVideo(t, name, codec, fps, frames, extra...)
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
