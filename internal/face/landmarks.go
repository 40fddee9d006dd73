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
