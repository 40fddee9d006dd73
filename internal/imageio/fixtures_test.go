package imageio_test

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

// Real camera and scanner EXIF (Canon little-endian, big-endian document
// scans; 13–20 entries with sub-IFDs, maker notes and thumbnails) reads
// correctly: each file's own orientation entry, rewritten in place to 6,
// turns the decoded image sideways.
func TestRealEXIFOrientation(t *testing.T) {
	for _, p := range [][]string{
		{"faces", "deepface", "id00_img1", "img1.jpg"}, // II, Canon EOS 5D Mark IV
		{"documents", "100_visa-usa.jpg"},              // II
		{"documents", "100_pass-chn.jpg"},              // MM
		{"documents", "100_pass-cze.jpg"},              // MM
	} {
		data, err := os.ReadFile(testenv.Fixture(t, p...))
		if err != nil {
			t.Fatal(err)
		}
		img, info, err := imageio.Decode(data, imageio.Limits{})
		if err != nil || info.Orientation != 1 {
			t.Fatalf("%v: %v, orientation %d", p, err, info.Orientation)
		}
		rotated, ok := setOrientation(data, 6)
		if !ok {
			t.Fatalf("%v: no orientation entry found", p)
		}
		got, info, err := imageio.Decode(rotated, imageio.Limits{})
		if err != nil || info.Orientation != 6 || got.W != img.H || got.H != img.W {
			t.Fatalf("%v: %v, orientation %d, %dx%d from %dx%d", p, err, info.Orientation, got.W, got.H, img.W, img.H)
		}
	}
}

// setOrientation rewrites the first orientation entry (tag 0x0112, SHORT,
// count 1) in either byte order.
func setOrientation(data []byte, o byte) ([]byte, bool) {
	out := append([]byte{}, data...)
	for _, p := range []struct {
		entry []byte
		value int // offset of the value's low byte
	}{
		{[]byte{0x01, 0x12, 0, 3, 0, 0, 0, 1}, 9},
		{[]byte{0x12, 0x01, 3, 0, 1, 0, 0, 0}, 8},
	} {
		if i := bytes.Index(out, p.entry); i >= 0 {
			out[i+p.value] = o
			return out, true
		}
	}
	return nil, false
}

// On real photos, scans and WebP the standard decoders allocate no more
// than the plan's cost, and not much less: the bytes-per-pixel model
// holds for progressive JPEGs (coefficients kept for every block),
// baseline ones, lossy WebP and document PNGs.
func TestCostBoundsGoDecoderOnFixtures(t *testing.T) {
	for _, p := range [][]string{
		{"faces", "deepface", "id09_img26", "img26.jpg"}, // baseline 1449×2173
		{"faces", "deepface", "id12_img38", "img41.jpg"}, // progressive 2500×2070
		{"faces", "deepface", "id02_img8", "img49.jpg"},  // progressive 4352×2903
		{"faces", "deepface", "id02_img8", "img47.jpg"},  // WebP
		{"documents", "100_pass-fin.png"},
		{"documents", "62_pass-aus.png"},
		{"documents", "100_pass-chn.jpg"},
	} {
		data, err := os.ReadFile(testenv.Fixture(t, p...))
		if err != nil {
			t.Fatal(err)
		}
		for _, side := range []int{-1, 0} {
			plan, err := imageio.NewPlan(data, imageio.Limits{MaxSide: side})
			if err != nil {
				t.Fatalf("%v: %v", p, err)
			}
			if plan, err = imageio.GoPlan(plan); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err = imageio.RunPlan(plan, data)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("%v: %v", p, err)
			}
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("%v side %d: %dx%d %.1f bytes/px, cost %.1f MB, allocated %.1f MB", p[len(p)-1], side,
				plan.Width, plan.Height, plan.BytesPerPixel, float64(plan.Cost)/1e6, float64(alloc)/1e6)
			if alloc > plan.Cost || float64(plan.Cost-1<<20) > 1.5*float64(alloc) {
				t.Errorf("%v side %d: allocated %d bytes, priced at %d", p, side, alloc, plan.Cost)
			}
		}
	}
}
