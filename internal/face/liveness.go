package face

import (
	"fmt"

	"github.com/visagehq/visage/internal/imageio"
)

// liveness scores a face 0–1 (higher = real): the mean of the anti-spoof
// model on the context crops of the raw box and of the box made square.
// Neither crop alone serves every framing. From the raw (narrow, tall)
// box a close-up's context crop is clamped to a tall strip and squeezed
// into the square input, and live close-ups scored as spoofs (0.37); from
// the square box, the model package's own choice, the portrait selfie
// minivision_T1 loses its side context and scored 0.40 (0.90 raw). The
// mean passes both (close-up 0.66) and kept the fixture set's figures
// (docs/calibration.md). It costs a second liveness pass (≈5 ms).
func (e *Engine) liveness(img *imageio.Image, b Box) (float32, error) {
	raw, err := e.livenessCrop(img, b)
	if err != nil {
		return 0, err
	}
	sq, err := e.livenessCrop(img, b.square())
	if err != nil {
		return 0, err
	}
	return (raw + sq) / 2, nil
}

// livenessCrop scores one context crop crop_scale× the box: print edges,
// screen bezels and moiré around the face are what give a spoof away.
func (e *Engine) livenessCrop(img *imageio.Image, b Box) (float32, error) {
	m := e.live.model
	w, h := int(m.Shape[3]), int(m.Shape[2])
	x0, y0, x1, y1 := contextCrop(b, float64(m.CropScale), img.W, img.H)
	crop := img.Warp(imageio.CropResize(x0, y0, x1, y1, w, h), w, h)
	out, err := e.live.run(toTensor(crop, m))
	if err != nil {
		return 0, fmt.Errorf("liveness: %w", err)
	}
	p := softmax(out[0])
	if m.RealIndex >= len(p) {
		return 0, fmt.Errorf("liveness: real_index %d out of range", m.RealIndex)
	}
	return p[m.RealIndex], nil
}

// contextCrop grows the box by scale around its centre, shrinking the
// scale if the image is too small and sliding the window to stay inside
// the image, as the anti-spoof model was trained.
func contextCrop(b Box, scale float64, iw, ih int) (x0, y0, x1, y1 float64) {
	W, H := float64(iw-1), float64(ih-1)
	s := min(scale, H/b.H(), W/b.W())
	nw, nh := b.W()*s, b.H()*s
	cx, cy := b.X1+b.W()/2, b.Y1+b.H()/2
	x0, y0, x1, y1 = cx-nw/2, cy-nh/2, cx+nw/2, cy+nh/2
	if x0 < 0 {
		x1 -= x0
		x0 = 0
	}
	if y0 < 0 {
		y1 -= y0
		y0 = 0
	}
	if x1 > W {
		x0 -= x1 - W
		x1 = W
	}
	if y1 > H {
		y0 -= y1 - H
		y1 = H
	}
	return max(0, x0), max(0, y0), x1, y1
}
