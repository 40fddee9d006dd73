package face

import (
	"fmt"

	"github.com/visagehq/visage/internal/imageio"
)

// headPose runs the Hopenet-style pose model: per angle a softmax over
// bins, whose expectation gives degrees.
func (e *Engine) headPose(img *imageio.Image, b Box) (Pose, error) {
	m := e.pose.model
	w, h := int(m.Shape[3]), int(m.Shape[2])
	crop := img.Warp(centredCrop(b, float64(m.CropScale), w, h), w, h)
	out, err := e.pose.run(toTensor(crop, m))
	if err != nil {
		return Pose{}, fmt.Errorf("pose: %w", err)
	}
	angle := func(logits []float32) float64 {
		var s float64
		for i, p := range softmax(logits) {
			s += float64(p) * float64(i)
		}
		return s*float64(m.BinDegrees) + float64(m.OffsetDegrees)
	}
	// The model's yaw is positive toward the image's left; flip so the
	// sign follows Pose's documented convention.
	return Pose{Yaw: -angle(out[0]), Pitch: angle(out[1]), Roll: angle(out[2])}, nil
}

func centredCrop(b Box, scale float64, w, h int) imageio.Affine {
	cx, cy := b.X1+b.W()/2, b.Y1+b.H()/2
	hw, hh := b.W()*scale/2, b.H()*scale/2
	return imageio.CropResize(cx-hw, cy-hh, cx+hw, cy+hh, w, h)
}

// attributes fills eyes-open and smile probabilities where the models exist.
func (e *Engine) attributes(img *imageio.Image, f *Face) error {
	if e.eye != nil {
		p, err := e.eyesOpen(img, f.Landmarks)
		if err != nil {
			return err
		}
		f.EyesOpen = &p
	}
	if e.expr != nil {
		p, err := e.smile(img, f.Box)
		if err != nil {
			return err
		}
		f.Smile = &p
	}
	return nil
}

// eyesOpen averages the open-eye probability of both eyes, each cropped
// square around the eye's centre, crop_scale × the eye's corner distance.
func (e *Engine) eyesOpen(img *imageio.Image, lm []Point) (float32, error) {
	m := e.eye.model
	w, h := int(m.Shape[3]), int(m.Shape[2])
	var sum float32
	for _, eye := range [][6]int{{36, 37, 38, 39, 40, 41}, {42, 43, 44, 45, 46, 47}} {
		c := Point{}
		for _, i := range []int{eye[1], eye[2], eye[4], eye[5]} {
			c.X += lm[i].X / 4
			c.Y += lm[i].Y / 4
		}
		half := (lm[eye[3]].X - lm[eye[0]].X) * float64(m.CropScale) / 2
		half = max(half, 2)
		crop := img.Warp(imageio.CropResize(c.X-half, c.Y-half, c.X+half, c.Y+half, w, h), w, h)
		out, err := e.eye.run(toTensor(crop, m))
		if err != nil {
			return 0, fmt.Errorf("eyes: %w", err)
		}
		sum += softmax(out[0])[m.OpenIndex]
	}
	return sum / 2, nil
}

// smile is the expression model's probability of the "happy" class.
func (e *Engine) smile(img *imageio.Image, b Box) (float32, error) {
	m := e.expr.model
	w, h := int(m.Shape[3]), int(m.Shape[2])
	crop := img.Warp(centredCrop(b, float64(m.CropScale), w, h), w, h)
	out, err := e.expr.run(toTensor(crop, m))
	if err != nil {
		return 0, fmt.Errorf("expression: %w", err)
	}
	return softmax(out[0])[m.SmileIndex], nil
}
