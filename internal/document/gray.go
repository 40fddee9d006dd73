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

// rankFilter is separable rectangular dilation (isMax) or erosion, by
// van Herk/Gil-Werman: per pixel three comparisons whatever the window,
// where the direct form took a window's worth (it made MRZ detection on a
// selfie frame cost ~0.35 s). Erosion is the dilation of the negative.
// Pixels past the border count as the operation's identity, so windows
// are clamped to the image as before.
func (g *gray) rankFilter(kw, kh int, isMax bool) *gray {
	src := g
	if !isMax {
		src = g.negative()
	}
	tmp := newGray(g.w, g.h)
	rows := newMaxScratch(g.w, kw)
	for y := 0; y < g.h; y++ {
		rows.run(src.pix[y*g.w:(y+1)*g.w], tmp.pix[y*g.w:(y+1)*g.w], kw)
	}
	out := tmp.maxRows(kh)
	if !isMax {
		out = out.negative()
	}
	return out
}

// maxRows is the vertical pass of rankFilter, van Herk/Gil-Werman over
// whole rows at once (element-wise maxima of contiguous rows, where a
// column at a time strode through memory).
func (g *gray) maxRows(k int) *gray {
	w, r := g.w, k/2
	m := g.h + 2*r + k
	zero := make([]uint8, w)
	row := func(p int) []uint8 {
		if y := p - r; y >= 0 && y < g.h {
			return g.pix[y*w : (y+1)*w]
		}
		return zero
	}
	pre, suf := make([]uint8, m*w), make([]uint8, m*w)
	at := func(buf []uint8, p int) []uint8 { return buf[p*w : (p+1)*w] }
	for b := 0; b < m; b += k {
		e := min(b+k, m)
		copy(at(pre, b), row(b))
		for p := b + 1; p < e; p++ {
			maxInto(at(pre, p), at(pre, p-1), row(p))
		}
		copy(at(suf, e-1), row(e-1))
		for p := e - 2; p >= b; p-- {
			maxInto(at(suf, p), at(suf, p+1), row(p))
		}
	}
	out := newGray(w, g.h)
	for y := 0; y < g.h; y++ {
		maxInto(out.pix[y*w:(y+1)*w], at(suf, y), at(pre, y+k-1))
	}
	return out
}

// maxInto sets dst to the element-wise maximum of a and b.
func maxInto(dst, a, b []uint8) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i, v := range a {
		dst[i] = max(v, b[i])
	}
}

func (g *gray) negative() *gray {
	out := newGray(g.w, g.h)
	for i, v := range g.pix {
		out.pix[i] = 255 - v
	}
	return out
}

// maxScratch holds a padded line and its block-wise prefix and suffix
// maxima, for one line length and window.
type maxScratch struct{ pad, pre, suf []uint8 }

func newMaxScratch(n, k int) *maxScratch {
	m := n + 2*(k/2) + k // the padding and room for a whole last block
	return &maxScratch{pad: make([]uint8, m), pre: make([]uint8, m), suf: make([]uint8, m)}
}

// run writes to out[i] the maximum of in over [i-k/2, i+k/2].
func (s *maxScratch) run(in, out []uint8, k int) {
	r, n, m := k/2, len(in), len(s.pad)
	clear(s.pad)
	copy(s.pad[r:], in)
	for b := 0; b < m; b += k {
		e := min(b+k, m)
		s.pre[b] = s.pad[b]
		for i := b + 1; i < e; i++ {
			s.pre[i] = max(s.pre[i-1], s.pad[i])
		}
		s.suf[e-1] = s.pad[e-1]
		for i := e - 2; i >= b; i-- {
			s.suf[i] = max(s.suf[i+1], s.pad[i])
		}
	}
	// The window [i, i+k-1] of the padded line spans at most two blocks:
	// the suffix of one and the prefix of the next.
	for i := 0; i < n; i++ {
		out[i] = max(s.suf[i], s.pre[i+k-1])
	}
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
