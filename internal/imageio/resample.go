package imageio

import "math/bits"

// shrinkSize returns the size w×h is decoded at: divided by the smallest
// power of two (rounding up, as DCT scaling does) that brings the longer
// side within maxSide; maxSide ≤ 0 means no limit. Powers of two, not the
// exact fit: TurboJPEG's 1/2, 1/4 and 1/8 scalings are its fastest paths
// (on the fixture photos 1/2 takes 0.84× the CPU of 1/1, while 7/8 … 5/8
// and 3/8 take 1.0–1.55×, and resampling afterwards to an exact fit would
// cost more than the decode), and every detectable face keeps enough
// pixels at half of MaxSide.
func shrinkSize(w, h, maxSide int) (ow, oh, div int) {
	div = 1
	for maxSide > 0 && ceilDiv(max(w, h), div) > maxSide {
		div *= 2
	}
	return ceilDiv(w, div), ceilDiv(h, div), div
}

func ceilDiv(v, d int) int { return (v + d - 1) / d }

// shrinkBox divides a w×h image, read row by row, by div (a power of
// two) to ceil(w/div)×ceil(h/div): each output pixel is the mean of its
// div×div block, with the edge pixels repeated to fill partial blocks at
// the right and bottom. That is the geometry of a DCT-scaled JPEG decode
// (libjpeg pads partial blocks so), so both decoders give the same size
// and alignment. Reading rows keeps the extra memory to a row or two.
func shrinkBox(read rowReader, w, h, div int) *Image {
	ow, oh := ceilDiv(w, div), ceilDiv(h, div)
	out := NewImage(ow, oh)
	lg := bits.TrailingZeros(uint(div))
	row := make([]uint8, 3*ow*div) // room for the repeated last column
	acc := make([]uint64, 3*ow)
	half := uint64(1) << (2 * lg) >> 1
	for oy := 0; oy < oh; oy++ {
		clear(acc)
		for k := 0; k < div; k++ {
			read(min(oy*div+k, h-1), row[:3*w])
			for x := w; x < ow*div; x++ {
				copy(row[3*x:3*x+3], row[3*(w-1):])
			}
			for ox := range ow {
				var r, g, b uint64
				for i, blk := 0, row[3*ox*div:3*(ox+1)*div]; i+2 < len(blk); i += 3 {
					r += uint64(blk[i])
					g += uint64(blk[i+1])
					b += uint64(blk[i+2])
				}
				acc[3*ox] += r
				acc[3*ox+1] += g
				acc[3*ox+2] += b
			}
		}
		dst := out.Pix[3*oy*ow : 3*(oy+1)*ow]
		for i, v := range acc {
			dst[i] = uint8((v + half) >> (2 * lg))
		}
	}
	return out
}
