package imageio

import "math"

// Affine maps a destination pixel (x, y) to source coordinates:
// sx = A*x + B*y + C, sy = D*x + E*y + F. Integer coordinates are pixel
// centres, as in OpenCV, so landmark coordinates carry over unchanged.
type Affine struct{ A, B, C, D, E, F float64 }

// Apply maps a point.
func (t Affine) Apply(x, y float64) (float64, float64) {
	return t.A*x + t.B*y + t.C, t.D*x + t.E*y + t.F
}

// Invert returns the inverse map; ok is false for a degenerate transform.
func (t Affine) Invert() (Affine, bool) {
	det := t.A*t.E - t.B*t.D
	if math.Abs(det) < 1e-12 {
		return Affine{}, false
	}
	a, b, d, e := t.E/det, -t.B/det, -t.D/det, t.A/det
	return Affine{A: a, B: b, C: -(a*t.C + b*t.F), D: d, E: e, F: -(d*t.C + e*t.F)}, true
}

// scale is the geometric mean of how many source pixels one destination
// pixel spans.
func (t Affine) scale() float64 { return math.Sqrt(math.Abs(t.A*t.E - t.B*t.D)) }

// CropResize returns the transform that maps a w×h output onto the source
// rectangle [x0,x1]×[y0,y1] (edges, not centres).
func CropResize(x0, y0, x1, y1 float64, w, h int) Affine {
	sx, sy := (x1-x0)/float64(w), (y1-y0)/float64(h)
	return Affine{A: sx, C: x0 + 0.5*sx - 0.5, E: sy, F: y0 + 0.5*sy - 0.5}
}

// Warp samples a w×h image through t with bilinear interpolation. When the
// transform shrinks by 2× or more it samples a box-filtered half-size level
// instead, because plain bilinear downscaling aliases fine detail (skin
// texture, eyelashes) that the recognition and liveness models rely on.
func (m *Image) Warp(t Affine, w, h int) *Image {
	src := m
	for t.scale() >= 2 && src.W >= 2 && src.H >= 2 {
		// Level pixel i covers base pixels 2i and 2i+1, centred at 2i+0.5.
		t = Affine{A: t.A / 2, B: t.B / 2, C: (t.C - 0.5) / 2, D: t.D / 2, E: t.E / 2, F: (t.F - 0.5) / 2}
		src = src.Half()
	}
	out := NewImage(w, h)
	for y := 0; y < h; y++ {
		sx, sy := t.Apply(0, float64(y))
		o := out.Pix[y*w*3:]
		for x := 0; x < w; x++ {
			src.bilinear(sx, sy, o[3*x:3*x+3])
			sx += t.A
			sy += t.D
		}
	}
	return out
}

// Resize scales the whole image to w×h.
func (m *Image) Resize(w, h int) *Image {
	return m.Warp(CropResize(0, 0, float64(m.W), float64(m.H), w, h), w, h)
}

// bilinear writes the interpolated RGB at (x, y); outside the image the
// nearest edge pixel is repeated, which keeps crops that overhang the
// border from showing a black frame the models never saw in training.
func (m *Image) bilinear(x, y float64, out []uint8) {
	x = math.Max(0, math.Min(x, float64(m.W-1)))
	y = math.Max(0, math.Min(y, float64(m.H-1)))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, m.W-1), min(y0+1, m.H-1)
	fx, fy := x-float64(x0), y-float64(y0)
	w00, w10 := (1-fx)*(1-fy), fx*(1-fy)
	w01, w11 := (1-fx)*fy, fx*fy
	i00, i10 := (y0*m.W+x0)*3, (y0*m.W+x1)*3
	i01, i11 := (y1*m.W+x0)*3, (y1*m.W+x1)*3
	p := m.Pix
	for c := 0; c < 3; c++ {
		v := w00*float64(p[i00+c]) + w10*float64(p[i10+c]) + w01*float64(p[i01+c]) + w11*float64(p[i11+c])
		out[c] = uint8(v + 0.5)
	}
}

// Half returns the image box-filtered to half size (cached).
func (m *Image) Half() *Image {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.half != nil {
		return m.half
	}
	w, h := m.W/2, m.H/2
	out := NewImage(w, h)
	for y := 0; y < h; y++ {
		r0 := m.Pix[(2*y)*m.W*3:]
		r1 := m.Pix[(2*y+1)*m.W*3:]
		o := out.Pix[y*w*3:]
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				i := 6*x + c
				o[3*x+c] = uint8((int(r0[i]) + int(r0[i+3]) + int(r1[i]) + int(r1[i+3]) + 2) / 4)
			}
		}
	}
	m.half = out
	return out
}

// Similarity estimates the least-squares rotation + uniform scale +
// translation mapping src points onto dst points (Umeyama without
// reflection). A similarity, unlike a full affine, cannot shear a face.
func Similarity(src, dst [][2]float64) (Affine, bool) {
	n := float64(len(src))
	if len(src) != len(dst) || len(src) < 2 {
		return Affine{}, false
	}
	var msx, msy, mdx, mdy float64
	for i := range src {
		msx += src[i][0]
		msy += src[i][1]
		mdx += dst[i][0]
		mdy += dst[i][1]
	}
	msx, msy, mdx, mdy = msx/n, msy/n, mdx/n, mdy/n
	var num1, num2, den float64
	for i := range src {
		px, py := src[i][0]-msx, src[i][1]-msy
		qx, qy := dst[i][0]-mdx, dst[i][1]-mdy
		num1 += px*qx + py*qy
		num2 += px*qy - py*qx
		den += px*px + py*py
	}
	if den < 1e-9 {
		return Affine{}, false
	}
	a, b := num1/den, num2/den
	return Affine{A: a, B: -b, C: mdx - a*msx + b*msy, D: b, E: a, F: mdy - b*msx - a*msy}, true
}
