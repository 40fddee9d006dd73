package imageio_test

import (
	"bytes"
	"os"
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
