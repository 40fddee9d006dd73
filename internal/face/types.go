// Package face is the face engine: detection, landmarks, alignment,
// embeddings, quality, passive liveness and the attributes active liveness
// challenges need. It runs ONNX models through ONNX Runtime and knows
// nothing of HTTP, tenants or storage.
package face

import (
	"encoding/json"
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

// Point is an image coordinate in pixels; it marshals as [x, y].
type Point struct{ X, Y float64 }

// MarshalJSON writes [x, y] rounded to 0.1 px.
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{round1(p.X), round1(p.Y)})
}

// Box is a face rectangle in pixels, corners (x1, y1)–(x2, y2).
type Box struct{ X1, Y1, X2, Y2 float64 }

// MarshalJSON writes [x1, y1, x2, y2].
func (b Box) MarshalJSON() ([]byte, error) {
	return json.Marshal([4]float64{round1(b.X1), round1(b.Y1), round1(b.X2), round1(b.Y2)})
}

// W and H are the box's width and height.
func (b Box) W() float64 { return b.X2 - b.X1 }
func (b Box) H() float64 { return b.Y2 - b.Y1 }

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
	Box   Box     `json:"box"`
	Score float32 `json:"score"`
}

// Pose is the head orientation in degrees. Yaw > 0: the face turns toward
// the image's right (the subject's own left in an unmirrored photo);
// pitch > 0: up; roll > 0: the head tilts clockwise in the image.
type Pose struct {
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
}

// Quality says whether a face is good enough to enrol or verify.
type Quality struct {
	FacePx     int      `json:"face_px"`    // shorter side of the box
	Sharpness  float64  `json:"sharpness"`  // 0–1, higher is sharper (see quality.go)
	Brightness float64  `json:"brightness"` // mean grey level 0–255 of the aligned face
	Clipped    float64  `json:"clipped"`    // share of under/over-exposed pixels
	Usable     bool     `json:"usable"`
	Reasons    []string `json:"reasons"`
}

// Embedding is a face vector stamped with the model that made it.
type Embedding struct {
	Model  string    `json:"model"`
	Vector []float32 `json:"vector"`
}

// Face is everything the engine measured about one face.
type Face struct {
	Detection
	Landmarks []Point    `json:"landmarks"` // 68 points
	Points5   [5]Point   `json:"points5"`   // eyes, nose tip, mouth corners
	Quality   *Quality   `json:"quality,omitempty"`
	Liveness  *float32   `json:"liveness,omitempty"` // 0–1, higher = real
	Pose      *Pose      `json:"pose,omitempty"`
	EyesOpen  *float32   `json:"eyes_open,omitempty"` // 0–1
	Smile     *float32   `json:"smile,omitempty"`     // 0–1
	Embedding *Embedding `json:"-"`
}

func round1(v float64) float64 { return float64(int64(v*10+sign(v)*0.5)) / 10 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}
