package barcode

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
)

// fuzzImage turns fuzz bytes into a grey image: the first byte sets the
// width (8–263), the rest are pixels, row after row.
func fuzzImage(data []byte) *imageio.Image {
	if len(data) < 2 {
		return nil
	}
	w := 8 + int(data[0])
	pix := data[1:]
	h := len(pix) / w
	if h == 0 {
		return nil
	}
	img := imageio.NewImage(w, h)
	for i := 0; i < w*h; i++ {
		img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = pix[i], pix[i], pix[i]
	}
	return img
}

// FuzzDecode hands zxing-cpp every kind of damaged symbol: the seed
// corpus (testdata/fuzz/FuzzDecode) holds small PDF417 symbols, whole and
// with bars flipped, so mutations reach its codeword and bit-stream
// decoders, not only its detector. Any outcome but a crash is fine; the
// error must be one of the package's.
func FuzzDecode(f *testing.F) {
	NeedZXing(f)
	for _, s := range []string{"@\n\x1e\rANSI 636023090001DL00310020DLDAQ1\r", "\x00\xff binary"} {
		img, err := EncodePDF417([]byte(s), 1, 2, 2)
		if err != nil || img.W > 263 {
			f.Fatalf("seed symbol: %v (width %d)", err, img.W)
		}
		data := []byte{byte(img.W - 8)}
		for i := 0; i < img.W*img.H; i++ {
			data = append(data, img.Pix[3*i])
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		img := fuzzImage(data)
		if img == nil {
			return
		}
		res, err := Options{}.Decode(context.Background(), img, Any)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("unexpected error %v", err)
		}
		for _, r := range res {
			if r.FormatName == "" {
				t.Fatalf("result without a format: %+v", r)
			}
		}
	})
}

// TestMutatedSymbols is a short, deterministic stand-in for fuzzing in
// the ordinary test run: the seed symbols with random pixels, rows and
// widths changed, every one decoded. (zxing-cpp is not instrumented, so
// go test -fuzz mostly mutates blindly here too, and spends its time
// minimising.)
func TestMutatedSymbols(t *testing.T) {
	NeedZXing(t)
	var seeds [][]byte
	for _, s := range []string{"@\n\x1e\rANSI 636023090001DL00310020DLDAQ1\r", "0123456789012345678901234567890123456789"} {
		img, err := EncodePDF417([]byte(s), 2, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		data := []byte{byte(img.W - 8)}
		for i := 0; i < img.W*img.H; i++ {
			data = append(data, img.Pix[3*i])
		}
		seeds = append(seeds, data)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	decoded := 0
	for n := 0; n < 300; n++ {
		d := append([]byte(nil), seeds[n%len(seeds)]...)
		for k := 0; k < 1+rng.IntN(6); k++ {
			switch i := 1 + rng.IntN(len(d)-1); rng.IntN(4) {
			case 0:
				d[i] = byte(rng.UintN(256))
			case 1:
				d[0] += byte(rng.IntN(3)) - 1 // shear the rows
			case 2:
				d = append(d[:i], d[min(len(d), i+rng.IntN(400)):]...)
			case 3:
				for j := i; j < min(len(d), i+rng.IntN(400)); j++ {
					d[j] ^= 0xff
				}
			}
		}
		img := fuzzImage(d)
		if img == nil {
			continue
		}
		res, err := Options{}.Decode(context.Background(), img, Any)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("mutation %d: %v", n, err)
		}
		if len(res) > 0 {
			decoded++
		}
	}
	if decoded == 0 {
		t.Error("no mutated symbol decoded: the mutations never reach the decoders")
	}
	t.Logf("%d of 300 mutated symbols still decoded", decoded)
}
