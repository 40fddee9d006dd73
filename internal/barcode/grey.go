package barcode

import (
	"image"
	"math"

	"github.com/visagehq/visage/internal/imageio"
)

// grey is the 8-bit luminance copy handed to zxing-cpp. It remembers how
// it maps back to the caller's image: a shrink factor, and for rotated
// copies the rotation about the centres.
type grey struct {
	w, h int
	pix  []uint8
	div  int     // each pixel averages div×div source pixels
	deg  float64 // rotation applied to the shrunk image (0 for none)
}

// toGrey converts img to luminance, box-shrinking by the smallest integer
// factor that brings the longer side within maxSide.
func toGrey(img *imageio.Image, maxSide int) *grey {
	div := 1
	for max(img.W, img.H) > maxSide*div {
		div++
	}
	w, h := img.W/div, img.H/div
	g := &grey{w: w, h: h, pix: make([]uint8, w*h), div: div}
	if w == 0 || h == 0 {
		return g
	}
	area := div * div
	row := make([]int, w)
	for y := 0; y < h; y++ {
		clear(row)
		for sy := y * div; sy < (y+1)*div; sy++ {
			src := img.Pix[sy*img.W*3:]
			for x := 0; x < w; x++ {
				s := 0
				for sx := x * div; sx < (x+1)*div; sx++ {
					p := src[sx*3:]
					// BT.601 luma, as zxing-cpp computes it from RGB.
					s += 306*int(p[0]) + 601*int(p[1]) + 117*int(p[2])
				}
				row[x] += s
			}
		}
		out := g.pix[y*w:]
		for x := 0; x < w; x++ {
			out[x] = uint8((row[x]/area + 512) >> 10)
		}
	}
	return g
}

// rotate returns the image turned deg degrees counter-clockwise on a
// canvas large enough to hold all of it, the new corners filled white
// (the quiet zone a symbol at the edge needs).
func (g *grey) rotate(deg float64) *grey {
	rad := deg * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	w := int(math.Ceil(math.Abs(float64(g.w)*c) + math.Abs(float64(g.h)*s)))
	h := int(math.Ceil(math.Abs(float64(g.w)*s) + math.Abs(float64(g.h)*c)))
	out := &grey{w: w, h: h, pix: make([]uint8, w*h), div: g.div, deg: deg}
	cx, cy := float64(g.w-1)/2, float64(g.h-1)/2
	ox, oy := float64(w-1)/2, float64(h-1)/2
	for y := 0; y < h; y++ {
		dy := float64(y) - oy
		for x := 0; x < w; x++ {
			dx := float64(x) - ox
			// Inverse map: destination back into the source.
			sx := c*dx - s*dy + cx
			sy := s*dx + c*dy + cy
			out.pix[y*w+x] = g.bilinear(sx, sy)
		}
	}
	return out
}

func (g *grey) bilinear(x, y float64) uint8 {
	if x < 0 || y < 0 || x > float64(g.w-1) || y > float64(g.h-1) {
		return 255
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.w-1), min(y0+1, g.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	p := g.pix
	a := float64(p[y0*g.w+x0])*(1-fx) + float64(p[y0*g.w+x1])*fx
	b := float64(p[y1*g.w+x0])*(1-fx) + float64(p[y1*g.w+x1])*fx
	return uint8(a*(1-fy) + b*fy + 0.5)
}

// toSource maps a point found in g back to the caller's image.
func (g *grey) toSource(p image.Point, base *grey, img *imageio.Image) image.Point {
	x, y := float64(p.X), float64(p.Y)
	if g.deg != 0 {
		rad := g.deg * math.Pi / 180
		c, s := math.Cos(rad), math.Sin(rad)
		dx, dy := x-float64(g.w-1)/2, y-float64(g.h-1)/2
		x = c*dx - s*dy + float64(base.w-1)/2
		y = s*dx + c*dy + float64(base.h-1)/2
	}
	d := float64(g.div)
	sx := int(math.Round((x + 0.5) * d))
	sy := int(math.Round((y + 0.5) * d))
	return image.Point{X: min(max(sx, 0), img.W-1), Y: min(max(sy, 0), img.H-1)}
}

// skew estimates how far the image's dominant straight edges are turned
// from the axes, as the angle in [-45, 45] degrees that rotate must turn
// the image by to straighten them. A card's barcode bars, text lines and borders share one
// orientation; with gradient directions taken four-fold (so that edges 90°
// apart agree) the magnitude-weighted mean direction finds it. share is
// the mean's resultant length, 0 when edges point every way, 1 when all
// are parallel or perpendicular.
func (g *grey) skew() (deg, share float64) {
	// Gradients from 1-px neighbours (bars are 2–4 px wide), taken on a
	// sparse grid: the angle needs many samples, not all of them.
	stride := max(2, max(g.w, g.h)/800)
	p := g.pix
	at := func(x, y int) float64 { return float64(p[y*g.w+x]) }
	var sc, ss, total float64
	for y := 1; y < g.h-1; y += stride {
		for x := 1; x < g.w-1; x += stride {
			gx := at(x+1, y-1) + 2*at(x+1, y) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x-1, y) - at(x-1, y+1)
			gy := at(x-1, y+1) + 2*at(x, y+1) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x, y-1) - at(x+1, y-1)
			m2 := gx*gx + gy*gy
			if m2 < 160*160 {
				continue // flat or noise
			}
			// |g|·(cos 4θ, sin 4θ) is (g/|g|)⁴·|g|: square the gradient
			// as a complex number twice, divide by |g|³.
			a, b := gx*gx-gy*gy, 2*gx*gy
			m := math.Sqrt(m2)
			k := 1 / (m2 * m)
			sc += (a*a - b*b) * k
			ss += 2 * a * b * k
			total += m
		}
	}
	if total == 0 {
		return 0, 0
	}
	deg = math.Atan2(ss, sc) / 4 * 180 / math.Pi
	return deg, math.Hypot(sc, ss) / total
}
