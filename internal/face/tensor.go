package face

import (
	"math"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/models"
)

// toTensor lays out an image (already at the model's input size) as NCHW
// float32 with the model's channel order and normalisation.
func toTensor(img *imageio.Image, m *models.Model) []float32 {
	n := img.W * img.H
	if m.Channels == "GRAY" {
		out := make([]float32, n)
		for i := 0; i < n; i++ {
			p := img.Pix[3*i : 3*i+3]
			g := 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
			out[i] = (g - m.Mean) * m.Scale
		}
		return out
	}
	out := make([]float32, 3*n)
	order := [3]int{0, 1, 2}
	if m.Channels == "BGR" {
		order = [3]int{2, 1, 0}
	}
	for c := 0; c < 3; c++ {
		mean, scale := channelNorm(m, order[c])
		plane := out[c*n : (c+1)*n]
		src := order[c]
		for i := range plane {
			plane[i] = (float32(img.Pix[3*i+src]) - mean) * scale
		}
	}
	return out
}

// channelNorm returns the mean and multiplier for one RGB channel, either
// per-channel (ImageNet style, on 0–1 values) or shared.
func channelNorm(m *models.Model, rgb int) (mean, scale float32) {
	if len(m.MeanRGB) == 3 && len(m.StdRGB) == 3 {
		return m.MeanRGB[rgb] * 255, 1 / (m.StdRGB[rgb] * 255)
	}
	return m.Mean, m.Scale
}

func softmax(v []float32) []float32 {
	maxV := v[0]
	for _, x := range v {
		maxV = max(maxV, x)
	}
	out := make([]float32, len(v))
	var sum float64
	for i, x := range v {
		e := math.Exp(float64(x - maxV))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}
