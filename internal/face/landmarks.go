package face

import (
	"fmt"

	"github.com/visagehq/visage/internal/imageio"
)

// landmarks runs the 68-point model on the detector box, resized to the
// model's input as the model was trained (no aspect correction).
func (e *Engine) landmarks(img *imageio.Image, b Box) ([]Point, error) {
	m := e.lmk.model
	w, h := int(m.Shape[3]), int(m.Shape[2])
	crop := img.Warp(imageio.CropResize(b.X1, b.Y1, b.X2, b.Y2, w, h), w, h)
	out, err := e.lmk.run(toTensor(crop, m))
	if err != nil {
		return nil, fmt.Errorf("landmarks: %w", err)
	}
	v := out[0]
	if len(v) != 136 {
		return nil, fmt.Errorf("landmarks: got %d values, want 136", len(v))
	}
	pts := make([]Point, 68)
	for i := range pts {
		pts[i] = Point{X: b.X1 + float64(v[2*i])*b.W(), Y: b.Y1 + float64(v[2*i+1])*b.H()}
	}
	return pts, nil
}

// refineSide is the side of the second landmark pass's square box, as a
// multiple of the detector box's height. Alignment error against the
// ArcFace template on glint-dev was lowest at 1.1, verification best at
// 1.2–1.3 on glint-dev and at 1.0–1.2 on bbt (docs/calibration.md).
const refineSide = 1.2

// refinedLandmarks runs the landmark model twice: on the detector box,
// then on a square box centred on the points the first pass found. The
// detector's box sits off the face's centre (it takes in hair and chin
// unevenly, more so on profiles), and the landmark model, trained on
// centred crops, places points worse the further the face is off centre:
// the second pass halved the alignment error on glint-dev.
func (e *Engine) refinedLandmarks(img *imageio.Image, b Box) ([]Point, error) {
	p, err := e.landmarks(img, b)
	if err != nil {
		return nil, err
	}
	pb := pointsBox(p)
	cx, cy, half := (pb.X1+pb.X2)/2, (pb.Y1+pb.Y2)/2, refineSide*b.H()/2
	p, err = e.landmarks(img, Box{cx - half, cy - half, cx + half, cy + half})
	if err != nil {
		return nil, fmt.Errorf("refining: %w", err)
	}
	return p, nil
}

// pointsBox is the bounding box of points.
func pointsBox(p []Point) Box {
	b := Box{p[0].X, p[0].Y, p[0].X, p[0].Y}
	for _, q := range p[1:] {
		b = Box{min(b.X1, q.X), min(b.Y1, q.Y), max(b.X2, q.X), max(b.Y2, q.Y)}
	}
	return b
}

// fivePoints reduces the 68-point (iBUG) layout to the 5 alignment points:
// eye centres (image left first), nose tip, mouth corners.
func fivePoints(p []Point) [5]Point {
	mean := func(idx ...int) Point {
		var q Point
		for _, i := range idx {
			q.X += p[i].X
			q.Y += p[i].Y
		}
		return Point{q.X / float64(len(idx)), q.Y / float64(len(idx))}
	}
	return [5]Point{
		mean(37, 38, 40, 41),
		mean(43, 44, 46, 47),
		p[30],
		mean(48, 60),
		mean(54, 64),
	}
}
