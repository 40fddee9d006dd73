package eval

import (
	"math"
	"path/filepath"
	"sort"
)

// Gallery scores of the enrolment protocol: each identity enrols its first
// k images (sorted by path) as one face; every other image probes every
// face. A probe scores a face by its best single template (Best) or by
// the cosine to the normalised mean of the face's templates (Fused).
type Gallery struct {
	K                           int
	BestPos, BestNeg            []float64
	FusedPos, FusedNeg          []float64
	Identities, Probes, Skipped int // Skipped: identities with no image left to probe
}

// EnrolmentProtocol runs the protocol over unit vectors keyed by image
// path (identity = the path's folder).
func EnrolmentProtocol(vecs map[string][]float32, k int) Gallery {
	byID := map[string][]string{}
	for p := range vecs {
		id := filepath.Dir(p)
		byID[id] = append(byID[id], p)
	}
	ids := make([]string, 0, len(byID))
	for id, ps := range byID {
		sort.Strings(ps)
		ids = append(ids, id)
	}
	sort.Strings(ids)
	g := Gallery{K: k}
	type enrolled struct {
		refs  [][]float32
		fused []float32
	}
	faces := map[string]enrolled{}
	for _, id := range ids {
		ps := byID[id]
		if len(ps) <= k {
			g.Skipped++
			continue
		}
		var e enrolled
		for _, p := range ps[:k] {
			e.refs = append(e.refs, vecs[p])
		}
		e.fused = meanUnit(e.refs)
		faces[id] = e
		g.Identities++
	}
	for _, id := range ids {
		ps := byID[id]
		if _, ok := faces[id]; !ok {
			continue
		}
		for _, p := range ps[k:] {
			g.Probes++
			for fid, e := range faces {
				best := math.Inf(-1)
				for _, r := range e.refs {
					best = math.Max(best, cos(vecs[p], r))
				}
				fused := cos(vecs[p], e.fused)
				if fid == id {
					g.BestPos, g.FusedPos = append(g.BestPos, best), append(g.FusedPos, fused)
				} else {
					g.BestNeg, g.FusedNeg = append(g.BestNeg, best), append(g.FusedNeg, fused)
				}
			}
		}
	}
	return g
}

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// meanUnit is the normalised mean of unit vectors.
func meanUnit(vs [][]float32) []float32 {
	out := make([]float32, len(vs[0]))
	for _, v := range vs {
		for i, x := range v {
			out[i] += x
		}
	}
	var n float64
	for _, x := range out {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	for i := range out {
		out[i] = float32(float64(out[i]) / n)
	}
	return out
}
