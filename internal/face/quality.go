package face

import (
	"math"

	"github.com/visagehq/visage/internal/imageio"
)

// QualityPolicy holds the limits below which a face is unusable.
type QualityPolicy struct {
	MinFacePx     int     // shorter side of the detector box
	MinSharpness  float64 // see sharpness; 0–1
	MinBrightness float64
	MaxBrightness float64
	MaxClipped    float64 // share of pixels ≤ 8 or ≥ 247
	MaxYaw        float64 // degrees
	MaxPitch      float64
}

// Defaults were chosen on the fixture sets (see docs/calibration.md):
// every fixture photo a person would accept passes, and the limits sit
// where recognition accuracy measurably drops.
func (q QualityPolicy) withDefaults() QualityPolicy {
	return QualityPolicy{
		MinFacePx:     orDefault(q.MinFacePx, 64),
		MinSharpness:  orDefault(q.MinSharpness, 0.45),
		MinBrightness: orDefault(q.MinBrightness, 40),
		MaxBrightness: orDefault(q.MaxBrightness, 220),
		MaxClipped:    orDefault(q.MaxClipped, 0.35),
		MaxYaw:        orDefault(q.MaxYaw, 45),
		MaxPitch:      orDefault(q.MaxPitch, 35),
	}
}

func orDefault[T int | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Reasons a face can be unusable (stable strings; the API exposes them).
const (
	ReasonTooSmall  = "face_too_small"
	ReasonBlurry    = "blurry"
	ReasonTooDark   = "too_dark"
	ReasonTooBright = "too_bright"
	ReasonExposure  = "poor_exposure"
	ReasonPose      = "pose_too_large"
	ReasonCutOff    = "face_cut_off"
)

func (q QualityPolicy) assess(img *imageio.Image, b Box, aligned *imageio.Image, pose *Pose) Quality {
	gray := grayPlane(aligned)
	res := Quality{
		FacePx:    int(min(b.W(), b.H())),
		Sharpness: sharpness(gray, aligned.W, aligned.H),
	}
	res.Brightness, res.Clipped = exposure(gray)
	add := func(cond bool, reason string) {
		if cond {
			res.Reasons = append(res.Reasons, reason)
		}
	}
	add(res.FacePx < q.MinFacePx, ReasonTooSmall)
	add(res.Sharpness < q.MinSharpness, ReasonBlurry)
	add(res.Brightness < q.MinBrightness, ReasonTooDark)
	add(res.Brightness > q.MaxBrightness, ReasonTooBright)
	add(res.Clipped > q.MaxClipped, ReasonExposure)
	if pose != nil {
		add(math.Abs(pose.Yaw) > q.MaxYaw || math.Abs(pose.Pitch) > q.MaxPitch, ReasonPose)
	}
	// The detector box is clipped to the image; a face touching the border
	// on a side is probably missing a part.
	m := 0.02 * min(b.W(), b.H())
	add(b.X1 <= m || b.Y1 <= m || b.X2 >= float64(img.W)-m || b.Y2 >= float64(img.H)-m, ReasonCutOff)
	res.Usable = len(res.Reasons) == 0
	if res.Reasons == nil {
		res.Reasons = []string{}
	}
	return res
}

func grayPlane(img *imageio.Image) []float64 {
	g := make([]float64, img.W*img.H)
	for i := range g {
		p := img.Pix[3*i : 3*i+3]
		g[i] = 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
	}
	return g
}

// sharpness is 1 minus the no-reference blur estimate of Crete et al.
// (2007): re-blur the face with a 9-tap box filter and see how much of its
// pixel-to-pixel variation survives. A sharp face loses much, a blurred
// one little. Unlike the variance of the Laplacian it does not depend on
// contrast, so a dim but sharp face is not called blurry. On the fixture
// photos sharp faces score 0.51–0.72; faces whose real resolution is below
// ~40 px score under 0.45.
func sharpness(g []float64, w, h int) float64 {
	blur := func(dx, dy int) float64 {
		var sF, sV float64
		for y := 5; y < h-5; y++ {
			for x := 5; x < w-5; x++ {
				var b, bp float64
				for k := -4; k <= 4; k++ {
					b += g[(y+k*dy)*w+x+k*dx]
					bp += g[(y+k*dy-dy)*w+x+k*dx-dx]
				}
				dF := math.Abs(g[y*w+x] - g[(y-dy)*w+x-dx])
				sF += dF
				sV += max(0, dF-math.Abs(b-bp)/9)
			}
		}
		if sF == 0 {
			return 1
		}
		return (sF - sV) / sF
	}
	return 1 - max(blur(1, 0), blur(0, 1))
}

// exposure measures the central face region (the template puts the face
// there; the corners of the aligned crop are background).
func exposure(g []float64) (mean, clipped float64) {
	const lo, hi = 24, 88
	n, c := 0, 0
	for y := lo; y < hi; y++ {
		for x := lo; x < hi; x++ {
			v := g[y*alignedSize+x]
			mean += v
			if v <= 8 || v >= 247 {
				c++
			}
			n++
		}
	}
	return mean / float64(n), float64(c) / float64(n)
}
