package barcode_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/visagehq/visage/internal/barcode"
	"github.com/visagehq/visage/internal/imageio"
)

// BenchmarkDecodePDF417 times one DecodePDF417 call on decoded photos
// (JPEG decoding, imageio's job, is not included): the upright card, a
// skewed one that needs the deskewed attempt, a 12 MP phone photo that
// is shrunk twice (imageio to 3072, this package to 2048), and a photo
// without a symbol, which pays for every attempt.
func BenchmarkDecodePDF417(b *testing.B) {
	barcode.NeedZXing(b)
	cases := []struct {
		name       string
		w, h       int
		deg, scale float64
		symbol     bool
	}{
		{"upright-1600x1200", 1600, 1200, 1, 1.3, true},
		{"skewed12-1600x1200", 1600, 1200, 12, 1.2, true},
		{"phone-4032x3024", 4032, 3024, -4, 3.2, true},
		{"no-symbol-1600x1200", 1600, 1200, 8, 1.3, false},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(11, 13))
		crd := card(b, ohio, rng)
		if !c.symbol {
			fill(crd, 40, 100, 950, 440, 230)
		}
		img, _, err := imageio.Decode(photo(b, crd, c.w, c.h, c.deg, c.scale, 80, rng), imageio.DocumentLimits())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := barcode.DecodePDF417(context.Background(), img)
				if c.symbol && err != nil || !c.symbol && !errors.Is(err, barcode.ErrNotFound) {
					b.Fatal(err)
				}
			}
		})
	}
}
