package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"testing"
)

// fuzzLimits keep each fuzz input cheap; the properties do not depend on
// the size of the limits. MaxSide is below most seeds' size so that the
// shrinking paths run too.
var fuzzLimits = Limits{MaxBytes: 256 << 10, MaxPixels: 1 << 16, MaxSide: 40, MaxMemory: 32 << 20}

// FuzzDecode feeds arbitrary bytes to Decode. Beyond not crashing, every
// answer must be either a well-formed image within the limits or one of
// the sentinel errors callers branch on. The committed corpus
// (testdata/fuzz/FuzzDecode) holds small real photos cut from the
// fixtures, progressive and with camera EXIF; the seeds below add every
// format and pixel layout the decoders distinguish.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, info, err := Decode(data, fuzzLimits)
		if err != nil {
			if img != nil {
				t.Fatal("image returned with an error")
			}
			for _, want := range []error{ErrEmpty, ErrUnsupported, ErrTooLarge, ErrCorrupt} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("error outside the sentinels: %v", err)
		}
		checkImage(t, img, info, fuzzLimits)
	})
}

func checkImage(t *testing.T, img *Image, info Info, lim Limits) {
	t.Helper()
	if img.W <= 0 || img.H <= 0 || len(img.Pix) != img.W*img.H*3 {
		t.Fatalf("malformed image %dx%d with %d bytes", img.W, img.H, len(img.Pix))
	}
	if int64(img.W)*int64(img.H) > lim.MaxPixels || max(img.W, img.H) > lim.MaxSide {
		t.Fatalf("%dx%d exceeds the limits %+v", img.W, img.H, lim)
	}
	if info.Width != img.W || info.Height != img.H || info.Orientation < 1 || info.Orientation > 8 ||
		info.SourceWidth < img.W || info.SourceHeight < img.H || info.Scale <= 0 || info.Scale > 1 ||
		info.Cost <= 0 || info.Cost > lim.MaxMemory {
		t.Fatalf("info %+v for a %dx%d image", info, img.W, img.H)
	}
}

// FuzzOrientation feeds arbitrary bytes to the EXIF reader as a TIFF
// block, and wrapped in a JPEG APP1 segment and a WebP EXIF chunk: it must
// return 1–8 and read the same block the same way whatever container
// carries it. (That it allocates nothing is TestHostileEXIFIsHarmless's
// job: allocation counts are global and the fuzzer's own goroutines
// allocate.)
func FuzzOrientation(f *testing.F) {
	for _, c := range hostileTIFFs() {
		f.Add(c.tiff)
	}
	for o := uint16(0); o <= 9; o++ {
		f.Add(orientationTIFF(binary.LittleEndian, o))
		f.Add(orientationTIFF(binary.BigEndian, o))
	}
	f.Fuzz(func(t *testing.T, tiff []byte) {
		want := tiffOrientation(tiff)
		if want < 1 || want > 8 {
			t.Fatalf("orientation %d", want)
		}
		for _, format := range []string{"jpeg", "webp"} {
			if got := orientation(tiff, format); got < 1 || got > 8 {
				t.Fatalf("raw bytes as %s: orientation %d", format, got)
			}
		}
		if len(tiff) > 0xFFFF-2-len(exifHeader) {
			return
		}
		jpg := withEXIF([]byte{0xFF, 0xD8, 0xFF, 0xD9}, tiff)
		if got := orientation(jpg, "jpeg"); got != want {
			t.Fatalf("in a JPEG: %d, as TIFF: %d", got, want)
		}
		riff := append([]byte("RIFF\x00\x00\x00\x00WEBPEXIF"), binary.LittleEndian.AppendUint32(nil, uint32(len(tiff)))...)
		riff = append(riff, tiff...)
		binary.LittleEndian.PutUint32(riff[4:], uint32(len(riff)-8))
		if got := orientation(riff, "webp"); got != want && !bytes.HasPrefix(tiff, exifHeader) {
			t.Fatalf("in a WebP: %d, as TIFF: %d", got, want)
		}
	})
}

// decodeSeeds are small images of every layout the decoders tell apart,
// plus EXIF-bearing and broken variants.
func decodeSeeds(tb testing.TB) [][]byte {
	up := upright(24, 16)
	encPNG := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			tb.Fatal(err)
		}
		return b.Bytes()
	}
	gray16 := image.NewGray16(up.Rect)
	rgba64 := image.NewNRGBA64(up.Rect)
	pal := image.NewPaletted(up.Rect, color.Palette{color.Black, color.White, color.RGBA{200, 30, 30, 255}})
	gray := image.NewGray(up.Rect)
	for y := 0; y < 16; y++ {
		for x := 0; x < 24; x++ {
			c := up.RGBAAt(x, y)
			gray16.Set(x, y, c)
			rgba64.Set(x, y, color.NRGBA{c.R, c.G, c.B, uint8(x * 10)})
			pal.Set(x, y, c)
			gray.Set(x, y, c)
		}
	}
	var g bytes.Buffer
	if err := gif.Encode(&g, pal, nil); err != nil {
		tb.Fatal(err)
	}
	jpg := encodeJPEG(tb, up)
	seeds := [][]byte{
		jpg, encodeJPEG(tb, gray), encPNG(up), encPNG(gray16), encPNG(rgba64), encPNG(pal), encPNG(gray),
		g.Bytes(), pngHeader(1<<20, 1<<20), withEXIF(jpg, orientationTIFF(binary.BigEndian, 6)),
		withEXIF(jpg, buildTIFF(binary.BigEndian, 1, []ifdEntry{reviewTag}, 0, nil)),
		jpg[:len(jpg)/2],
	}
	if webp, err := os.ReadFile("testdata/testsrc.webp"); err == nil {
		seeds = append(seeds, webp)
	} else {
		tb.Fatal(err)
	}
	return seeds
}
