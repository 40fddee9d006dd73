// Package wire holds the JSON shapes of Visage's native surfaces (the /v1
// API and the command line's --jsonl output) and their conversions from
// the service and engine types. Service and engine structs carry no JSON
// tags: what a client sees is decided here, in one place, and documented
// in openapi.json.
package wire

import (
	"encoding/json"
	"math"
	"time"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
)

// Face is an enrolled face.
type Face struct {
	ID        string          `json:"id"`
	FaceID    string          `json:"face_id"`
	Enabled   bool            `json:"enabled"`
	Liveness  string          `json:"enrolment_liveness"` // active, passive, none, "" (unknown / not enrolled)
	Images    []Image         `json:"images"`
	Templates int             `json:"templates"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// Locked after max_attempts failed verifications in a row, until
	// POST /v1/faces/{faceId}/unlock.
	Locked         bool       `json:"locked"`
	LockedAt       *time.Time `json:"locked_at"`
	FailedAttempts int        `json:"failed_attempts"`
}

// Image is one stored image of a face.
type Image struct {
	ID        string    `json:"id"`
	Challenge string    `json:"challenge"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	CreatedAt time.Time `json:"created_at"`
}

// FaceOf converts a face view.
func FaceOf(v *faceauth.FaceView) Face {
	out := Face{ID: v.ID, FaceID: v.FaceID, Enabled: v.Enabled, Liveness: v.Liveness, Templates: v.Templates,
		Metadata: v.Metadata, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, Images: make([]Image, 0, len(v.Images)),
		Locked: v.LockedAt != nil, LockedAt: v.LockedAt, FailedAttempts: v.FailedAttempts}
	for _, im := range v.Images {
		out.Images = append(out.Images, Image{ID: im.ID, Challenge: im.Challenge, Width: im.Width, Height: im.Height, CreatedAt: im.CreatedAt})
	}
	return out
}

// FaceList is one page of faces.
type FaceList struct {
	Faces []FaceSummary `json:"faces"`
	Next  string        `json:"next_cursor,omitempty"`
}

// FaceSummary is a face in a list.
type FaceSummary struct {
	ID        string `json:"id"`
	FaceID    string `json:"face_id"`
	Enabled   bool   `json:"enabled"`
	Liveness  string `json:"enrolment_liveness"`
	CreatedAt string `json:"created_at"`
}

// FaceListOf converts a page of faces.
func FaceListOf(l *faceauth.FaceList) FaceList {
	out := FaceList{Faces: make([]FaceSummary, 0, len(l.Faces)), Next: l.Next}
	for _, f := range l.Faces {
		out.Faces = append(out.Faces, FaceSummary{ID: f.ID, FaceID: f.FaceID, Enabled: f.Enabled, Liveness: f.Liveness,
			CreatedAt: f.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")})
	}
	return out
}

// Liveness is passive liveness on the 0–1 scale.
type Liveness struct {
	Score     float32 `json:"score"`
	Threshold float32 `json:"threshold"`
	Live      bool    `json:"live"`
}

// LivenessOf converts a liveness result.
func LivenessOf(l faceauth.LivenessResult) Liveness {
	return Liveness{Score: l.Score, Threshold: l.Threshold, Live: l.Live}
}

// Verification is a 1:1 result.
type Verification struct {
	FaceID     string   `json:"face_id"`
	Match      bool     `json:"match"`
	Verified   bool     `json:"verified"`
	Similarity float32  `json:"similarity"`
	Cosine     float32  `json:"cosine"`
	Threshold  float32  `json:"threshold"`
	Liveness   Liveness `json:"liveness"`
	Quality    *Quality `json:"quality"`
	Box        Box      `json:"box"`
}

// VerificationOf converts a verification.
func VerificationOf(v *faceauth.Verification) Verification {
	return Verification{FaceID: v.FaceID, Match: v.Match, Verified: v.Verified, Similarity: v.Score, Cosine: v.Cosine,
		Threshold: v.Threshold, Liveness: LivenessOf(v.Liveness), Quality: QualityOf(v.Quality), Box: BoxOf(v.Box)}
}

// Comparison compares two images' faces.
type Comparison struct {
	Match      bool    `json:"match"`
	Similarity float32 `json:"similarity"`
	Cosine     float32 `json:"cosine"`
	Threshold  float32 `json:"threshold"`
	A          Side    `json:"a"`
	B          Side    `json:"b"`
}

// Side is one compared image's face.
type Side struct {
	Box      Box      `json:"box"`
	Liveness Liveness `json:"liveness"`
	Quality  *Quality `json:"quality"`
}

// ComparisonOf converts a comparison.
func ComparisonOf(c *faceauth.Comparison) Comparison {
	side := func(s faceauth.Side) Side {
		return Side{Box: BoxOf(s.Box), Liveness: LivenessOf(s.Liveness), Quality: QualityOf(s.Quality)}
	}
	return Comparison{Match: c.Match, Similarity: c.Score, Cosine: c.Cosine, Threshold: c.Threshold, A: side(c.A), B: side(c.B)}
}

// Analysis is every face of an image.
type Analysis struct {
	Width  int          `json:"width"`
	Height int          `json:"height"`
	Faces  []FaceDetail `json:"faces"`
}

// AnalysisOf converts an analysis.
func AnalysisOf(a *faceauth.Analysis) Analysis {
	return Analysis{Width: a.Width, Height: a.Height, Faces: FaceDetails(a.Faces)}
}

// LivenessCheck is POST /v1/liveness's answer.
type LivenessCheck struct {
	Liveness Liveness `json:"liveness"`
	Box      Box      `json:"box"`
	Quality  *Quality `json:"quality"`
}

// Search is a 1:N search result.
type Search struct {
	Candidates []Candidate `json:"candidates"`
	Threshold  float32     `json:"threshold"`
	Liveness   Liveness    `json:"liveness"`
	Quality    *Quality    `json:"quality"`
}

// Candidate is one search hit.
type Candidate struct {
	FaceID     string  `json:"face_id"`
	Similarity float32 `json:"similarity"`
	Cosine     float32 `json:"cosine"`
}

// SearchOf converts a search result.
func SearchOf(r *faceauth.SearchResult) Search {
	out := Search{Candidates: make([]Candidate, 0, len(r.Candidates)), Threshold: r.Threshold,
		Liveness: LivenessOf(r.Liveness), Quality: QualityOf(r.Quality)}
	for _, c := range r.Candidates {
		out.Candidates = append(out.Candidates, Candidate{FaceID: c.FaceID, Similarity: c.Score, Cosine: c.Cosine})
	}
	return out
}

// Box is [x1, y1, x2, y2] in pixels, rounded to 0.1.
type Box [4]float64

// BoxOf converts an engine box.
func BoxOf(b face.Box) Box { return Box{round1(b.X1), round1(b.Y1), round1(b.X2), round1(b.Y2)} }

// Point is [x, y] in pixels, rounded to 0.1.
type Point [2]float64

// PointOf converts an engine point.
func PointOf(p face.Point) Point { return Point{round1(p.X), round1(p.Y)} }

// Quality says whether a face is good enough to enrol or verify.
type Quality struct {
	FacePx     int      `json:"face_px"`
	Sharpness  float64  `json:"sharpness"`
	Brightness float64  `json:"brightness"`
	Clipped    float64  `json:"clipped"`
	Usable     bool     `json:"usable"`
	Reasons    []string `json:"reasons"`
}

// QualityOf converts engine quality (nil stays nil).
func QualityOf(q *face.Quality) *Quality {
	if q == nil {
		return nil
	}
	r := q.Reasons
	if r == nil {
		r = []string{}
	}
	return &Quality{FacePx: q.FacePx, Sharpness: q.Sharpness, Brightness: q.Brightness, Clipped: q.Clipped, Usable: q.Usable, Reasons: r}
}

// Pose is the head orientation in degrees (see face.Pose for the signs).
type Pose struct {
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
}

// FaceDetail is everything the engine measured about one face.
type FaceDetail struct {
	Box       Box      `json:"box"`
	Score     float32  `json:"score"`
	Landmarks []Point  `json:"landmarks"`
	Points5   [5]Point `json:"points5"`
	Quality   *Quality `json:"quality,omitempty"`
	Liveness  *float32 `json:"liveness,omitempty"`
	Pose      *Pose    `json:"pose,omitempty"`
	EyesOpen  *float32 `json:"eyes_open,omitempty"`
	Smile     *float32 `json:"smile,omitempty"`
}

// FaceDetails converts analysed faces (never nil).
func FaceDetails(fs []face.Face) []FaceDetail {
	out := make([]FaceDetail, 0, len(fs))
	for _, f := range fs {
		d := FaceDetail{Box: BoxOf(f.Box), Score: f.Score, Landmarks: make([]Point, len(f.Landmarks)), Quality: QualityOf(f.Quality),
			Liveness: f.Liveness, EyesOpen: f.EyesOpen, Smile: f.Smile}
		for i, p := range f.Landmarks {
			d.Landmarks[i] = PointOf(p)
		}
		for i, p := range f.Points5 {
			d.Points5[i] = PointOf(p)
		}
		if f.Pose != nil {
			d.Pose = &Pose{Yaw: f.Pose.Yaw, Pitch: f.Pose.Pitch, Roll: f.Pose.Roll}
		}
		out = append(out, d)
	}
	return out
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
