// Package eval measures verification and liveness accuracy: ROC points,
// equal error rate, true-accept rate at a false-accept rate, and the
// score distributions, from labelled pairs or folder-per-identity sets.
package eval

import (
	"math"
	"sort"
)

// Dist summarises a set of scores.
type Dist struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Min    float64 `json:"min"`
	P01    float64 `json:"p01"`
	P50    float64 `json:"p50"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	sorted []float64
}

// NewDist sorts a copy of xs and summarises it.
func NewDist(xs []float64) Dist {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	d := Dist{N: len(s), sorted: s}
	if len(s) == 0 {
		return d
	}
	var sum, ss float64
	for _, x := range s {
		sum += x
	}
	d.Mean = sum / float64(len(s))
	for _, x := range s {
		ss += (x - d.Mean) * (x - d.Mean)
	}
	d.Std = math.Sqrt(ss / float64(len(s)))
	d.Min, d.Max = s[0], s[len(s)-1]
	d.P01, d.P50, d.P99 = quantile(s, 0.01), quantile(s, 0.5), quantile(s, 0.99)
	return d
}

func quantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}

// fracAtLeast is the share of sorted values ≥ t.
func fracAtLeast(s []float64, t float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := sort.SearchFloat64s(s, t)
	return float64(len(s)-i) / float64(len(s))
}

// Binary is how well a score separates positives (genuine pairs, real
// faces) from negatives (impostors, spoofs); higher scores mean positive.
type Binary struct {
	Positive Dist    `json:"positive"`
	Negative Dist    `json:"negative"`
	AUC      float64 `json:"auc"`
	EER      float64 `json:"eer"`
	EERAt    float64 `json:"eer_threshold"`
	// BestAccuracy is the accuracy at the threshold that maximises it.
	BestAccuracy float64 `json:"best_accuracy"`
	BestAt       float64 `json:"best_threshold"`
	// TARAtFAR maps a target FAR ("1e-2") to the TAR at the lowest
	// threshold whose measured FAR does not exceed it. Targets finer than
	// 1/negatives cannot be measured and are left out.
	TARAtFAR map[string]OpPoint `json:"tar_at_far"`
}

// OpPoint is one operating point.
type OpPoint struct {
	Threshold float64 `json:"threshold"`
	TAR       float64 `json:"tar"`
	FAR       float64 `json:"far"`
}

// Measure computes the metrics for positive and negative scores.
func Measure(pos, neg []float64) Binary {
	b := Binary{Positive: NewDist(pos), Negative: NewDist(neg), TARAtFAR: map[string]OpPoint{}}
	if len(pos) == 0 || len(neg) == 0 {
		return b
	}
	b.AUC = auc(b.Positive.sorted, b.Negative.sorted)
	b.EER, b.EERAt = eer(b.Positive.sorted, b.Negative.sorted)
	b.BestAccuracy, b.BestAt = bestAccuracy(b.Positive.sorted, b.Negative.sorted)
	for _, far := range []struct {
		name string
		v    float64
	}{{"1e-1", 1e-1}, {"1e-2", 1e-2}, {"1e-3", 1e-3}, {"1e-4", 1e-4}} {
		if float64(len(neg))*far.v < 1 {
			continue
		}
		b.TARAtFAR[far.name] = OperatingPoint(b.Positive.sorted, b.Negative.sorted, far.v)
	}
	return b
}

// OperatingPoint returns the lowest threshold (just above some negative
// score) whose FAR is ≤ far, and the TAR there.
func OperatingPoint(pos, neg []float64, far float64) OpPoint {
	allowed := int(math.Floor(far * float64(len(neg)))) // negatives allowed at or above t
	var t float64
	if allowed >= len(neg) {
		t = neg[0]
	} else {
		t = math.Nextafter(neg[len(neg)-1-allowed], math.Inf(1))
	}
	return OpPoint{Threshold: t, TAR: fracAtLeast(pos, t), FAR: fracAtLeast(neg, t)}
}

// auc is the probability that a random positive outscores a random
// negative (ties count half): the Mann–Whitney statistic.
func auc(pos, neg []float64) float64 {
	var wins float64
	for _, p := range pos {
		lo := sort.SearchFloat64s(neg, p)                    // negatives < p
		hi := sort.SearchFloat64s(neg, math.Nextafter(p, 2)) // negatives ≤ p
		wins += float64(lo) + 0.5*float64(hi-lo)
	}
	return wins / float64(len(pos)*len(neg))
}

// candidates are the thresholds where an error rate changes.
func candidates(pos, neg []float64) []float64 {
	c := make([]float64, 0, len(pos)+len(neg)+1)
	c = append(c, pos...)
	c = append(c, neg...)
	for _, n := range neg {
		c = append(c, math.Nextafter(n, math.Inf(1)))
	}
	sort.Float64s(c)
	return c
}

// eer finds the threshold where false rejects and false accepts are
// closest and reports their mean there.
func eer(pos, neg []float64) (rate, at float64) {
	best := math.Inf(1)
	for _, t := range candidates(pos, neg) {
		frr := 1 - fracAtLeast(pos, t)
		far := fracAtLeast(neg, t)
		if d := math.Abs(frr - far); d < best {
			best, rate, at = d, (frr+far)/2, t
		}
	}
	return rate, at
}

func bestAccuracy(pos, neg []float64) (acc, at float64) {
	n := float64(len(pos) + len(neg))
	for _, t := range candidates(pos, neg) {
		correct := fracAtLeast(pos, t)*float64(len(pos)) + (1-fracAtLeast(neg, t))*float64(len(neg))
		if a := correct / n; a > acc {
			acc, at = a, t
		}
	}
	return acc, at
}

// At reports error rates at a fixed threshold.
type At struct {
	Threshold float64 `json:"threshold"`
	// FRR: positives scored below; FAR: negatives at or above.
	FRR      float64 `json:"frr"`
	FAR      float64 `json:"far"`
	Accuracy float64 `json:"accuracy"`
}

// AtThreshold evaluates a fixed decision threshold.
func AtThreshold(pos, neg []float64, t float64) At {
	p, n := NewDist(pos).sorted, NewDist(neg).sorted
	tar, far := fracAtLeast(p, t), fracAtLeast(n, t)
	acc := (tar*float64(len(p)) + (1-far)*float64(len(n))) / float64(len(p)+len(n))
	return At{Threshold: t, FRR: 1 - tar, FAR: far, Accuracy: acc}
}

// Scored is one pair with its similarity.
type Scored struct {
	A, B  string
	Same  bool
	Score float64
}

// Rank1 is leave-one-out identification over all pairs of a set: each
// image in turn is the probe, every other image the gallery, and the probe
// counts as identified when its most similar gallery image is the same
// person. Probes with no genuine partner among the scored pairs cannot be
// identified and are left out. It is meaningful only when every pair of
// the set was scored (IdentityPairs).
func Rank1(pairs []Scored) (rate float64, probes int) {
	type best struct {
		score      float64
		same, seen bool
	}
	nearest := map[string]*best{}
	hasMate := map[string]bool{}
	note := func(probe string, s float64, same bool) {
		b := nearest[probe]
		if b == nil {
			b = &best{}
			nearest[probe] = b
		}
		if !b.seen || s > b.score {
			*b = best{score: s, same: same, seen: true}
		}
		if same {
			hasMate[probe] = true
		}
	}
	for _, p := range pairs {
		note(p.A, p.Score, p.Same)
		note(p.B, p.Score, p.Same)
	}
	hits := 0
	for img, b := range nearest {
		if !hasMate[img] {
			continue
		}
		probes++
		if b.same {
			hits++
		}
	}
	if probes == 0 {
		return 0, 0
	}
	return float64(hits) / float64(probes), probes
}
