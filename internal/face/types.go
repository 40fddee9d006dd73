// Package face is the face engine: detection, landmarks, alignment,
// embeddings, quality, passive liveness and the attributes active liveness
// challenges need. It runs ONNX models through ONNX Runtime and knows
// nothing of HTTP, tenants or storage.
package face

import (
	"errors"
)

// Errors callers branch on.
var (
	ErrNoFace        = errors.New("no face found")
	ErrMultipleFaces = errors.New("more than one face found")
	ErrUnavailable   = errors.New("model not configured")
	ErrModelMismatch = errors.New("embeddings from different models cannot be compared")
	ErrClosed        = errors.New("face engine closed")
)

// Point is an image coordinate in pixels.
type Point struct{ X, Y float64 }

// Box is a face rectangle in pixels, corners (x1, y1)–(x2, y2).
type Box struct{ X1, Y1, X2, Y2 float64 }

// W and H are the box's width and height.
func (b Box) W() float64 { return b.X2 - b.X1 }
func (b Box) H() float64 { return b.Y2 - b.Y1 }

// square is the box made square, side = its height, on the same centre:
// the detector's boxes are often much narrower than tall, and the
// landmark and liveness models' own pipeline squares them this way
// before cropping (faceplugin-face-recognition-js, fr_detect.js).
func (b Box) square() Box {
	cx, half := (b.X1+b.X2)/2, b.H()/2
	return Box{cx - half, b.Y1, cx + half, b.Y2}
}

func (b Box) area() float64 { return max(0, b.W()) * max(0, b.H()) }

func (b Box) iou(o Box) float64 {
	inter := Box{max(b.X1, o.X1), max(b.Y1, o.Y1), min(b.X2, o.X2), min(b.Y2, o.Y2)}.area()
	u := b.area() + o.area() - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// Detection is one detector hit.
type Detection struct {
	Box   Box
	Score float32
}

// Pose is the head orientation in degrees. Yaw > 0: the face turns toward
// the image's right (the subject's own left in an unmirrored photo);
// pitch > 0: up; roll > 0: the head tilts clockwise in the image.
type Pose struct {
	Yaw   float64
	Pitch float64
	Roll  float64
}

// Quality says whether a face is good enough to enrol or verify.
type Quality struct {
	FacePx     int     // shorter side of the box
	Sharpness  float64 // 0–1, higher is sharper (see quality.go)
	Brightness float64 // mean grey level 0–255 of the aligned face
	Clipped    float64 // share of under/over-exposed pixels
	Usable     bool
	Reasons    []string
}

// Embedding is a face vector stamped with the model that made it.
type Embedding struct {
	Model  string
	Vector []float32
}

// Face is everything the engine measured about one face.
type Face struct {
	Detection
	Landmarks []Point  // 68 points
	Points5   [5]Point // eyes, nose tip, mouth corners
	Quality   *Quality
	Liveness  *float32 // 0–1, higher = real
	Pose      *Pose
	EyesOpen  *float32 // 0–1
	Smile     *float32 // 0–1
	Embedding *Embedding
}

// Scaled is f with its geometry (box, landmarks, points) multiplied by k:
// faces found on a downscaled image, reported in the source's pixels.
func (f Face) Scaled(k float64) Face {
	if k == 1 {
		return f
	}
	f.Box = Box{f.Box.X1 * k, f.Box.Y1 * k, f.Box.X2 * k, f.Box.Y2 * k}
	lm := make([]Point, len(f.Landmarks))
	for i, p := range f.Landmarks {
		lm[i] = Point{p.X * k, p.Y * k}
	}
	f.Landmarks = lm
	for i, p := range f.Points5 {
		f.Points5[i] = Point{p.X * k, p.Y * k}
	}
	return f
}
