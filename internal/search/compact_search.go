package search

import (
	"math"
	"sync"
)

// A compact search runs in three passes, each split over the same contiguous
// row ranges (one per worker):
//
//  1. head: Hamming distance of every row's head bits to the query's; the
//     headKeep(rows) closest rows (whole distance classes, so the choice
//     does not depend on row order) go on;
//  2. tail: their distance over all bits; the shortList(rows, k) closest go on;
//  3. re-rank: their 12-bit cosine (codes.score), into per-range top-k heaps
//     that merge as in searchParallel. The int8 part alone is computed first;
//     the residual only for rows that it cannot rule out (codes.coarse), which
//     changes the cost, never the result.
//
// Finally every template of each face in the top k is re-scored, so a face
// whose best template missed the short list still gets its best score.
//
// Sizes (tuned at 1M structured templates, see docs/search.md): the head
// pass keeps 1/headKeepDiv of the rows, at least headKeepMin; the short list
// holds at least shortListMin rows, shortListPerK per requested face, and
// 1/shortListDiv of the rows. The short list must scale with the index: the
// faces that are hard to keep are impostors just above the match threshold,
// and their number grows with the gallery. At 1M, 1/32 and 1/512 gave
// impostor recall@1 0.977 and 0.885 agreement at the threshold; 1/8 and 1/128
// give 1.000 and 0.98 for 2.5× the time.
const (
	headKeepMin   = 8192
	headKeepDiv   = 8
	shortListMin  = 2048
	shortListPerK = 32
	shortListDiv  = 128
)

// headKeep is how many rows the head pass keeps (at least).
func headKeep(rows int) int { return min(rows, max(headKeepMin, rows/headKeepDiv)) }

// shortList is how many rows are re-ranked (at least).
func shortList(rows, k int) int {
	return min(rows, max(shortListMin, shortListPerK*k, rows/shortListDiv))
}

// tailCand is a row that passed the head pass, with its full distance.
type tailCand struct {
	row  int32
	dist uint16
}

// compactPart is one worker's share of a compact search.
type compactPart struct {
	lo, hi int
	head   []uint16 // head distance of rows lo..hi-1
	hHist  []int32  // head distance histogram
	cands  []tailCand
	tHist  []int32 // full distance histogram of cands
	top    *topK
}

// compactScratch holds a search's buffers; searches reuse them through
// scratchPool, so a 1M-row search does not allocate 2 MB per query.
type compactScratch struct {
	x     []float32 // rotated query
	l1    float32   // ‖x‖₁, for codes.coarse
	qbits []uint64
	parts []compactPart
}

var scratchPool = sync.Pool{New: func() any { return new(compactScratch) }}

// searchCompact is Search over the compact store. ix.mu must be held for
// reading.
func (ix *Index) searchCompact(query []float32, k int, minCosine float32, w int) *topK {
	c := ix.codes
	rows := c.rows()
	sc := scratchPool.Get().(*compactScratch)
	defer scratchPool.Put(sc)
	sc.prepare(c, query, rows, w)
	qhead, qtail := sc.qbits[:c.hw], sc.qbits[c.hw:]

	run(w, func(i int) { sc.parts[i].scanHead(c, qhead) })
	cut := cutoff(sc.parts, func(p *compactPart) []int32 { return p.hHist }, headKeep(rows))
	run(w, func(i int) { sc.parts[i].scanTail(c, qtail, cut) })
	cut = cutoff(sc.parts, func(p *compactPart) []int32 { return p.tHist }, shortList(rows, k))
	run(w, func(i int) {
		p := &sc.parts[i]
		p.top = ix.newTopK(k, minCosine)
		p.rerank(c, sc.x, sc.l1, cut)
	})

	top := sc.parts[0].top
	if w > 1 {
		top = ix.newTopK(k, minCosine)
		for i := range sc.parts {
			for _, cd := range sc.parts[i].top.h {
				top.offer(cd.row, cd.score)
			}
		}
	}
	for i := range sc.parts {
		sc.parts[i].top = nil // do not keep the index alive through the pool
	}
	ix.completeFaces(top, sc.x)
	return top
}

// prepare sizes the scratch for rows split over w parts and encodes the query.
func (sc *compactScratch) prepare(c *codes, query []float32, rows, w int) {
	sc.x = resize(sc.x, c.dim)
	c.rot.apply(sc.x, query)
	sc.l1 = 0
	for _, v := range sc.x {
		sc.l1 += float32(math.Abs(float64(v)))
	}
	sc.qbits = resize(sc.qbits, c.hw+c.tw)
	signBits(sc.qbits[:c.hw], sc.x[:c.hw*64])
	signBits(sc.qbits[c.hw:], sc.x[c.hw*64:])
	sc.parts = resize(sc.parts, w)
	for i := range sc.parts {
		p := &sc.parts[i]
		p.lo, p.hi = rows*i/w, rows*(i+1)/w
		p.head = resize(p.head, p.hi-p.lo)
		p.hHist = resize(p.hHist, c.hw*64+1)
		p.tHist = resize(p.tHist, c.dim+1)
		clear(p.hHist)
		clear(p.tHist)
		p.cands = p.cands[:0]
	}
}

// resize returns s with length n, reallocating only if it is too small.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// run calls f(0..w-1) concurrently, f(w-1) on the calling goroutine.
func run(w int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range w - 1 {
		wg.Go(func() { f(i) })
	}
	f(w - 1)
	wg.Wait()
}

// cutoff returns the smallest distance d such that at least keep rows of all
// parts' histograms lie at distance ≤ d.
func cutoff(parts []compactPart, hist func(*compactPart) []int32, keep int) int {
	n := len(hist(&parts[0]))
	total := 0
	for d := range n {
		for i := range parts {
			total += int(hist(&parts[i])[d])
		}
		if total >= keep {
			return d
		}
	}
	return n - 1
}

// scanHead computes the head distance of each of the part's rows.
func (p *compactPart) scanHead(c *codes, qhead []uint64) {
	hw := c.hw
	heads := c.head[p.lo*hw : p.hi*hw]
	dist, hist := p.head, p.hHist
	if hw == 4 {
		for r := range dist {
			d := hamming4(qhead, heads[r*4:r*4+4])
			dist[r] = uint16(d)
			hist[d]++
		}
		return
	}
	for r := range dist {
		d := hamming(qhead, heads[r*hw:(r+1)*hw])
		dist[r] = uint16(d)
		hist[d]++
	}
}

// scanTail adds the tail distance of the rows within head distance cut.
func (p *compactPart) scanTail(c *codes, qtail []uint64, cut int) {
	tw := c.tw
	for i, hd := range p.head {
		if int(hd) > cut {
			continue
		}
		r := p.lo + i
		d := int(hd) + hamming(qtail, c.tail[r*tw:(r+1)*tw])
		p.cands = append(p.cands, tailCand{row: int32(r), dist: uint16(d)})
		p.tHist[d]++
	}
}

// rerank offers the candidates within full distance cut to p.top with their
// 12-bit cosine.
func (p *compactPart) rerank(c *codes, x []float32, l1 float32, cut int) {
	top := p.top
	floor := minCosineFloor(top)
	for _, cd := range p.cands {
		if int(cd.dist) > cut {
			continue
		}
		if s, b := c.coarse(x, l1, cd.row); !(s+b >= floor) {
			continue // cannot reach floor whatever the residual says
		}
		s := c.score(x, cd.row)
		if !(s >= floor) { // also drops NaN, as in scan
			continue
		}
		top.offer(cd.row, s)
		floor = minCosineFloor(top)
	}
}

// completeFaces re-scores every template of the faces in top, so each is
// reported with its best template even if that one missed the short list.
// Scores only rise, so no face leaves the heap.
func (ix *Index) completeFaces(top *topK, x []float32) {
	faces := make([]int32, len(top.h))
	for i, cd := range top.h {
		faces[i] = cd.face
	}
	for _, f := range faces {
		for r := ix.faceHead[f]; r != -1; r = ix.rowNext[r] {
			if s := ix.codes.score(x, r); s >= top.min {
				top.offer(r, s)
			}
		}
	}
}
