package faceauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/search"
	"github.com/visagehq/visage/internal/store"
)

// Tenant is what the service needs to know of the calling integration.
type Tenant struct {
	ID     string
	Policy store.Policy
}

// Image is one uploaded image and how it was captured.
type Image struct {
	Data        []byte
	Name        string // form field or file name, for error messages
	Challenge   string // "enrol" when empty
	ContentType string
}

// EnrolOptions tune an enrolment.
type EnrolOptions struct {
	Metadata json.RawMessage
	// SkipLiveness accepts images that fail passive liveness (e.g. scans
	// of an ID photo enrolled by an operator). Off by default.
	SkipLiveness bool
}

// MaxImagesPerRequest bounds one enrolment.
const MaxImagesPerRequest = 10

// FaceView is an enrolled face as the API shows it.
type FaceView struct {
	ID        string          `json:"id"`
	FaceID    string          `json:"face_id"`
	Enabled   bool            `json:"enabled"`
	Images    []ImageView     `json:"images"`
	Templates int             `json:"templates"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// ImageView is one stored image of a face.
type ImageView struct {
	ID        string    `json:"id"`
	Challenge string    `json:"challenge"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateFaceID checks a client identifier: 1–128 printable characters.
func ValidateFaceID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("%w: face_id must be 1–128 characters", ErrInvalidInput)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: face_id is not valid UTF-8", ErrInvalidInput)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: face_id contains a non-printable character", ErrInvalidInput)
		}
	}
	return nil
}

// Enrol creates a face from one or more images. Every image must show one
// usable, live face, and all must be the same person. Images and sealed
// templates are stored together; on any failure nothing is left behind.
func (s *Service) Enrol(ctx context.Context, t Tenant, faceID string, imgs []Image, opt EnrolOptions) (*FaceView, error) {
	if err := ValidateFaceID(faceID); err != nil {
		return nil, err
	}
	if _, err := s.st.GetFaceByFaceID(ctx, t.ID, faceID); err == nil {
		return nil, fmt.Errorf("%w: %q", ErrAlreadyEnrolled, faceID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	probes, err := s.checkImages(ctx, t, imgs, opt.SkipLiveness, nil)
	if err != nil {
		return nil, err
	}
	f := &store.Face{ID: store.NewID("face_"), IntegrationID: t.ID, FaceID: faceID, Enabled: true, Metadata: opt.Metadata}
	err = s.persist(ctx, t, f, imgs, probes, func(tx store.Tx) error {
		if err := tx.CreateFace(ctx, f); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("%w: %q", ErrAlreadyEnrolled, faceID)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "face enrolled", "integration", t.ID, "face", f.ID, "images", len(imgs))
	return s.view(ctx, t.ID, f)
}

// AddImages adds images to an enrolled face; they must show the same
// person as its existing templates.
func (s *Service) AddImages(ctx context.Context, t Tenant, faceID string, imgs []Image, opt EnrolOptions) (*FaceView, error) {
	f, err := s.getFace(ctx, t.ID, faceID)
	if err != nil {
		return nil, err
	}
	existing, err := s.templates(ctx, t.ID, f.ID)
	if err != nil {
		return nil, err
	}
	probes, err := s.checkImages(ctx, t, imgs, opt.SkipLiveness, existing)
	if err != nil {
		return nil, err
	}
	if err := s.persist(ctx, t, f, imgs, probes, nil); err != nil {
		return nil, err
	}
	return s.view(ctx, t.ID, f)
}

// checkImages analyses every image and enforces one face, quality,
// liveness and identity agreement (with each other and with existing).
func (s *Service) checkImages(ctx context.Context, t Tenant, imgs []Image, skipLive bool, existing []*face.Embedding) ([]*probe, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("%w: at least one image is required", ErrInvalidInput)
	}
	if len(imgs) > MaxImagesPerRequest {
		return nil, fmt.Errorf("%w: at most %d images per request", ErrInvalidInput, MaxImagesPerRequest)
	}
	probes := make([]*probe, len(imgs))
	refs := append([]*face.Embedding(nil), existing...)
	for i, im := range imgs {
		p, err := s.oneFace(ctx, im.Data, false)
		if err != nil {
			return nil, &ImageError{Index: i, Name: im.Name, Err: err}
		}
		if q := p.face.Quality; q != nil && !q.Usable {
			return nil, &ImageError{Index: i, Name: im.Name, Err: ErrLowQuality, Reasons: q.Reasons}
		}
		if !skipLive && p.face.Liveness != nil && float64(*p.face.Liveness) < t.Policy.LivenessThreshold {
			return nil, &ImageError{Index: i, Name: im.Name, Err: fmt.Errorf("%w: liveness %.3f below %.2f", ErrSpoofSuspected, *p.face.Liveness, t.Policy.LivenessThreshold)}
		}
		for _, r := range refs {
			sim, err := s.similarity(p.face.Embedding, r)
			if err != nil {
				return nil, err
			}
			if float64(sim.Score) < t.Policy.MatchThreshold {
				return nil, &ImageError{Index: i, Name: im.Name, Err: fmt.Errorf("%w: similarity %.1f below %.0f", ErrFacesDiffer, sim.Score, t.Policy.MatchThreshold)}
			}
		}
		refs = append(refs, p.face.Embedding)
		probes[i] = p
	}
	return probes, nil
}

// persist writes blobs first, then the rows in one transaction (before
// runs first inside it). If the transaction fails the blobs are removed,
// so a failed request leaves nothing behind; a crash between the two
// leaves only unreferenced encrypted blobs.
func (s *Service) persist(ctx context.Context, t Tenant, f *store.Face, imgs []Image, probes []*probe, before func(tx store.Tx) error) error {
	rows := make([]store.FaceImage, len(imgs))
	tpls := make([]store.Template, len(imgs))
	var written []string
	cleanup := func() {
		for _, k := range written {
			if err := s.blobs.Delete(context.WithoutCancel(ctx), k); err != nil {
				s.log.Error("cleanup blob", "key", k, "err", err)
			}
		}
	}
	for i, im := range imgs {
		rows[i] = store.FaceImage{ID: store.NewID("img_"), FaceRef: f.ID, IntegrationID: t.ID,
			Challenge: challenge(im.Challenge), Width: probes[i].img.W, Height: probes[i].img.H}
		rows[i].BlobKey = t.ID + "/faces/" + f.ID + "/" + rows[i].ID
		if _, err := s.blobs.Put(ctx, rows[i].BlobKey, bytes.NewReader(im.Data), blob.Meta{ContentType: imageio.MIMEType(im.Data), Size: int64(len(im.Data))}); err != nil {
			cleanup()
			return fmt.Errorf("store image: %w", err)
		}
		written = append(written, rows[i].BlobKey)
		tpls[i] = store.Template{ID: store.NewID("tpl_"), FaceRef: f.ID, ImageID: rows[i].ID, IntegrationID: t.ID, ModelID: probes[i].face.Embedding.Model}
		if err := s.sealTemplate(&tpls[i], probes[i].face.Embedding.Vector); err != nil {
			cleanup()
			return err
		}
	}
	var enabled bool
	var version int64
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		for i := range rows {
			if err := tx.AddFaceImage(ctx, &rows[i]); err != nil {
				return err
			}
			if err := tx.AddTemplate(ctx, &tpls[i]); err != nil {
				return err
			}
		}
		// Whether the face is searchable is decided by its row at commit,
		// not as read before the images were analysed (it may have been
		// disabled meanwhile).
		cur, err := tx.GetFace(ctx, t.ID, f.ID)
		if err != nil {
			return err
		}
		enabled = cur.Enabled
		version, err = tx.BumpIndexVersion(ctx, t.ID)
		return err
	})
	if err != nil {
		cleanup()
		return err
	}
	if enabled {
		vecs := make([][]float32, len(probes))
		for i, p := range probes {
			vecs[i] = p.face.Embedding.Vector
		}
		s.indexAdd(t.ID, f.FaceID, tpls, vecs)
	}
	s.indexApplied(t.ID, version)
	return nil
}

func (s *Service) indexAdd(integrationID, faceID string, tpls []store.Template, vecs [][]float32) {
	err := s.index.Update(integrationID, func(ix *search.Index) error {
		for i := range tpls {
			if err := ix.Add(tpls[i].ID, faceID, vecs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil { // the store is right; rebuild from it on next use
		s.log.Error("search index update", "integration", integrationID, "err", err)
		s.index.Invalidate(integrationID)
	}
}

func challenge(c string) string {
	if c == "" {
		return "enrol"
	}
	return c
}
