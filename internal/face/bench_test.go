package face

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/imageio"
)

// bench640 is a 640×480 JPEG selfie made from a fixture photo: the size
// the pipeline target is stated for.
func bench640(b *testing.B) []byte {
	b.Helper()
	src := loadFixture(b, "faces", "deepface", "id01_img3", "img3.jpg")
	// Crop a 4:3 window around the image centre, then scale to 640×480.
	w := src.W
	h := w * 3 / 4
	if h > src.H {
		h = src.H
		w = h * 4 / 3
	}
	x0, y0 := float64(src.W-w)/2, float64(src.H-h)/2
	img := src.Warp(imageio.CropResize(x0, y0, x0+float64(w), y0+float64(h), 640, 480), 640, 480)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img.ToRGBA(), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func decoded(b *testing.B) *imageio.Image {
	img, _, err := imageio.Decode(bench640(b), imageio.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	return img
}

func firstFace(b *testing.B, img *imageio.Image) Face {
	faces := analyze(b, img, Options{MaxFaces: 1})
	if len(faces) != 1 {
		b.Fatalf("want one face, got %d", len(faces))
	}
	return faces[0]
}

// timed runs f b.N times and reports the median and 99th percentile
// besides Go's mean, and the process's peak RSS.
func timed(b *testing.B, f func() error) {
	b.Helper()
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
	if kb := peakRSSKB(); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "peak-rss-MB")
	}
}

func peakRSSKB() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

func BenchmarkDecode640(b *testing.B) {
	data := bench640(b)
	timed(b, func() error { _, _, err := imageio.Decode(data, imageio.Limits{}); return err })
}

func BenchmarkDetect(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	timed(b, func() error { _, err := e.Detect(context.Background(), img); return err })
}

func BenchmarkLandmarks(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	f := firstFace(b, img)
	timed(b, func() error { _, err := e.landmarks(img, f.Box); return err })
}

func BenchmarkAlign(b *testing.B) {
	img := decoded(b)
	f := firstFace(b, img)
	timed(b, func() error { _, err := align(img, f.Points5); return err })
}

func BenchmarkEmbed(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	al, _ := align(img, firstFace(b, img).Points5)
	timed(b, func() error { _, err := e.embed(al); return err })
}

func BenchmarkLiveness(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	f := firstFace(b, img)
	timed(b, func() error { _, err := e.liveness(img, f.Box); return err })
}

func BenchmarkQuality(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	f := firstFace(b, img)
	al, _ := align(img, f.Points5)
	timed(b, func() error { e.quality.assess(img, f.Box, al, nil); return nil })
}

func BenchmarkPose(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	f := firstFace(b, img)
	timed(b, func() error { _, err := e.headPose(img, f.Box); return err })
}

func BenchmarkEyes(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	f := firstFace(b, img)
	timed(b, func() error { _, err := e.eyesOpen(img, f.Landmarks); return err })
}

func BenchmarkSmile(b *testing.B) {
	e, img := testEngine(b), decoded(b)
	f := firstFace(b, img)
	timed(b, func() error { _, err := e.smile(img, f.Box); return err })
}

// BenchmarkPipeline is the verification path the target is set for:
// decode + detect + landmarks + align + embed + liveness, one face.
func BenchmarkPipeline(b *testing.B) {
	e, data := testEngine(b), bench640(b)
	timed(b, func() error {
		img, _, err := imageio.Decode(data, imageio.Limits{})
		if err != nil {
			return err
		}
		_, err = e.Analyze(context.Background(), img, Options{MaxFaces: 1, Embed: true, Liveness: true})
		return err
	})
}

// BenchmarkPipelineAll adds quality, pose, eyes and smile (enrolment and
// active-liveness captures).
func BenchmarkPipelineAll(b *testing.B) {
	e, data := testEngine(b), bench640(b)
	timed(b, func() error {
		img, _, err := imageio.Decode(data, imageio.Limits{})
		if err != nil {
			return err
		}
		_, err = e.Analyze(context.Background(), img, Options{MaxFaces: 1, Embed: true, Liveness: true, Quality: true, Attributes: true})
		return err
	})
}
