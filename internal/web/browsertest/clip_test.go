package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// y4mFrames reads a 4:2:0 .y4m file: its header and the luma plane of each
// frame.
func y4mFrames(t *testing.T, path string) (string, [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	header, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		tag, err := r.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil || !strings.HasPrefix(tag, "FRAME") {
			t.Fatalf("frame %d: tag %q: %v", len(frames), tag, err)
		}
		buf := make([]byte, ClipWidth*ClipHeight*3/2)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("frame %d: %v", len(frames), err)
		}
		frames = append(frames, buf[:ClipWidth*ClipHeight])
	}
	return strings.TrimSpace(header), frames
}

func TestBuildClip(t *testing.T) {
	if _, err := FFmpeg(); err != nil {
		missing(t, err.Error())
	}
	// 100×50: fits as 640×320, 80 px bands above and below. Left half
	// black, right half white.
	img := image.NewGray(image.Rect(0, 0, 100, 50))
	for y := 0; y < 50; y++ {
		for x := 50; x < 100; x++ {
			img.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "half.png")
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "clip.y4m")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := BuildClip(ctx, out,
		Segment{Image: src, Seconds: 1},
		Segment{Image: src, Seconds: 0.5, Mirror: true},
		Segment{Image: src, Seconds: 0.5, EdgeFill: true})
	if err != nil {
		t.Fatal(err)
	}
	header, frames := y4mFrames(t, out)
	if !strings.HasPrefix(header, "YUV4MPEG2 W640 H480 F10:1") || !strings.Contains(header, " C420") {
		t.Errorf("header %q", header)
	}
	if len(frames) != 20 {
		t.Fatalf("%d frames, want 20 (2 s at 10 fps)", len(frames))
	}
	at := func(f []byte, x, y int) int { return int(f[y*ClipWidth+x]) }
	near := func(v, want int) bool { return v >= want-20 && v <= want+20 }
	plain, mirrored, edged := frames[0], frames[12], frames[18]
	// Y of a mid-grey pad is about 126 (limited range), black 16, white 235.
	checks := []struct {
		name       string
		frame      []byte
		x, y, want int
	}{
		{"plain: pad above", plain, 100, 20, 126},
		{"plain: image left", plain, 100, 240, 16},
		{"plain: image right", plain, 540, 240, 235},
		{"mirror: image left", mirrored, 100, 240, 235},
		{"mirror: image right", mirrored, 540, 240, 16},
		{"edge: above left", edged, 100, 20, 16},
		{"edge: below right", edged, 540, 460, 235},
	}
	for _, c := range checks {
		if v := at(c.frame, c.x, c.y); !near(v, c.want) {
			t.Errorf("%s: Y(%d,%d) = %d, want ≈%d", c.name, c.x, c.y, v, c.want)
		}
	}
}
