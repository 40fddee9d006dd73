package barcode_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/visagehq/visage/internal/barcode"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

// The package's layering: pixels in, symbols out; nothing of HTTP,
// storage, tenants or the face engine.
func TestDependencies(t *testing.T) {
	testenv.ForbidDeps(t, "net/http", "database/sql", "github.com/visagehq/visage/internal/store",
		"github.com/visagehq/visage/internal/api", "github.com/visagehq/visage/internal/tenancy",
		"github.com/visagehq/visage/internal/face", "github.com/visagehq/visage/internal/faceauth",
		"github.com/visagehq/visage/internal/web")
}

func noise(w, h int, seed uint64) *imageio.Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := imageio.NewImage(w, h)
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.UintN(256))
	}
	return m
}

func pattern(w, h int, f func(x, y int) uint8) *imageio.Image {
	m := imageio.NewImage(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := f(x, y)
			i := (y*w + x) * 3
			m.Pix[i], m.Pix[i+1], m.Pix[i+2] = v, v, v
		}
	}
	return m
}

// TestHostileImages: images no camera makes still end in ErrNotFound (or
// a result), never a crash.
func TestHostileImages(t *testing.T) {
	barcode.NeedZXing(t)
	cases := map[string]*imageio.Image{
		"1×1":               imageio.NewImage(1, 1),
		"15×15":             noise(15, 15, 1),
		"16×16 noise":       noise(16, 16, 2),
		"1×5000":            noise(1, 5000, 3),
		"5000×2":            noise(5000, 2, 4),
		"640×480 noise":     noise(640, 480, 5),
		"4000×3000 noise":   noise(4000, 3000, 6),
		"black":             pattern(800, 600, func(int, int) uint8 { return 0 }),
		"white":             pattern(800, 600, func(int, int) uint8 { return 255 }),
		"1-px checkerboard": pattern(800, 600, func(x, y int) uint8 { return uint8(255 * ((x + y) % 2)) }),
		// Bars everywhere look like start and stop patterns to a
		// detector.
		"vertical bars": pattern(1200, 400, func(x, _ int) uint8 { return uint8(255 * ((x / 3) % 2)) }),
		"random bars": func() *imageio.Image {
			rng := rand.New(rand.NewPCG(7, 7))
			cols := make([]uint8, 1500)
			for i := range cols {
				cols[i] = uint8(255 * rng.IntN(2))
			}
			return pattern(1500, 600, func(x, y int) uint8 { return cols[(x+y/40)%1500] })
		}(),
	}
	for name, img := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := barcode.DecodePDF417(context.Background(), img)
			if err == nil {
				t.Logf("found %d symbols", len(res)) // allowed; a crash is not
			} else if !errors.Is(err, barcode.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if _, err := barcode.Decode(context.Background(), img); err != nil && !errors.Is(err, barcode.ErrNotFound) {
				t.Fatalf("Decode (any format): %v", err)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	for name, img := range map[string]*imageio.Image{
		"nil":       nil,
		"zero size": {},
		"short Pix": {W: 10, H: 10, Pix: make([]uint8, 299)},
		"long Pix":  {W: 10, H: 10, Pix: make([]uint8, 301)},
		"negative":  {W: -10, H: -10},
	} {
		if _, err := barcode.Decode(context.Background(), img); !errors.Is(err, barcode.ErrInvalidImage) {
			t.Errorf("%s: err = %v, want ErrInvalidImage", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := barcode.Decode(ctx, noise(100, 100, 1))
	if !errors.Is(err, context.Canceled) && !errors.Is(err, barcode.ErrUnavailable) {
		t.Errorf("cancelled context: err = %v", err)
	}
	for name, args := range map[string]struct {
		data            []byte
		mod, quiet, ecc int
	}{
		"empty":    {nil, 2, 2, 3},
		"module 0": {[]byte("x"), 0, 2, 3},
		"ecc 9":    {[]byte("x"), 2, 2, 9},
		"too long": {bytes.Repeat([]byte{0xAB}, 4000), 2, 2, 3},
		"quiet -1": {[]byte("x"), 2, -1, 3},
	} {
		if _, err := barcode.EncodePDF417(args.data, args.mod, args.quiet, args.ecc); !errors.Is(err, barcode.ErrEncode) {
			t.Errorf("EncodePDF417 %s: err = %v, want ErrEncode", name, err)
		}
	}
}

// TestEveryByte: the raw content survives exactly, all 256 byte values,
// at every error-correction level a licence might use.
func TestEveryByte(t *testing.T) {
	barcode.NeedZXing(t)
	data := make([]byte, 256)
	for i := range data {
		data[i] = byte(i)
	}
	for _, ecc := range []int{2, 3, 5} {
		img, err := barcode.EncodePDF417(data, 2, 2, ecc)
		if err != nil {
			t.Fatal(err)
		}
		res, err := barcode.DecodePDF417(context.Background(), img)
		if err != nil {
			t.Fatalf("ecc %d: %v", ecc, err)
		}
		if !bytes.Equal(res[0].Bytes, data) {
			t.Fatalf("ecc %d: read %x", ecc, res[0].Bytes)
		}
	}
}
