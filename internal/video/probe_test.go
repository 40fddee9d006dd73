package video

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

var (
	shortOnce sync.Once
	shortPics []*imageio.Image
)

// shortClip is a 2 s selfie clip of one person at 10 fps.
func shortClip(t *testing.T, codec, name string) string {
	t.Helper()
	shortOnce.Do(func() { shortPics = camera(t, seg([]string{"faces", "bbt", "amy", "amy2.png"}, false, 20)) })
	return encode(t, name, codec, 10, shortPics)
}

func TestProbeRecorderFormats(t *testing.T) {
	cases := []struct {
		codec, name, format, wantCodec string
		scanned                        bool
	}{
		{"h264", "clip.mp4", "mov,mp4,m4a,3gp,3g2,mj2", "h264", false},
		{"h264-frag", "clip.mp4", "mov,mp4,m4a,3gp,3g2,mj2", "h264", false},
		{"vp8", "clip.webm", "matroska,webm", "vp8", true},
		{"vp9", "clip.webm", "matroska,webm", "vp9", true},
		{"vp8-live", "clip.webm", "matroska,webm", "vp8", true},
	}
	for _, c := range cases {
		t.Run(c.codec, func(t *testing.T) {
			info, err := Probe(context.Background(), shortClip(t, c.codec, c.name))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", *info)
			if info.Format != c.format || info.Codec != c.wantCodec || info.Width != 640 || info.Height != 480 ||
				info.Rotation != 0 || info.FrameRate != 10 || info.Size <= 0 {
				t.Fatalf("info %+v", *info)
			}
			// WebM streamed by a recorder states no duration: it is measured.
			if d := info.Duration; d < 1900*time.Millisecond || d > 2100*time.Millisecond || info.DurationScanned != c.scanned {
				t.Fatalf("duration %v scanned %v, want ≈2 s scanned %v", d, info.DurationScanned, c.scanned)
			}
		})
	}
}

func TestProbeRealVideos(t *testing.T) {
	info, err := Probe(context.Background(), fixturePath(t, "video", "short_hamilton_clip.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	// ffprobe -show_streams: 640×360 H.264 at 2997/100 fps, 10.02 s with the audio.
	if info.Codec != "h264" || info.Width != 640 || info.Height != 360 || info.Stream != 0 ||
		info.FrameRate < 29.96 || info.FrameRate > 29.98 || info.Duration < 9*time.Second || info.Duration > 10100*time.Millisecond {
		t.Fatalf("hamilton: %+v", *info)
	}
	info, err = Probe(context.Background(), fixturePath(t, "video", "faceapi_test_video.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	// Its pixels are not quite square (14720:14719).
	if w, h := info.DisplaySize(); info.Width != 820 || info.Height != 460 || w != 820 || h != 460 || info.PixelAspect <= 1 {
		t.Fatalf("faceapi: %+v display %d×%d", *info, w, h)
	}
}

func fixturePath(t testing.TB, parts ...string) string {
	t.Helper()
	readFixture(t, parts...) // fails when missing
	return testenv.Fixture(t, parts...)
}

// TestProbeRefusesBadFiles: what a client might upload instead of a
// video gets a typed error from Probe, and Frames refuses it the same way.
func TestProbeRefusesBadFiles(t *testing.T) {
	hamilton := readFixture(t, "video", "short_hamilton_clip.mp4")
	jpeg := readFixture(t, "faces", "deepface", "id00_img1", "img1.jpg")
	audio := filepath.Join(t.TempDir(), "voice.m4a")
	ffmpegRun(t, "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", audio)
	wide := filepath.Join(t.TempDir(), "wide.mp4")
	ffmpegRun(t, "-f", "lavfi", "-i", "color=c=gray:s=4112x32:d=0.2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", wide)
	tiny := filepath.Join(t.TempDir(), "tiny.mp4")
	ffmpegRun(t, "-f", "lavfi", "-i", "color=c=gray:s=8x8:d=0.2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", tiny)
	gif := filepath.Join(t.TempDir(), "anim.mkv")
	ffmpegRun(t, "-f", "lavfi", "-i", "testsrc=s=64x64:d=0.2", "-c:v", "gif", gif)

	cases := []struct {
		name string
		path string
		want error
	}{
		{"empty file", writeFile(t, "empty.mp4", nil), ErrEmpty},
		{"text file", writeFile(t, "notes.mp4", []byte("this is not a video, it is a note\n")), ErrNotVideo},
		{"JPEG renamed .mp4", writeFile(t, "selfie.mp4", jpeg), ErrNotVideo},
		{"PNG renamed .webm", writeFile(t, "selfie.webm", readFixture(t, "faces", "bbt", "amy", "amy2.png")), ErrNotVideo},
		{"MP4 cut off before its index", writeFile(t, "cut.mp4", hamilton[:len(hamilton)/3]), ErrCorrupt},
		{"MP4 header only", writeFile(t, "head.mp4", hamilton[:64]), ErrCorrupt},
		{"audio only", audio, ErrNoVideoStream},
		{"wider than 4096", wide, ErrDimensions},
		{"8×8 pixels", tiny, ErrDimensions},
		{"GIF in Matroska", gif, ErrUnsupported},
		{"a directory", t.TempDir(), ErrNotVideo},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Probe(context.Background(), c.path)
			if !errors.Is(err, c.want) {
				t.Fatalf("Probe: %v, want %v", err, c.want)
			}
			t.Logf("%s: %v", ErrorCode(err), err)
			if _, err := Frames(context.Background(), c.path, FrameOptions{}); !errors.Is(err, c.want) {
				t.Fatalf("Frames: %v, want %v", err, c.want)
			}
		})
	}
	if _, err := Probe(context.Background(), filepath.Join(t.TempDir(), "missing.mp4")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	small := Decoder{Limits: Limits{MaxBytes: 100_000}}
	if _, err := small.Probe(context.Background(), fixturePath(t, "video", "short_hamilton_clip.mp4")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over MaxBytes: %v", err)
	}
}

// TestProbeRefusesLongVideo: a video over the limit is refused from its
// metadata, or, when a recorder left the duration out, from its packets,
// before anything is decoded.
func TestProbeRefusesLongVideo(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long.mp4")
	ffmpegRun(t, "-f", "lavfi", "-i", "testsrc=s=64x48:r=2:d=40", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", long)
	live := filepath.Join(dir, "long.webm")
	writeStreamed(t, live, "-f", "lavfi", "-i", "testsrc=s=64x48:r=2:d=40", "-c:v", "libvpx", "-deadline", "realtime", "-live", "1", "-f", "webm")
	for _, path := range []string{long, live} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			var runs []string
			d := Decoder{Observe: func(tool string, _ time.Duration) { runs = append(runs, tool) }}
			_, err := d.Probe(context.Background(), path)
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("Probe: %v, want ErrTooLong", err)
			}
			t.Log(err)
			runs = nil
			if _, err := d.Frames(context.Background(), path, FrameOptions{}); !errors.Is(err, ErrTooLong) {
				t.Fatalf("Frames: %v", err)
			}
			for _, r := range runs {
				if r == "ffmpeg" {
					t.Fatalf("ffmpeg ran on a video Probe refused: %v", runs)
				}
			}
			// A higher limit accepts it, with the right length.
			d.Limits.MaxDuration = time.Minute
			info, err := d.Probe(context.Background(), path)
			if err != nil || info.Duration < 39*time.Second || info.Duration > 41*time.Second {
				t.Fatalf("with a 1 min limit: %+v %v", info, err)
			}
		})
	}
}

func TestProbeUnavailableTools(t *testing.T) {
	d := Decoder{FFprobe: filepath.Join(t.TempDir(), "no-ffprobe")}
	_, err := d.Probe(context.Background(), shortClip(t, "h264", "a.mp4"))
	if !errors.Is(err, ErrUnavailable) || ErrorCode(err) != CodeUnavailable {
		t.Fatalf("%v", err)
	}
}
