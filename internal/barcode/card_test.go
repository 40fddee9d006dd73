package barcode_test

import (
	"bytes"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/visagehq/visage/internal/barcode"
	"github.com/visagehq/visage/internal/imageio"
)

// The back of a licence is a 85.6 × 54 mm card; at 12 px/mm the PDF417
// symbol (about 75 mm wide on real cards) has modules of 3–4 px.
const cardW, cardH = 1027, 648

// card renders the back of a licence: a tinted card with text-like marks
// above and below the symbol, a 1D-barcode-like strip, and the PDF417
// symbol of data resampled (not pixel-doubled) to 75 mm.
func card(t testing.TB, data []byte, rng *rand.Rand) *imageio.Image {
	t.Helper()
	sym, err := barcode.EncodePDF417(data, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	c := imageio.NewImage(cardW, cardH)
	for y := 0; y < cardH; y++ {
		for x := 0; x < cardW; x++ {
			i := (y*cardW + x) * 3
			// A pale blue-green guilloche-ish tint.
			wave := 10 * math.Sin(float64(x)/23+math.Sin(float64(y)/31)*2)
			c.Pix[i], c.Pix[i+1], c.Pix[i+2] = clamp(225+wave), clamp(235+wave/2), clamp(228-wave)
		}
	}
	// Text lines: short dark dashes like glyphs.
	for _, line := range []struct{ y, x0, x1 int }{{30, 40, 700}, {62, 40, 520}, {560, 40, 980}, {592, 40, 860}} {
		for x := line.x0; x < line.x1; {
			w := 6 + rng.IntN(10)
			fill(c, x, line.y, w, 18, 40)
			x += w + 3 + rng.IntN(6)
		}
	}
	// A 1D barcode strip at the top right.
	for x := 760; x < 990; {
		w := 2 + rng.IntN(5)
		fill(c, x, 20, w, 60, 10)
		x += w + 2 + rng.IntN(5)
	}
	// The symbol, 75 mm wide, centred.
	w := 900
	h := int(math.Round(float64(sym.H) * float64(w) / float64(sym.W)))
	if h > 430 {
		h = 430
	}
	s := sym.Resize(w, h)
	x0, y0 := (cardW-w)/2, 110
	for y := 0; y < h && y0+y < cardH; y++ {
		copy(c.Pix[((y0+y)*cardW+x0)*3:((y0+y)*cardW+x0+w)*3], s.Pix[y*w*3:(y+1)*w*3])
	}
	return c
}

// photo puts the card on a textured table, turned by deg and scaled by
// scale, under uneven light, then blurs it, adds sensor noise and saves it
// as a JPEG of the given quality: the bytes a phone would upload.
func photo(t testing.TB, c *imageio.Image, w, h int, deg, scale float64, quality int, rng *rand.Rand) []byte {
	t.Helper()
	out := imageio.NewImage(w, h)
	rad := deg * math.Pi / 180
	cs, sn := math.Cos(rad), math.Sin(rad)
	cx, cy := float64(w)/2, float64(h)/2
	var px [3]uint8
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Destination → card coordinates (inverse rotation and scale).
			dx, dy := float64(x)-cx, float64(y)-cy
			u := (cs*dx+sn*dy)/scale + float64(cardW)/2
			v := (-sn*dx+cs*dy)/scale + float64(cardH)/2
			i := (y*w + x) * 3
			if u >= 0 && v >= 0 && u < float64(cardW-1) && v < float64(cardH-1) {
				sample(c, u, v, px[:])
			} else {
				// Wood-like table.
				g := 90 + 25*math.Sin(float64(y)/7+3*math.Sin(float64(x)/90))
				px = [3]uint8{clamp(g + 30), clamp(g), clamp(g - 30)}
			}
			light := 0.8 + 0.25*float64(x)/float64(w) - 0.1*float64(y)/float64(h)
			for k := 0; k < 3; k++ {
				out.Pix[i+k] = clamp(float64(px[k]) * light)
			}
		}
	}
	out = blur(out)
	for i := range out.Pix {
		out.Pix[i] = clamp(float64(out.Pix[i]) + rng.NormFloat64()*6)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out.ToRGBA(), &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// blur is a 3×3 box filter: a slightly soft focus.
func blur(m *imageio.Image) *imageio.Image {
	out := imageio.NewImage(m.W, m.H)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			for k := 0; k < 3; k++ {
				s, n := 0, 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := x+dx, y+dy
						if xx >= 0 && yy >= 0 && xx < m.W && yy < m.H {
							s += int(m.Pix[(yy*m.W+xx)*3+k])
							n++
						}
					}
				}
				out.Pix[(y*m.W+x)*3+k] = uint8(s / n)
			}
		}
	}
	return out
}

func sample(m *imageio.Image, x, y float64, out []uint8) {
	x0, y0 := int(x), int(y)
	fx, fy := x-float64(x0), y-float64(y0)
	for k := 0; k < 3; k++ {
		p := func(xx, yy int) float64 { return float64(m.Pix[(yy*m.W+xx)*3+k]) }
		a := p(x0, y0)*(1-fx) + p(x0+1, y0)*fx
		b := p(x0, y0+1)*(1-fx) + p(x0+1, y0+1)*fx
		out[k] = clamp(a*(1-fy) + b*fy)
	}
}

func fill(m *imageio.Image, x0, y0, w, h int, v uint8) {
	for y := y0; y < y0+h && y < m.H; y++ {
		for x := x0; x < x0+w && x < m.W; x++ {
			i := (y*m.W + x) * 3
			m.Pix[i], m.Pix[i+1], m.Pix[i+2] = v, v, v
		}
	}
}

func clamp(v float64) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v + 0.5)
}
