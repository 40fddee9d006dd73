package faceauth

import (
	"context"
	"fmt"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/imageio"
)

// This file is the face service's engine access for other services (the
// verification cases): decoding and analysis under the same memory budget
// and worker slots as every other request, and errors classified here.

// Document is a decoded ID-document photo.
type Document struct {
	Image         *imageio.Image // as analysed (downscaled when very large)
	Width, Height int            // the file's own pixels
}

// DecodeDocument decodes an ID-document photo or scan within the document
// limits (up to 50 MP, kept large enough for OCR).
func (s *Service) DecodeDocument(ctx context.Context, data []byte) (*Document, error) {
	d, err := s.decode(ctx, data, imageio.DocumentLimits())
	if err != nil {
		return nil, classified(err)
	}
	return &Document{Image: d.img, Width: d.srcW, Height: d.srcH}, nil
}

// DocumentFace is the holder's photo on a document: the largest face,
// embedded. A document photo is printed, so neither quality nor passive
// liveness is asked of it.
func (s *Service) DocumentFace(ctx context.Context, doc *Document) (*face.Face, error) {
	var faces []face.Face
	err := s.withSlot(ctx, func() (err error) {
		faces, err = s.eng.Analyze(ctx, doc.Image, face.Options{MaxFaces: 1, Embed: true, Quality: true})
		return err
	})
	if err != nil {
		return nil, classified(err)
	}
	if len(faces) == 0 {
		return nil, classified(fmt.Errorf("%w on the document", face.ErrNoFace))
	}
	return &faces[0], nil
}

// Selfie is one analysed selfie photo: its single face, embedded, with
// quality and passive liveness on the tenant's scale.
type Selfie struct {
	Face     face.Face
	Liveness LivenessResult
}

// SelfieFace analyses a selfie photo that must show one face.
func (s *Service) SelfieFace(ctx context.Context, t Tenant, data []byte) (*Selfie, error) {
	t = s.resolve(t)
	p, err := s.oneFace(ctx, data, false)
	if err != nil {
		return nil, classified(&ImageError{Name: "selfie", Err: err})
	}
	return &Selfie{Face: p.face, Liveness: s.live(t, p.face)}, nil
}

// Compare is the calibrated similarity of two embeddings of the engine's
// model.
func (s *Service) CompareEmbeddings(a, b *face.Embedding) (Similarity, error) {
	sim, err := s.similarity(a, b)
	return sim, classified(err)
}

// SlottedEngine is the engine for frame-by-frame analysis (selfie videos):
// each Analyze takes one of the service's worker slots, so a video's
// frames queue with everyone else's images. It satisfies video.Analyzer.
type SlottedEngine struct{ s *Service }

// Slotted returns the service's SlottedEngine.
func (s *Service) Slotted() SlottedEngine { return SlottedEngine{s} }

// Analyze runs the engine on every face of img under one worker slot.
func (a SlottedEngine) Analyze(ctx context.Context, img *imageio.Image, opt face.Options) ([]face.Face, error) {
	var faces []face.Face
	err := a.s.withSlot(ctx, func() (err error) {
		faces, err = a.s.eng.Analyze(ctx, img, opt)
		return err
	})
	return faces, err
}

// Score maps cosine to the calibrated scale.
func (a SlottedEngine) Score(cos float32) float32 { return a.s.eng.Score(cos) }

// Challenges is the service's active-liveness thresholds (eye state, yaw).
func (s *Service) Challenges() ChallengePolicy { return s.challenges }
