package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"
)

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 80, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeRejectsBadInput(t *testing.T) {
	good := testJPEG(t, 64, 48)
	cases := map[string]struct {
		data []byte
		lim  Limits
		want error
	}{
		"empty":           {nil, Limits{}, ErrEmpty},
		"text":            {[]byte("hello, this is not an image\n"), Limits{}, ErrUnsupported},
		"truncated jpeg":  {good[:len(good)/2], Limits{}, ErrCorrupt},
		"header only":     {good[:20], Limits{}, ErrCorrupt},
		"too many bytes":  {good, Limits{MaxBytes: 100}, ErrTooLarge},
		"too many pixels": {good, Limits{MaxPixels: 64*48 - 1}, ErrTooLarge},
		"png bomb header": {pngHeader(100000, 100000), Limits{}, ErrTooLarge},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := Decode(c.data, c.lim)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	img, info, err := Decode(good, Limits{})
	if err != nil || img.W != 64 || img.H != 48 || info.Format != "jpeg" {
		t.Fatalf("good jpeg: %v %+v", err, info)
	}
}

// pngHeader is a PNG signature and IHDR claiming w×h with no pixel data:
// the shape of a decompression bomb, refused before any allocation.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment holding only the
// orientation tag right after the JPEG SOI marker.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, // big-endian, IFD at 8, 1 entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(o >> 8), byte(o), 0, 0, // orientation SHORT
		0, 0, 0, 0} // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestEXIFOrientation(t *testing.T) {
	base := testJPEG(t, 80, 40)
	plain, _, err := Decode(base, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for o, wantW := range map[uint16]int{1: 80, 3: 80, 6: 40, 8: 40} {
		img, info, err := Decode(withOrientation(base, o), Limits{})
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		if info.Orientation != int(o) || img.W != wantW {
			t.Fatalf("orientation %d: got %d, %dx%d", o, info.Orientation, img.W, img.H)
		}
		if o == 6 { // rotate 90° clockwise: stored top-left lands top-right
			r1, g1, _ := plain.At(0, 0)
			r2, g2, _ := img.At(img.W-1, 0)
			if absDiff(r1, r2) > 12 || absDiff(g1, g2) > 12 {
				t.Fatalf("orientation 6: corner (%d,%d) vs (%d,%d)", r1, g1, r2, g2)
			}
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestPNGAndGrayDecode(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 10, 10))
	g.Pix[0] = 200
	var buf bytes.Buffer
	png.Encode(&buf, g)
	img, _, err := Decode(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r, gg, b := img.At(0, 0); r != 200 || gg != 200 || b != 200 {
		t.Fatalf("gray pixel: %d %d %d", r, gg, b)
	}
}

func TestSimilarityRecoversTransform(t *testing.T) {
	want := Affine{A: 1.5 * math.Cos(0.3), B: -1.5 * math.Sin(0.3), C: 10, D: 1.5 * math.Sin(0.3), E: 1.5 * math.Cos(0.3), F: -4}
	src := [][2]float64{{0, 0}, {10, 2}, {3, 9}, {-4, 7}, {8, -6}}
	dst := make([][2]float64, len(src))
	for i, p := range src {
		x, y := want.Apply(p[0], p[1])
		dst[i] = [2]float64{x, y}
	}
	got, ok := Similarity(src, dst)
	if !ok {
		t.Fatal("degenerate")
	}
	for _, d := range []float64{got.A - want.A, got.B - want.B, got.C - want.C, got.D - want.D, got.E - want.E, got.F - want.F} {
		if math.Abs(d) > 1e-9 {
			t.Fatalf("got %+v want %+v", got, want)
		}
	}
	inv, _ := got.Invert()
	x, y := inv.Apply(got.Apply(3, 4))
	if math.Abs(x-3) > 1e-9 || math.Abs(y-4) > 1e-9 {
		t.Fatalf("inverse: %v %v", x, y)
	}
}

func TestWarpIdentityAndHalf(t *testing.T) {
	img, _, _ := Decode(testJPEG(t, 64, 48), Limits{})
	same := img.Warp(Affine{A: 1, E: 1}, img.W, img.H)
	if !bytes.Equal(same.Pix, img.Pix) {
		t.Fatal("identity warp changed pixels")
	}
	// Shrinking 4× goes through the box-filtered levels and must keep the
	// gradient's mean colour.
	small := img.Resize(16, 12)
	r0, _, _ := img.At(32, 24)
	r1, _, _ := small.At(8, 6)
	if absDiff(r0, r1) > 12 {
		t.Fatalf("downscaled centre red %d vs %d", r1, r0)
	}
	m := img.Mirror()
	a, _, _ := img.At(0, 5)
	b, _, _ := m.At(m.W-1, 5)
	if a != b {
		t.Fatal("mirror")
	}
}

// The fast YCbCr path must agree exactly with the standard library's
// conversion for every chroma subsampling JPEG uses.
func TestYCbCrConversionMatchesStdlib(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, r := range ratios {
		src := image.NewYCbCr(image.Rect(0, 0, 37, 23), r)
		for i := range src.Y {
			src.Y[i] = uint8(i * 7)
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = uint8(i*13), uint8(255-i*5)
		}
		// A sub-image exercises a non-zero Rect.Min.
		for _, im := range []*image.YCbCr{src, src.SubImage(image.Rect(5, 3, 30, 20)).(*image.YCbCr)} {
			got := FromImage(im)
			b := im.Bounds()
			for y := 0; y < got.H; y++ {
				for x := 0; x < got.W; x++ {
					c := color.RGBAModel.Convert(im.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
					if r0, g0, b0 := got.At(x, y); r0 != c.R || g0 != c.G || b0 != c.B {
						t.Fatalf("%v at %d,%d: got %d,%d,%d want %d,%d,%d", r, x, y, r0, g0, b0, c.R, c.G, c.B)
					}
				}
			}
		}
	}
}
