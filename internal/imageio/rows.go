package imageio

import (
	"image"
	"image/color"
)

// rowReader writes row y (counted from the top of the bounds) of an image
// as packed RGB into dst, which holds exactly one row. Reading row by row
// lets the resampler shrink a decoded image without first converting the
// whole of it to RGB.
type rowReader func(y int, dst []uint8)

// rowsOf returns the row reader for src, with fast paths for the types
// the decoders return. Every fast path gives exactly what the generic
// color.RGBAModel conversion gives, except that NRGBA and RGBA rows drop
// alpha rather than premultiplying (transparent pixels keep their colour,
// which for faces is harmless).
func rowsOf(src image.Image) rowReader {
	b := src.Bounds()
	w := b.Dx()
	switch s := src.(type) {
	case *image.YCbCr:
		return ycbcrRows(s)
	case *image.Gray:
		return func(y int, dst []uint8) {
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range row {
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case *image.Gray16:
		return func(y int, dst []uint8) {
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			for x := 0; x < w; x++ {
				v := row[2*x] // the high byte, as RGBAModel keeps
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case *image.NRGBA:
		return func(y int, dst []uint8) { dropAlpha(dst, s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]) }
	case *image.RGBA:
		return func(y int, dst []uint8) { dropAlpha(dst, s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]) }
	case *image.RGBA64:
		return func(y int, dst []uint8) {
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			for x := 0; x < w; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = row[8*x], row[8*x+2], row[8*x+4]
			}
		}
	case *image.NRGBA64:
		return func(y int, dst []uint8) {
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8]
				a := uint32(p[6])<<8 | uint32(p[7])
				for c := 0; c < 3; c++ { // premultiplied, as color.NRGBA64.RGBA does
					v := uint32(p[2*c])<<8 | uint32(p[2*c+1])
					dst[3*x+c] = uint8(v * a / 0xffff >> 8)
				}
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8 // indices beyond the palette read as black
		for i, c := range s.Palette[:min(len(s.Palette), 256)] {
			if c == nil {
				continue
			}
			rgba := color.RGBAModel.Convert(c).(color.RGBA)
			lut[i] = [3]uint8{rgba.R, rgba.G, rgba.B}
		}
		return func(y int, dst []uint8) {
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range row {
				copy(dst[3*x:3*x+3], lut[v][:])
			}
		}
	}
	return func(y int, dst []uint8) {
		for x := 0; x < w; x++ {
			c := color.RGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			dst[3*x], dst[3*x+1], dst[3*x+2] = c.R, c.G, c.B
		}
	}
}

// rows reads an Image's own rows.
func (m *Image) rows() rowReader {
	return func(y int, dst []uint8) { copy(dst, m.Pix[y*m.W*3:(y+1)*m.W*3]) }
}

func dropAlpha(dst, row []uint8) {
	for x := 0; x < len(row)/4; x++ {
		dst[3*x], dst[3*x+1], dst[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
	}
}

// ycbcrRows converts with the JFIF integer formula, walking rows
// directly: the generic per-pixel YOffset/COffset calls made it ~5× slower.
func ycbcrRows(s *image.YCbCr) rowReader {
	r := s.Rect
	hx, hy := 1, 1 // chroma subsampling factors
	switch s.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hx = 2
	case image.YCbCrSubsampleRatio420:
		hx, hy = 2, 2
	case image.YCbCrSubsampleRatio440:
		hy = 2
	case image.YCbCrSubsampleRatio411:
		hx = 4
	case image.YCbCrSubsampleRatio410:
		hx, hy = 4, 2
	}
	w := r.Dx()
	cx0, cy0 := r.Min.X/hx, r.Min.Y/hy
	// Each column's chroma offset, computed once: a division per pixel
	// cost as much as the colour conversion.
	cx := make([]int32, w)
	for x := range cx {
		cx[x] = int32((r.Min.X+x)/hx - cx0)
	}
	return func(y int, dst []uint8) {
		yrow := s.Y[y*s.YStride:][:w]
		crow := ((r.Min.Y+y)/hy - cy0) * s.CStride
		cb, cr := s.Cb[crow:], s.Cr[crow:]
		dst = dst[:3*w]
		for x, c := range cx {
			yy := int32(yrow[x]) * 0x10101
			b := int32(cb[c]) - 128
			r := int32(cr[c]) - 128
			dst[3*x] = clamp8((yy + 91881*r) >> 16)
			dst[3*x+1] = clamp8((yy - 22554*b - 46802*r) >> 16)
			dst[3*x+2] = clamp8((yy + 116130*b) >> 16)
		}
	}
}
