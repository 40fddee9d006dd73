package face

import "github.com/visagehq/visage/internal/models"

// Score maps cosine similarity to the calibrated 0–100 scale by linear
// interpolation between the manifest's anchors (docs/calibration.md says
// which false-accept rate each anchor stands for and how it was measured).
func (e *Engine) Score(cos float32) float32 { return scoreOf(e.emb.model.Calibration, cos) }

// MatchScore is the default 0–100 decision threshold.
func (e *Engine) MatchScore() float32 {
	if c := e.emb.model.Calibration; c != nil {
		return c.MatchScore
	}
	return 50
}

func scoreOf(c *models.Calibration, cos float32) float32 {
	if c == nil || len(c.Anchors) < 2 {
		return max(0, min(100, cos*100))
	}
	a := c.Anchors
	if cos <= a[0][0] {
		return a[0][1]
	}
	for i := 1; i < len(a); i++ {
		if cos <= a[i][0] {
			f := (cos - a[i-1][0]) / (a[i][0] - a[i-1][0])
			return a[i-1][1] + f*(a[i][1]-a[i-1][1])
		}
	}
	return a[len(a)-1][1]
}

// LivenessThreshold is the default passive-liveness decision threshold.
func (e *Engine) LivenessThreshold() float32 {
	if e.live == nil || e.live.model.Threshold == 0 {
		return 0.5
	}
	return e.live.model.Threshold
}

// CosineAt inverts Score: the smallest cosine whose score reaches score
// (bisection; the map is monotone).
func (e *Engine) CosineAt(score float32) float32 {
	lo, hi := float32(-1), float32(1)
	for i := 0; i < 40; i++ {
		mid := (lo + hi) / 2
		if e.Score(mid) < score {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
