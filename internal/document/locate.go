package document

import (
	"image"
	"math"
	"sort"
)

// The MRZ search runs on a copy scaled to this width: kernel sizes below
// are tuned for it.
const workWidth = 800

// textMask marks pixels of dark print on a lighter ground: the blackhat
// response above Otsu's threshold of that response.
func textMask(g *gray) []bool {
	bh := g.blackhat(15, 15)
	var hist [256]int
	for _, v := range bh.pix {
		hist[v]++
	}
	t := max(otsu(&hist), 24)
	mask := make([]bool, len(bh.pix))
	for i, v := range bh.pix {
		mask[i] = int(v) > t
	}
	return mask
}

// skewAngle finds the rotation (degrees, within ±maxSkew) that makes the
// text rows of the mask sharpest: the projection of text pixels onto the
// vertical axis is peakiest when the lines are horizontal.
func skewAngle(mask []bool, w, h int) float64 {
	type pt struct{ x, y float64 }
	var pts []pt
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x += 2 {
			if mask[y*w+x] {
				pts = append(pts, pt{float64(x - w/2), float64(y - h/2)})
			}
		}
	}
	if len(pts) < 50 {
		return 0
	}
	diag := int(math.Hypot(float64(w), float64(h)))/2 + 2
	bins := make([]int, diag)
	score := func(deg float64) float64 {
		rad := deg * math.Pi / 180
		s, c := math.Sin(rad), math.Cos(rad)
		clear(bins)
		for _, p := range pts {
			// Row of the point once the image is turned by deg.
			y := int(p.x*s+p.y*c)/2 + diag/2
			if y >= 0 && y < len(bins) {
				bins[y]++
			}
		}
		sum := 0.0
		for _, b := range bins {
			sum += float64(b) * float64(b)
		}
		return sum
	}
	const maxSkew = 30.0
	best, bestScore := 0.0, score(0)
	for d := -maxSkew; d <= maxSkew; d += 1 {
		if s := score(d); s > bestScore {
			best, bestScore = d, s
		}
	}
	center := best
	for d := center - 1; d <= center+1; d += 0.2 {
		if s := score(d); s > bestScore {
			best, bestScore = d, s
		}
	}
	return best
}

type box struct{ x0, y0, x1, y1, n int }

func (b box) w() int { return b.x1 - b.x0 }
func (b box) h() int { return b.y1 - b.y0 }

// textLines joins characters into line blobs with a horizontal closing and
// returns the connected components that look like long lines of print.
func textLines(mask []bool, w, h int) []box {
	closed := closeRows(mask, w, h, 5)
	comps := components(closed, w, h)
	// Lines broken at a wide gap are rejoined when they share a row band.
	sort.Slice(comps, func(i, j int) bool { return comps[i].x0 < comps[j].x0 })
	var lines []box
	for _, c := range comps {
		if c.h() < 4 || c.h() > h/4 || c.n < 20 {
			continue
		}
		merged := false
		for i := range lines {
			l := &lines[i]
			ov := min(l.y1, c.y1) - max(l.y0, c.y0)
			hr := float64(max(l.h(), c.h())) / float64(min(l.h(), c.h()))
			if ov > 0 && float64(ov) >= 0.6*float64(min(l.h(), c.h())) && hr <= 1.6 && c.x0-l.x1 < 3*max(l.h(), c.h()) && c.x0 >= l.x0 {
				// The row band stays the larger piece's: a fragment must
				// not stretch the line's height.
				if c.n > l.n {
					l.y0, l.y1 = c.y0, c.y1
				}
				l.x0, l.x1 = min(l.x0, c.x0), max(l.x1, c.x1)
				l.n += c.n
				merged = true
				break
			}
		}
		if !merged {
			lines = append(lines, c)
		}
	}
	var out []box
	for _, l := range lines {
		if l.w() >= w/5 && l.w() >= 8*l.h() && float64(l.n) >= 0.3*float64(l.w()*l.h()) {
			out = append(out, l)
		}
	}
	return out
}

// closeRows is a horizontal morphological closing with a window of
// 2r+1: gaps up to that wide between marks on a row are filled.
func closeRows(mask []bool, w, h, r int) []bool {
	dil := make([]bool, len(mask))
	out := make([]bool, len(mask))
	pre := make([]int, w+1)
	for y := 0; y < h; y++ {
		row := mask[y*w : (y+1)*w]
		for x, on := range row {
			pre[x+1] = pre[x]
			if on {
				pre[x+1]++
			}
		}
		for x := range row {
			dil[y*w+x] = pre[min(w, x+r+1)]-pre[max(0, x-r)] > 0
		}
		drow := dil[y*w : (y+1)*w]
		for x, on := range drow {
			pre[x+1] = pre[x]
			if on {
				pre[x+1]++
			}
		}
		for x := range drow {
			lo, hi := max(0, x-r), min(w, x+r+1)
			out[y*w+x] = pre[hi]-pre[lo] == hi-lo
		}
	}
	return out
}

// components labels 8-connected regions of the mask. Each box's vertical
// extent is trimmed to its core rows (those holding at least a third of
// the busiest row's pixels), so a line touching a frame or a stray stroke
// keeps its real height.
func components(mask []bool, w, h int) []box {
	seen := make([]bool, len(mask))
	rows := make([]int, h)
	var out []box
	stack := make([]int, 0, 1024)
	for i, on := range mask {
		if !on || seen[i] {
			continue
		}
		b := box{x0: i % w, y0: i / w, x1: i%w + 1, y1: i/w + 1}
		seen[i] = true
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			b.n++
			rows[y]++
			b.x0, b.y0 = min(b.x0, x), min(b.y0, y)
			b.x1, b.y1 = max(b.x1, x+1), max(b.y1, y+1)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if mask[q] && !seen[q] {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		peak := 0
		for y := b.y0; y < b.y1; y++ {
			peak = max(peak, rows[y])
		}
		y0, y1 := b.y0, b.y1
		for y0 < y1-1 && rows[y0]*3 < peak {
			y0++
		}
		for y1 > y0+1 && rows[y1-1]*3 < peak {
			y1--
		}
		for y := b.y0; y < b.y1; y++ {
			rows[y] = 0
		}
		b.y0, b.y1 = y0, y1
		out = append(out, b)
	}
	return out
}

// region is a block of 2–3 stacked lines that may be an MRZ, in the
// coordinates of the deskewed work image.
type region struct {
	rect  image.Rectangle
	lines int
	lineH int
	score float64
}

// mrzRegions groups vertically adjacent lines of similar extent and
// height, best candidates first: wide blocks, low on the page.
func mrzRegions(lines []box, w, h int) []region {
	sort.Slice(lines, func(i, j int) bool { return lines[i].y0 < lines[j].y0 })
	var out []region
	for i := range lines {
		group := []box{lines[i]}
		for j := i + 1; j < len(lines) && len(group) < 3; j++ {
			prev, c := group[len(group)-1], lines[j]
			gap := c.y0 - prev.y1
			hr := float64(c.h()) / float64(prev.h())
			ov := min(prev.x1, c.x1) - max(prev.x0, c.x0)
			if gap < -prev.h()/3 {
				continue // overlaps the previous line: a fragment of it
			}
			if gap > 2*max(prev.h(), c.h()) {
				break
			}
			if hr < 0.6 || hr > 1.7 || float64(ov) < 0.7*float64(max(prev.w(), c.w())) {
				continue
			}
			group = append(group, c)
			if len(group) >= 2 {
				out = append(out, makeRegion(group, w, h))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	return out
}

func makeRegion(group []box, w, h int) region {
	r := image.Rectangle{Min: image.Pt(group[0].x0, group[0].y0), Max: image.Pt(group[0].x1, group[0].y1)}
	sumH := 0
	for _, b := range group {
		r = r.Union(image.Rect(b.x0, b.y0, b.x1, b.y1))
		sumH += b.h()
	}
	lh := sumH / len(group)
	// Wide, long-line blocks low on the page score highest; three lines
	// score a little above their two-line sub-block.
	score := float64(r.Dx())/float64(w) + 0.3*float64(r.Max.Y)/float64(h) + 0.05*float64(len(group))
	return region{rect: r, lines: len(group), lineH: max(lh, 1), score: score}
}
