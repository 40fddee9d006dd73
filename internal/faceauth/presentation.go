package faceauth

import (
	"context"

	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/imageio"
)

// The passive-liveness model scores the photo printed on an ID document
// held up to the camera as live about half the time (the passport and
// ID specimens of the fixtures: 0.3–0.93). A frame showing a machine-
// readable zone is such a document, whatever the model says.
//
// The check reads no characters and costs tens of milliseconds, so it runs
// only on faces the model is not already sure of either way: at or above
// docCheckBelow the face is a clear live face (no fixture document scored
// there), below docCheckAbove a clear spoof already.
const (
	docCheckBelow = 0.95
	docCheckAbove = 0.05
)

// documentPresented reports whether f, seen in img, is a face on a
// document held up to the camera; it then scores the face as a spoof.
func (s *Service) documentPresented(ctx context.Context, img *imageio.Image, f *face.Face) bool {
	if f.Liveness == nil || *f.Liveness >= docCheckBelow || *f.Liveness < docCheckAbove || !document.HasMRZ(img) {
		return false
	}
	s.log.InfoContext(ctx, "presentation attack: a document in the frame", "liveness", *f.Liveness)
	spoof := float32(0)
	f.Liveness = &spoof
	return true
}
