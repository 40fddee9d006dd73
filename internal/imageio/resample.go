package imageio

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

// tap says which of the (at most two) outputs an input pixel overlaps
// when shrinking, and how much of each: w0 of output j and w1 of j+1, in
// 1/65536ths of an output pixel's area.
type tap struct {
	j      int
	w0, w1 uint32
}

const unit = 1 << 16

// taps computes the area-averaging weights for shrinking n pixels to m
// (m ≤ n). In units of 1/(n·m), input i spans [i·m, (i+1)·m) and output
// j spans [j·n, (j+1)·n); each weight is the overlap, rounded through the
// cumulative position so that every output's weights sum to exactly unit.
func taps(n, m int) []tap {
	out := make([]tap, n)
	cum := func(u int) uint32 { return uint32(u * unit / n) } // u in [0, n]
	for i := range out {
		start, end := i*m, (i+1)*m
		j := start / n
		base := j * n
		mid := min(end, base+n)
		t := tap{j: j, w0: cum(mid-base) - cum(start-base)}
		if end > mid {
			t.w1 = cum(end-base-n) - cum(0)
		}
		out[i] = t
	}
	return out
}

// resample shrinks a w×h image, read row by row, to ow×oh by area
// averaging (each output pixel is the mean of the input area it covers).
// Area averaging neither aliases nor blurs beyond the target size, and
// streaming rows keeps the extra memory to a few rows.
func resample(read rowReader, w, h, ow, oh int) *Image {
	out := NewImage(ow, oh)
	tx, ty := taps(w, ow), taps(h, oh)
	row := make([]uint8, 3*w)
	hrow := make([]uint32, 3*(ow+1)) // one spare output absorbs w1 = 0 taps
	acc := [2][]uint64{make([]uint64, 3*(ow+1)), make([]uint64, 3*(ow+1))}
	cur := 0 // the output row acc[0] collects
	emit := func() {
		o := out.Pix[cur*ow*3 : (cur+1)*ow*3]
		for i := range o {
			o[i] = uint8((acc[0][i] + 1<<31) >> 32)
		}
		acc[0], acc[1] = acc[1], acc[0]
		clear(acc[1])
		cur++
	}
	for y := 0; y < h; y++ {
		read(y, row)
		clear(hrow)
		for x, t := range tx {
			p, o := row[3*x:3*x+3], hrow[3*t.j:3*t.j+6]
			for c := 0; c < 3; c++ {
				o[c] += t.w0 * uint32(p[c])
				o[c+3] += t.w1 * uint32(p[c])
			}
		}
		t := ty[y]
		for t.j > cur {
			emit()
		}
		a0, a1 := acc[0], acc[1]
		w0, w1 := uint64(t.w0), uint64(t.w1)
		for i, v := range hrow[:3*ow] {
			a0[i] += w0 * uint64(v)
			a1[i] += w1 * uint64(v)
		}
	}
	for cur < oh {
		emit()
	}
	return out
}
