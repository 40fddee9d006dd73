package search

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// The compact store replaces the float32 slab of a large index (see
// compactMinRows). Every template is first rotated by a fixed pseudo-random
// orthogonal transform R (sign flips and Walsh–Hadamard transforms), which
// preserves dot products, then kept twice, compactly:
//
//   - its sign bits (SimHash: for unit vectors the fraction of disagreeing
//     bits estimates the angle), split into a "head" half scanned for every
//     query and a "tail" half read only for the head's best candidates;
//   - a 12-bit code with a per-row scale, used to re-rank a short list: an
//     int8 code q (the rotated vector times s = 127/max|component|, rounded)
//     and a packed 4-bit residual e (what q's rounding lost, times
//     residualScale, rounded). int8 alone is not enough: its cosine error
//     (≈ 3e-4) swaps the top two faces of 1–2 % of impostor queries at 1M,
//     whose best cosines lie a few thousandths apart, and moves faces across
//     the match threshold; the residual cuts the error 14-fold.
//
// Why rotate: sign bits estimate the angle only if the hyperplanes are random
// with respect to the data, and real embeddings are anisotropic (a few
// directions carry most of the variance). The rotation also spreads each
// vector's energy evenly over its components, which shrinks the largest
// component and so the int8 quantisation step.
//
// At dim 512 a template costs 64 B of bits + 512 B of int8 code + 256 B of
// residual + 4 B of scale: 836 B instead of 2048 B.

// compactMinDim is the smallest dimension that may go compact: below it the
// sign bits carry too little information to rank a short list, and exact
// search of a small vector is cheap anyway.
const compactMinDim = 256

// rotationRounds is the number of (sign flip, Walsh–Hadamard) rounds of R.
// One round already flattens the components; three make the sign bits of
// structured (low-rank) data behave like random hyperplanes.
const rotationRounds = 3

// rotationSeed fixes R: codes live in memory only, but a fixed seed makes
// every index (and every test run) encode a vector the same way.
const rotationSeed = 0x5eed_f00d

// compactEligible reports whether an index of dimension dim can go compact:
// the Walsh–Hadamard transform needs a power of two, the sign words whole
// uint64s.
func compactEligible(dim int) bool {
	return dim >= compactMinDim && dim&(dim-1) == 0
}

// rotation is the orthogonal transform R applied before encoding.
type rotation struct {
	dim   int
	signs [rotationRounds][]float32 // ±1 per component and round
	scale float32                   // 1/√dim: makes each Walsh–Hadamard transform orthonormal
}

func newRotation(dim int) *rotation {
	rng := rand.New(rand.NewPCG(rotationSeed, uint64(dim)))
	r := &rotation{dim: dim, scale: float32(1 / math.Sqrt(float64(dim)))}
	for k := range r.signs {
		s := make([]float32, dim)
		for i := range s {
			s[i] = 1
			if rng.IntN(2) == 0 {
				s[i] = -1
			}
		}
		r.signs[k] = s
	}
	return r
}

// apply writes R·src into dst (both of length dim).
func (r *rotation) apply(dst, src []float32) {
	copy(dst, src)
	for _, s := range r.signs {
		for i, x := range s {
			dst[i] *= x * r.scale
		}
		fwht(dst)
	}
}

// fwht is the in-place, unnormalised fast Walsh–Hadamard transform of a
// power-of-two-length vector.
func fwht(v []float32) {
	for h := 1; h < len(v); h *= 2 {
		for i := 0; i < len(v); i += 2 * h {
			a := v[i : i+h : i+h]
			b := v[i+h : i+2*h : i+2*h]
			for j := range a {
				x, y := a[j], b[j]
				a[j], b[j] = x+y, x-y
			}
		}
	}
}

// residualScale maps a rounding error in [−½, ½] to a 4-bit residual in
// [−7, 7].
const residualScale = 14

// codes is the compact store: row r's sign bits are head[r*hw:(r+1)*hw] and
// tail[r*tw:(r+1)*tw], its int8 code q[r*dim:(r+1)*dim], its residuals
// res[r*dim/2:(r+1)*dim/2] (two per byte, component 2i in the low nibble),
// and its cosine with a rotated query x is
// (x·q + x·e/residualScale) · inv[r].
type codes struct {
	dim    int
	hw, tw int // head and tail words per row
	rot    *rotation
	head   []uint64
	tail   []uint64
	q      []int8
	res    []byte
	inv    []float32
	buf    []float32 // rotation scratch for writers (ix.mu held for writing)
}

func newCodes(dim int) *codes {
	words := dim / 64
	return &codes{
		dim: dim,
		hw:  words / 2,
		tw:  words - words/2,
		rot: newRotation(dim),
		buf: make([]float32, dim),
	}
}

func (c *codes) rows() int { return len(c.inv) }

func (c *codes) grow(n int) {
	c.head = slices.Grow(c.head, n*c.hw)
	c.tail = slices.Grow(c.tail, n*c.tw)
	c.q = slices.Grow(c.q, n*c.dim)
	c.res = slices.Grow(c.res, n*c.dim/2)
	c.inv = slices.Grow(c.inv, n)
}

// appendRow encodes vec as a new last row.
func (c *codes) appendRow(vec []float32) {
	c.head = append(c.head, make([]uint64, c.hw)...)
	c.tail = append(c.tail, make([]uint64, c.tw)...)
	c.q = append(c.q, make([]int8, c.dim)...)
	c.res = append(c.res, make([]byte, c.dim/2)...)
	c.inv = append(c.inv, 0)
	c.set(c.rows()-1, vec)
}

// set encodes vec into row r.
func (c *codes) set(r int, vec []float32) {
	x := c.buf
	c.rot.apply(x, vec)
	signBits(c.head[r*c.hw:(r+1)*c.hw], x[:c.hw*64])
	signBits(c.tail[r*c.tw:(r+1)*c.tw], x[c.hw*64:])
	c.inv[r] = quantise(c.q[r*c.dim:(r+1)*c.dim], c.res[r*c.dim/2:(r+1)*c.dim/2], x)
}

// signBits sets bit i of w to 1 where x[i] ≥ 0.
func signBits(w []uint64, x []float32) {
	for i := range w {
		var b uint64
		for j, v := range x[i*64 : (i+1)*64] {
			if v >= 0 {
				b |= 1 << j
			}
		}
		w[i] = b
	}
}

// quantise writes round(x·s) into q, with s = 127/max|x| (the largest
// component maps to ±127), and the rounding errors times residualScale into
// res; it returns 1/s.
func quantise(q []int8, res []byte, x []float32) float32 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	clear(res)
	if m == 0 { // unreachable for a unit vector; keeps the code finite
		clear(q)
		return 0
	}
	s := 127 / m
	for i, v := range x {
		y := float64(v) * s
		qi := math.Round(y)
		q[i] = int8(qi)
		e := int8(math.Round((y - qi) * residualScale)) // in [−7, 7]
		res[i/2] |= byte(e&0xf) << (4 * (i % 2))
	}
	return float32(m / 127)
}

// move copies row src over row dst (swap-remove).
func (c *codes) move(dst, src int) {
	copy(c.head[dst*c.hw:(dst+1)*c.hw], c.head[src*c.hw:(src+1)*c.hw])
	copy(c.tail[dst*c.tw:(dst+1)*c.tw], c.tail[src*c.tw:(src+1)*c.tw])
	copy(c.q[dst*c.dim:(dst+1)*c.dim], c.q[src*c.dim:(src+1)*c.dim])
	h := c.dim / 2
	copy(c.res[dst*h:(dst+1)*h], c.res[src*h:(src+1)*h])
	c.inv[dst] = c.inv[src]
}

// truncate keeps rows [0, n).
func (c *codes) truncate(n int) {
	c.head = c.head[:n*c.hw]
	c.tail = c.tail[:n*c.tw]
	c.q = c.q[:n*c.dim]
	c.res = c.res[:n*c.dim/2]
	c.inv = c.inv[:n]
}

// bytes returns the stored size and the allocated capacity of the codes.
func (c *codes) bytes() (used, capacity int64) {
	used = int64(len(c.head)+len(c.tail))*8 + int64(len(c.q)+len(c.res)) + int64(len(c.inv))*4
	capacity = int64(cap(c.head)+cap(c.tail))*8 + int64(cap(c.q)+cap(c.res)) + int64(cap(c.inv))*4
	return used, capacity
}

// coarse returns row r's cosine with the rotated query x from the int8 code
// alone, and the bound on its distance to score's: the int8 rounding errors
// are at most ½ step each (step = inv[r]), so |Σ xᵢ·errᵢ| ≤ ½·step·‖x‖₁,
// plus the residual's own ½ step/residualScale and float32 rounding.
func (c *codes) coarse(x []float32, l1 float32, r int32) (s, bound float32) {
	inv := c.inv[r]
	s = dotInt8(x, c.q[int(r)*c.dim:(int(r)+1)*c.dim]) * inv
	return s, inv*l1*(0.5+0.5/residualScale) + 1e-5
}

// score returns row r's cosine with the rotated query x from the 12-bit code:
// the cosine a compact search reports.
func (c *codes) score(x []float32, r int32) float32 {
	q := c.q[int(r)*c.dim : (int(r)+1)*c.dim]
	e := c.res[int(r)*c.dim/2 : (int(r)+1)*c.dim/2]
	return (dotInt8(x, q) + dotNibbles(x, e)*(1.0/residualScale)) * c.inv[r]
}

// dotNibbles is dot for packed signed 4-bit values (component 2i in the low
// nibble of byte i).
func dotNibbles(a []float32, b []byte) float32 {
	b = b[:len(a)/2]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+2 <= len(b); i += 2 {
		x := a[2*i : 2*i+4 : 2*i+4]
		y0, y1 := int8(b[i]), int8(b[i+1])
		s0 += x[0] * float32(y0<<4>>4) // sign-extends the low nibble
		s1 += x[1] * float32(y0>>4)
		s2 += x[2] * float32(y1<<4>>4)
		s3 += x[3] * float32(y1>>4)
	}
	for ; i < len(b); i++ {
		y := int8(b[i])
		s0 += a[2*i]*float32(y<<4>>4) + a[2*i+1]*float32(y>>4)
	}
	return (s0 + s1) + (s2 + s3)
}

// dotInt8 is dot for an int8 code. Like dot it uses four accumulators in a
// fixed order, so a row's score does not depend on the search path.
func dotInt8(a []float32, b []int8) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		x := a[i : i+4 : i+4]
		y := b[i : i+4 : i+4]
		s0 += x[0] * float32(y[0])
		s1 += x[1] * float32(y[1])
		s2 += x[2] * float32(y[2])
		s3 += x[3] * float32(y[3])
	}
	for ; i < len(a); i++ {
		s0 += a[i] * float32(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// hamming returns the number of differing bits of a and b (same length).
func hamming(a, b []uint64) int {
	b = b[:len(a)]
	n := 0
	for i, x := range a {
		n += bits.OnesCount64(x ^ b[i])
	}
	return n
}

// hamming4 is hamming for 4 words (the head of a 512-dim code), unrolled:
// the head scan is the only pass over every row, and the loop overhead of
// hamming is a third of its cost there.
func hamming4(a, b []uint64) int {
	a, b = a[:4:4], b[:4:4]
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}
