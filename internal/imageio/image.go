package imageio

import (
	"image"
	"sync"
)

// Image is packed 8-bit RGB, row-major, 3 bytes a pixel. The engine's
// tensors are filled straight from it, which is why it is not image.RGBA.
type Image struct {
	W, H int
	Pix  []uint8

	mu   sync.Mutex
	half *Image // cached by Half for repeated downscaled sampling
}

// NewImage allocates a black w×h image.
func NewImage(w, h int) *Image { return &Image{W: w, H: h, Pix: make([]uint8, w*h*3)} }

// FromImage converts any image.Image, with fast paths for the types the
// standard decoders return.
func FromImage(src image.Image) *Image {
	b := src.Bounds()
	dst := NewImage(b.Dx(), b.Dy())
	read := rowsOf(src)
	for y := 0; y < dst.H; y++ {
		read(y, dst.Pix[y*dst.W*3:(y+1)*dst.W*3])
	}
	return dst
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// At returns the pixel at (x, y), clamped to the image.
func (m *Image) At(x, y int) (r, g, b uint8) {
	x = clampInt(x, 0, m.W-1)
	y = clampInt(y, 0, m.H-1)
	i := (y*m.W + x) * 3
	return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
}

// ToRGBA converts back for encoding (debug output, stored thumbnails).
func (m *Image) ToRGBA() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i, j := 0, 0; i < len(m.Pix); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255
	}
	return out
}

// Orient applies an EXIF orientation (1–8) and returns the upright image.
func (m *Image) Orient(o int) *Image {
	if o <= 1 || o > 8 {
		return m
	}
	w, h := m.W, m.H
	if o >= 5 {
		w, h = h, w
	}
	out := NewImage(w, h)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			dx, dy := orientXY(o, x, y, m.W, m.H)
			si, di := (y*m.W+x)*3, (dy*w+dx)*3
			copy(out.Pix[di:di+3], m.Pix[si:si+3])
		}
	}
	return out
}

// orientXY maps a stored pixel to its upright position (EXIF 2.3, tag 0x0112).
func orientXY(o, x, y, w, h int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return h - 1 - y, x
	case 7:
		return h - 1 - y, w - 1 - x
	case 8:
		return y, w - 1 - x
	}
	return x, y
}

// Mirror flips the image left to right.
func (m *Image) Mirror() *Image { return m.Orient(2) }

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
