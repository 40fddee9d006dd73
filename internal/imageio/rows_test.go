package imageio

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// Every fast row path gives exactly what color.RGBAModel gives (NRGBA and
// RGBA rows excepted: they drop alpha by design), on sub-images too.
func TestRowFastPathsMatchStdlib(t *testing.T) {
	r := image.Rect(0, 0, 29, 17)
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(pix []uint8) {
		for i := range pix {
			pix[i] = uint8(rng.IntN(256))
		}
	}
	g16, rgba64, nrgba64 := image.NewGray16(r), image.NewRGBA64(r), image.NewNRGBA64(r)
	fill(g16.Pix)
	fill(nrgba64.Pix)
	for i := 0; i < len(rgba64.Pix); i += 8 { // valid premultiplied: colour ≤ alpha
		fill(rgba64.Pix[i : i+8])
		a := uint16(rgba64.Pix[i+6])<<8 | uint16(rgba64.Pix[i+7])
		for c := 0; c < 6; c += 2 {
			v := min(uint16(rgba64.Pix[i+c])<<8|uint16(rgba64.Pix[i+c+1]), a)
			rgba64.Pix[i+c], rgba64.Pix[i+c+1] = uint8(v>>8), uint8(v)
		}
	}
	pal := image.NewPaletted(r, color.Palette{color.Black, color.RGBA{200, 30, 30, 255}, color.NRGBA{10, 200, 90, 128}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(rng.IntN(3))
	}
	gray := image.NewGray(r)
	fill(gray.Pix)
	for _, src := range []image.Image{g16, rgba64, nrgba64, pal, gray} {
		for _, im := range []image.Image{src, src.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(3, 2, 25, 15))} {
			got := FromImage(im)
			b := im.Bounds()
			for y := 0; y < got.H; y++ {
				for x := 0; x < got.W; x++ {
					c := color.RGBAModel.Convert(im.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
					if r0, g0, b0 := got.At(x, y); r0 != c.R || g0 != c.G || b0 != c.B {
						t.Fatalf("%T at %d,%d: got %d,%d,%d want %d,%d,%d", im, x, y, r0, g0, b0, c.R, c.G, c.B)
					}
				}
			}
		}
	}
}
