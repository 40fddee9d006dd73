package browsertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/gif" // image formats whose size fitSize reads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/visagehq/visage/internal/testenv"
)

// The fake camera's format: Chromium plays a .y4m file as a 640×480
// camera, looping it.
const (
	ClipWidth  = 640
	ClipHeight = 480
	ClipFPS    = 10
	// PadColor fills the canvas around an image that is not 4:3 (mid grey:
	// neither too dark nor too bright for the quality checks).
	PadColor = "0x808080"
)

// Segment is one still image held in front of the fake camera.
type Segment struct {
	Image   string  // any format ffmpeg reads (PNG, JPEG, WebP)
	Seconds float64 // how long it is held; 0 means 1 s
	Mirror  bool    // flip left↔right (a head turned left becomes turned right)
	// EdgeFill fills the canvas around the image by repeating its edge
	// pixels instead of PadColor. A flat frame around a face looks like a
	// photo of a photo to passive liveness; use this for clips that the
	// real engine must accept as live.
	EdgeFill bool
}

// FFmpeg returns the ffmpeg binary ($VISAGE_FFMPEG or ffmpeg on PATH).
func FFmpeg() (string, error) {
	if p := os.Getenv("VISAGE_FFMPEG"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("VISAGE_FFMPEG=%s: %w", p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", fmt.Errorf("ffmpeg not found on PATH (run scripts/setup-system.sh): %w", err)
	}
	return p, nil
}

// BuildClip writes a .y4m clip to out: each segment's image scaled to fit
// 640×480 (aspect kept, padded with PadColor or, with EdgeFill, its own
// edge pixels), optionally mirrored, held
// for its seconds at ClipFPS, the segments one after another. It is what
// scripts/make-y4m.sh does.
func BuildClip(ctx context.Context, out string, segs ...Segment) error {
	if len(segs) == 0 {
		return fmt.Errorf("browsertest: a clip needs at least one segment")
	}
	ffmpeg, err := FFmpeg()
	if err != nil {
		return err
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y"}
	var filter strings.Builder
	for i, s := range segs {
		if _, err := os.Stat(s.Image); err != nil {
			return fmt.Errorf("browsertest: clip segment %d: %w", i, err)
		}
		secs := s.Seconds
		if secs <= 0 {
			secs = 1
		}
		w, h, err := fitSize(s.Image)
		if err != nil {
			return fmt.Errorf("browsertest: clip segment %d: %w", i, err)
		}
		x, y := (ClipWidth-w)/2, (ClipHeight-h)/2
		args = append(args, "-loop", "1", "-framerate", strconv.Itoa(ClipFPS),
			"-t", strconv.FormatFloat(secs, 'f', 3, 64), "-i", s.Image)
		fmt.Fprintf(&filter, "[%d:v]scale=%d:%d:flags=lanczos,format=gbrp,pad=%d:%d:%d:%d:color=%s",
			i, w, h, ClipWidth, ClipHeight, x, y, PadColor)
		if s.EdgeFill && (w < ClipWidth || h < ClipHeight) {
			fmt.Fprintf(&filter, ",fillborders=left=%d:right=%d:top=%d:bottom=%d:mode=smear",
				x, ClipWidth-w-x, y, ClipHeight-h-y)
		}
		filter.WriteString(",setsar=1,format=yuv420p")
		if s.Mirror {
			filter.WriteString(",hflip")
		}
		fmt.Fprintf(&filter, ",fps=%d[v%d];", ClipFPS, i)
	}
	for i := range segs {
		fmt.Fprintf(&filter, "[v%d]", i)
	}
	fmt.Fprintf(&filter, "concat=n=%d:v=1:a=0[out]", len(segs))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
	args = append(args, "-filter_complex", filter.String(), "-map", "[out]",
		"-r", strconv.Itoa(ClipFPS), "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", tmp)
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("browsertest: ffmpeg: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return os.Rename(tmp, out)
}

// fitSize is the image's size scaled to fit the clip, aspect kept.
func fitSize(path string) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, fmt.Errorf("%s: empty image", path)
	}
	scale := math.Min(float64(ClipWidth)/float64(cfg.Width), float64(ClipHeight)/float64(cfg.Height))
	w = min(ClipWidth, max(1, int(math.Round(float64(cfg.Width)*scale))))
	h = min(ClipHeight, max(1, int(math.Round(float64(cfg.Height)*scale))))
	return w, h, nil
}

// ClipDir is where clips are cached: <repo>/.cache/y4m (git-ignored), or
// $VISAGE_Y4M_DIR.
func ClipDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("VISAGE_Y4M_DIR"); d != "" {
		return d
	}
	return filepath.Join(testenv.Root(t), ".cache", "y4m")
}

// Clip returns a cached clip of the segments, building it with ffmpeg the
// first time. The name is a hash of the images' bytes and the settings, so
// a changed image makes a new clip. Without ffmpeg the test is skipped
// loudly, or fails when VISAGE_REQUIRE_FIXTURES=1.
func Clip(t testing.TB, segs ...Segment) string {
	t.Helper()
	if _, err := FFmpeg(); err != nil {
		missing(t, err.Error())
	}
	h := sha256.New()
	fmt.Fprintf(h, "v2 %dx%d@%d %s\n", ClipWidth, ClipHeight, ClipFPS, PadColor)
	for _, s := range segs {
		f, err := os.Open(s.Image)
		if err != nil {
			t.Fatalf("browsertest: clip image: %v", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "|%g|%v|%v\n", s.Seconds, s.Mirror, s.EdgeFill)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	name := strings.TrimSuffix(filepath.Base(segs[0].Image), filepath.Ext(segs[0].Image))
	out := filepath.Join(ClipDir(t), fmt.Sprintf("%s-%d-%s.y4m", name, len(segs), sum))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := BuildClip(ctx, out, segs...); err != nil {
		t.Fatal(err)
	}
	return out
}
