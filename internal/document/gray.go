package document

import (
	"bytes"
	"image"
	"image/png"
	"math"

	"github.com/visagehq/visage/internal/imageio"
)

// gray is an 8-bit luminance image, the only form the MRZ search and the
// OCR engine need.
type gray struct {
	w, h int
	pix  []uint8
}

func newGray(w, h int) *gray { return &gray{w: w, h: h, pix: make([]uint8, w*h)} }

func toGray(img *imageio.Image) *gray {
	g := newGray(img.W, img.H)
	for i, j := 0, 0; i < len(g.pix); i, j = i+1, j+3 {
		// BT.601 luma in integers.
		g.pix[i] = uint8((299*int(img.Pix[j]) + 587*int(img.Pix[j+1]) + 114*int(img.Pix[j+2]) + 500) / 1000)
	}
	return g
}

func (g *gray) at(x, y int) uint8 {
	if x < 0 {
		x = 0
	} else if x >= g.w {
		x = g.w - 1
	}
	if y < 0 {
		y = 0
	} else if y >= g.h {
		y = g.h - 1
	}
	return g.pix[y*g.w+x]
}

func (g *gray) bilinear(x, y float64) uint8 {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	a := float64(g.at(ix, iy))*(1-fx) + float64(g.at(ix+1, iy))*fx
	b := float64(g.at(ix, iy+1))*(1-fx) + float64(g.at(ix+1, iy+1))*fx
	return uint8(a*(1-fy) + b*fy + 0.5)
}

// resize scales to w×h: area averaging when shrinking (so thin strokes
// survive), bilinear when enlarging.
func (g *gray) resize(w, h int) *gray {
	if w < 1 {
		w = 1
	}
	if h < 1 {
		h = 1
	}
	out := newGray(w, h)
	sx, sy := float64(g.w)/float64(w), float64(g.h)/float64(h)
	if sx <= 1 && sy <= 1 {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out.pix[y*w+x] = g.bilinear((float64(x)+0.5)*sx-0.5, (float64(y)+0.5)*sy-0.5)
			}
		}
		return out
	}
	for y := 0; y < h; y++ {
		y0, y1 := int(float64(y)*sy), int(float64(y+1)*sy)
		if y1 <= y0 {
			y1 = y0 + 1
		}
		for x := 0; x < w; x++ {
			x0, x1 := int(float64(x)*sx), int(float64(x+1)*sx)
			if x1 <= x0 {
				x1 = x0 + 1
			}
			sum, n := 0, 0
			for yy := y0; yy < y1 && yy < g.h; yy++ {
				row := g.pix[yy*g.w:]
				for xx := x0; xx < x1 && xx < g.w; xx++ {
					sum += int(row[xx])
					n++
				}
			}
			if n > 0 {
				out.pix[y*w+x] = uint8(sum / n)
			}
		}
	}
	return out
}

func (g *gray) scale(f float64) *gray {
	return g.resize(int(math.Round(float64(g.w)*f)), int(math.Round(float64(g.h)*f)))
}

// rotate turns the image by deg degrees counter-clockwise about its
// centre onto a canvas large enough to hold all of it; the border is
// filled by replicating the edge so it adds no false text edges.
func (g *gray) rotate(deg float64) *gray {
	if deg == 0 {
		return g
	}
	if deg == 180 || deg == -180 {
		out := newGray(g.w, g.h)
		for i, v := range g.pix {
			out.pix[len(g.pix)-1-i] = v
		}
		return out
	}
	rad := deg * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	w := int(math.Ceil(math.Abs(float64(g.w)*c) + math.Abs(float64(g.h)*s)))
	h := int(math.Ceil(math.Abs(float64(g.w)*s) + math.Abs(float64(g.h)*c)))
	out := newGray(w, h)
	cx, cy := float64(g.w)/2, float64(g.h)/2
	ox, oy := float64(w)/2, float64(h)/2
	for y := 0; y < h; y++ {
		dy := float64(y) - oy
		for x := 0; x < w; x++ {
			dx := float64(x) - ox
			// Inverse map: output → source (image y axis points down).
			sx := c*dx - s*dy + cx
			sy := s*dx + c*dy + cy
			out.pix[y*w+x] = g.bilinear(sx, sy)
		}
	}
	return out
}

func (g *gray) crop(r image.Rectangle) *gray {
	r = r.Intersect(image.Rect(0, 0, g.w, g.h))
	out := newGray(r.Dx(), r.Dy())
	for y := 0; y < out.h; y++ {
		copy(out.pix[y*out.w:(y+1)*out.w], g.pix[(r.Min.Y+y)*g.w+r.Min.X:])
	}
	return out
}

// pngBytes encodes the image; tesseract only ever sees pixels encoded
// here, never the bytes a client uploaded.
func (g *gray) pngBytes() ([]byte, error) {
	img := &image.Gray{Pix: g.pix, Stride: g.w, Rect: image.Rect(0, 0, g.w, g.h)}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// otsu returns the threshold that best separates the histogram in two.
func otsu(hist *[256]int) int {
	total, sum := 0, 0
	for i, n := range hist {
		total += n
		sum += i * n
	}
	best, bestVar := 0, -1.0
	wB, sumB := 0, 0
	for t := 0; t < 256; t++ {
		wB += hist[t]
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += t * hist[t]
		mB := float64(sumB) / float64(wB)
		mF := float64(sum-sumB) / float64(wF)
		v := float64(wB) * float64(wF) * (mB - mF) * (mB - mF)
		if v > bestVar {
			best, bestVar = t, v
		}
	}
	return best
}

// binarize maps to black text on white using Otsu's threshold.
func (g *gray) binarize() *gray {
	var hist [256]int
	for _, v := range g.pix {
		hist[v]++
	}
	t := otsu(&hist)
	out := newGray(g.w, g.h)
	for i, v := range g.pix {
		if int(v) > t {
			out.pix[i] = 255
		}
	}
	return out
}

// maxFilter / minFilter are separable rectangular dilation / erosion
// (van Herk/Gil-Werman would be O(1) per pixel; the windows here are
// small enough that the direct form is fast).
func (g *gray) rankFilter(kw, kh int, isMax bool) *gray {
	better := func(a, b uint8) bool {
		if isMax {
			return a > b
		}
		return a < b
	}
	tmp := newGray(g.w, g.h)
	rw, rh := kw/2, kh/2
	for y := 0; y < g.h; y++ {
		row := g.pix[y*g.w : (y+1)*g.w]
		for x := 0; x < g.w; x++ {
			v := row[x]
			for k := max(0, x-rw); k <= min(g.w-1, x+rw); k++ {
				if better(row[k], v) {
					v = row[k]
				}
			}
			tmp.pix[y*g.w+x] = v
		}
	}
	out := newGray(g.w, g.h)
	for y := 0; y < g.h; y++ {
		for x := 0; x < g.w; x++ {
			v := tmp.pix[y*g.w+x]
			for k := max(0, y-rh); k <= min(g.h-1, y+rh); k++ {
				if better(tmp.pix[k*g.w+x], v) {
					v = tmp.pix[k*g.w+x]
				}
			}
			out.pix[y*g.w+x] = v
		}
	}
	return out
}

// blackhat is closing minus image: bright where dark detail smaller than
// the kernel sits on a lighter background — printed characters.
func (g *gray) blackhat(kw, kh int) *gray {
	closed := g.rankFilter(kw, kh, true).rankFilter(kw, kh, false)
	out := newGray(g.w, g.h)
	for i := range out.pix {
		out.pix[i] = closed.pix[i] - g.pix[i]
	}
	return out
}
