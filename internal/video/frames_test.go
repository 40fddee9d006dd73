package video

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/imageio"
)

func TestFramesSampling(t *testing.T) {
	ctx := context.Background()
	// 3 s at 20 fps, 1280×720: a desktop webcam's recording.
	src := camera(t, seg([]string{"faces", "bbt", "amy", "amy2.png"}, false, 60))
	path := encode(t, "hd.mp4", "h264", 20, src, "-vf", "scale=1280:720")
	frames, err := Frames(ctx, path, FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 5 fps over 3 s, scaled to the default 720 px long side.
	if len(frames) < 14 || len(frames) > 16 {
		t.Fatalf("%d frames, want ≈15", len(frames))
	}
	for i, f := range frames {
		if f.Image.W != 720 || f.Image.H != 405 || len(f.Image.Pix) != 720*405*3 || f.Index != i ||
			f.Time != time.Duration(i)*200*time.Millisecond {
			t.Fatalf("frame %d: %d×%d at %v", i, f.Image.W, f.Image.H, f.Time)
		}
	}
	// The pixels are the clip's: the middle of frame 0 matches the source
	// frame, scaled the same way, within codec noise.
	want := src[0].Resize(720, 405)
	if d := meanDiff(frames[0].Image, want); d > 6 {
		t.Fatalf("frame 0 differs from the source by %.1f levels on average", d)
	}
	// Few frames spread over the whole clip, not its first second.
	frames, err = Frames(ctx, path, FrameOptions{MaxFrames: 6, MaxSide: 320})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 6 || frames[0].Image.W != 320 || frames[0].Image.H != 180 || frames[5].Time < 2*time.Second {
		t.Fatalf("%d frames, last at %v, %d×%d", len(frames), frames[len(frames)-1].Time, frames[0].Image.W, frames[0].Image.H)
	}
	// Never faster than the video itself, never enlarged.
	small := encode(t, "small.webm", "vp8", 10, camera(t, seg([]string{"faces", "bbt", "amy", "amy2.png"}, false, 10)))
	frames, err = Frames(ctx, small, FrameOptions{FPS: 30, MaxSide: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 10 || frames[0].Image.W != 640 || frames[9].Time != 900*time.Millisecond {
		t.Fatalf("%d frames of %d px, last at %v", len(frames), frames[0].Image.W, frames[len(frames)-1].Time)
	}
}

func meanDiff(a, b *imageio.Image) float64 {
	var s int
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a.Pix))
}

// TestFramesRotation: phones store portrait video as landscape with a
// display matrix; frames come out upright. A white square marks the
// stored picture's top-left corner.
func TestFramesRotation(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "marker.mp4")
	ffmpegRun(t, "-f", "lavfi", "-i", "color=c=black:s=64x32:r=5:d=1,drawbox=x=0:y=0:w=8:h=8:c=white:t=fill",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", src)
	cases := []struct {
		tag      string
		rotation int  // clockwise, as Info reports it
		w, h     int  // upright size
		x, y     int  // where the marker ends up
		portrait bool // for the log
	}{
		{"0", 0, 64, 32, 2, 2, false},
		{"90", 270, 32, 64, 2, 61, true},
		{"180", 180, 64, 32, 61, 29, false},
		{"270", 90, 32, 64, 29, 2, true},
	}
	for _, c := range cases {
		t.Run(c.tag, func(t *testing.T) {
			path := filepath.Join(dir, "rot"+c.tag+".mp4")
			ffmpegRun(t, "-i", src, "-c", "copy", "-metadata:s:v:0", "rotate="+c.tag, path)
			info, err := Probe(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if w, h := info.DisplaySize(); info.Rotation != c.rotation || w != c.w || h != c.h {
				t.Fatalf("rotation %d display %d×%d, want %d %d×%d", info.Rotation, w, h, c.rotation, c.w, c.h)
			}
			frames, err := Frames(context.Background(), path, FrameOptions{Info: info})
			if err != nil {
				t.Fatal(err)
			}
			img := frames[0].Image
			if img.W != c.w || img.H != c.h {
				t.Fatalf("frame %d×%d, want %d×%d", img.W, img.H, c.w, c.h)
			}
			for _, p := range [][2]int{{2, 2}, {img.W - 3, 2}, {2, img.H - 3}, {img.W - 3, img.H - 3}} {
				r, _, _ := img.At(p[0], p[1])
				marker := p[0] == c.x && p[1] == c.y
				if (r > 128) != marker {
					t.Fatalf("pixel %v = %d; the marker should be at (%d, %d)", p, r, c.x, c.y)
				}
			}
		})
	}
}

// TestFramesRefusesDamage: strict decoding. A cut-off upload or one with
// damaged packets is refused as corrupt instead of yielding smeared
// frames.
func TestFramesRefusesDamage(t *testing.T) {
	ham := fixturePath(t, "video", "short_hamilton_clip.mp4")
	fast := filepath.Join(t.TempDir(), "fast.mp4")
	ffmpegRun(t, "-i", ham, "-an", "-c", "copy", "-movflags", "+faststart", fast)
	data, err := os.ReadFile(fast)
	if err != nil {
		t.Fatal(err)
	}
	garbled := append([]byte(nil), data...)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 5000; i < len(garbled); i += 997 {
		garbled[i] = byte(rng.IntN(256))
	}
	cases := map[string]string{
		"cut off mid-stream": writeFile(t, "cut.mp4", data[:len(data)/3]),
		"damaged packets":    writeFile(t, "garbled.mp4", garbled),
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			info, err := Probe(context.Background(), path)
			if err != nil {
				t.Fatalf("the index is intact, Probe should pass: %v", err)
			}
			_, err = Frames(context.Background(), path, FrameOptions{Info: info})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Frames: %v, want ErrCorrupt", err)
			}
			if strings.Contains(err.Error(), path) || strings.Contains(err.Error(), " @ 0x") {
				t.Fatalf("error leaks paths or addresses: %v", err)
			}
			t.Log(err)
		})
	}
}

// TestFramesStopsFFmpeg: a cancelled request or a timeout ends the
// decoder at once, and nothing is left running.
func TestFramesStopsFFmpeg(t *testing.T) {
	long := filepath.Join(t.TempDir(), "long.mp4")
	// 40 s of 720p is seconds of decoding on one thread.
	ffmpegRun(t, "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=40",
		"-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-pix_fmt", "yuv420p", long)
	lim := Limits{MaxDuration: 2 * time.Minute}
	info, err := (&Decoder{Limits: lim}).Probe(context.Background(), long)
	if err != nil {
		t.Fatal(err)
	}
	opt := FrameOptions{Info: info, FPS: 25, MaxFrames: 2000, MaxSide: 64}
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		_, err := (&Decoder{Limits: lim}).Frames(ctx, long, opt)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%v, want context.Canceled", err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("took %v to stop", el)
		}
		noChildren(t)
	})
	t.Run("timeout", func(t *testing.T) {
		d := Decoder{Limits: lim, Timeout: 300 * time.Millisecond}
		_, err := d.Frames(context.Background(), long, opt)
		if !errors.Is(err, context.DeadlineExceeded) || ErrorCode(err) != CodeTimeout {
			t.Fatalf("%v, want a timeout", err)
		}
		noChildren(t)
	})
}

// noChildren fails if this process still has an ffmpeg or ffprobe child.
func noChildren(t *testing.T) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == me && strings.Contains(s[:i], "ff") {
			t.Fatalf("child still running: %s", s[:i+1])
		}
	}
}

// TestFramesLeavesNothingBehind: ffmpeg writes no temporary or log file,
// even when the server's environment asks it to (FFREPORT).
func TestFramesLeavesNothingBehind(t *testing.T) {
	clip := shortClip(t, "vp9", "clip.webm")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("FFREPORT", "file="+filepath.Join(tmp, "report-%p.log")+":level=48")
	frames, err := Frames(context.Background(), clip, FrameOptions{})
	if err != nil || len(frames) != 10 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
