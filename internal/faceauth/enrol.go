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
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/search"
	"github.com/visagehq/visage/internal/store"
)

// Tenant is what the service needs to know of the calling integration.
type Tenant struct {
	ID     string
	Policy store.Policy
}

// TenantOf is the tenant of an integration.
func TenantOf(in *store.Integration) Tenant { return Tenant{ID: in.ID, Policy: in.Policy} }

// Effective is a policy with every threshold it leaves unset (zero) taken
// from the model manifest, so swapping the embedding model moves the
// defaults of every integration that never chose its own.
func (s *Service) Effective(p store.Policy) store.Policy {
	if p.MatchThreshold <= 0 {
		p.MatchThreshold = float64(s.eng.MatchScore())
	}
	if p.LivenessThreshold <= 0 {
		p.LivenessThreshold = float64(s.eng.LivenessThreshold())
	}
	return p
}

// resolve applies Effective to a caller's tenant.
func (s *Service) resolve(t Tenant) Tenant {
	t.Policy = s.Effective(t.Policy)
	return t
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

// FaceView is an enrolled face.
type FaceView struct {
	ID        string // internal id
	FaceID    string // the client's identifier
	Enabled   bool
	Liveness  string // how the enrolment proved liveness (store.Liveness*)
	Images    []ImageView
	Templates int
	Metadata  json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
	// FailedAttempts counts failed verifications in a row; LockedAt is
	// when max_attempts of them locked the face (nil: not locked).
	FailedAttempts int
	LockedAt       *time.Time
}

// ImageView is one stored image of a face.
type ImageView struct {
	ID            string
	Challenge     string
	Width, Height int
	CreatedAt     time.Time
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
	v, err := s.enrol(ctx, s.resolve(t), faceID, imgs, opt)
	return v, classified(err)
}

func (s *Service) enrol(ctx context.Context, t Tenant, faceID string, imgs []Image, opt EnrolOptions) (*FaceView, error) {
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
	if err := s.checkDuplicate(ctx, t, faceID, probes); err != nil {
		return nil, err
	}
	f := &store.Face{ID: store.NewID("face_"), IntegrationID: t.ID, FaceID: faceID, Enabled: true, Metadata: opt.Metadata,
		Liveness: livenessMode(opt.SkipLiveness)}
	err = s.persist(ctx, t, f, imgs, probes, allTemplates(len(imgs)), txHooks{before: func(tx store.Tx) error {
		if err := tx.CreateFace(ctx, f); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("%w: %q", ErrAlreadyEnrolled, faceID)
			}
			return err
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "face enrolled", "integration", t.ID, "face", f.ID, "images", len(imgs))
	s.metrics.Enrolment(t.ID, f.Liveness)
	return s.view(ctx, t.ID, f)
}

func livenessMode(skipped bool) string {
	if skipped {
		return store.LivenessNone
	}
	return store.LivenessPassive
}

func allTemplates(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

// AddImages adds images to an enrolled face; they must show the same
// person as its existing templates.
func (s *Service) AddImages(ctx context.Context, t Tenant, faceID string, imgs []Image, opt EnrolOptions) (*FaceView, error) {
	v, err := s.addImages(ctx, s.resolve(t), faceID, imgs, opt)
	return v, classified(err)
}

func (s *Service) addImages(ctx context.Context, t Tenant, faceID string, imgs []Image, opt EnrolOptions) (*FaceView, error) {
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
	if err := s.checkDuplicate(ctx, t, faceID, probes); err != nil {
		return nil, err
	}
	if err := s.persist(ctx, t, f, imgs, probes, allTemplates(len(imgs)), txHooks{}); err != nil {
		return nil, err
	}
	return s.view(ctx, t.ID, f)
}

// checkImages analyses every image and enforces one face, quality,
// liveness and identity agreement (with each other and with existing). It
// names every failing image, not only the first.
func (s *Service) checkImages(ctx context.Context, t Tenant, imgs []Image, skipLive bool, existing []*face.Embedding) ([]*probe, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("%w: at least one image is required", ErrMissingImage)
	}
	if len(imgs) > MaxImagesPerRequest {
		return nil, fmt.Errorf("%w: at most %d images per request", ErrInvalidInput, MaxImagesPerRequest)
	}
	probes := make([]*probe, len(imgs))
	var bad []*ImageError
	for i, im := range imgs {
		p, err := s.oneFace(ctx, im.Data, false)
		if err == nil {
			err = s.usable(t, p, skipLive)
		}
		if err != nil {
			bad = append(bad, imageErr(i, im.Name, err))
			continue
		}
		probes[i] = p
	}
	if len(bad) > 0 {
		return nil, imagesFault(bad)
	}
	return probes, s.sameperson(t, imgs, probes, existing)
}

// imageErr ties err to an input; a quality error carries its reasons.
func imageErr(i int, name string, err error) *ImageError {
	ie := &ImageError{Index: i, Name: name, Err: err}
	var qe *qualityError
	if errors.As(err, &qe) {
		ie.Err, ie.Reasons = ErrLowQuality, qe.reasons
	}
	return ie
}

type qualityError struct{ reasons []string }

func (e *qualityError) Error() string { return ErrLowQuality.Error() }
func (e *qualityError) Unwrap() error { return ErrLowQuality }

// usable checks quality and (unless skipped) passive liveness of a probe.
func (s *Service) usable(t Tenant, p *probe, skipLive bool) error {
	if q := p.face.Quality; q != nil && !q.Usable {
		return &qualityError{reasons: q.Reasons}
	}
	if skipLive {
		return nil
	}
	return s.checkLive(t, p.face)
}

// checkLive fails a face below the policy's passive-liveness threshold.
func (s *Service) checkLive(t Tenant, f face.Face) error {
	if f.Liveness != nil && float64(*f.Liveness) < t.Policy.LivenessThreshold {
		s.metrics.Spoof(t.ID)
		return fmt.Errorf("%w: liveness %.3f below %.2f", ErrSpoofSuspected, *f.Liveness, t.Policy.LivenessThreshold)
	}
	return nil
}

// sameperson requires every probe to match every other and the existing
// templates; it names each image that does not.
func (s *Service) sameperson(t Tenant, imgs []Image, probes []*probe, existing []*face.Embedding) error {
	var bad []*ImageError
	for i, p := range probes {
		refs := append([]*face.Embedding(nil), existing...)
		for j, q := range probes {
			if j < i {
				refs = append(refs, q.face.Embedding)
			}
		}
		for _, r := range refs {
			sim, err := s.similarity(p.face.Embedding, r)
			if err != nil {
				return err
			}
			if float64(sim.Score) < t.Policy.MatchThreshold {
				bad = append(bad, &ImageError{Index: i, Name: imgs[i].Name,
					Err: fmt.Errorf("%w: similarity %.1f below %.0f", ErrFacesDiffer, sim.Score, t.Policy.MatchThreshold)})
				break
			}
		}
	}
	if len(bad) > 0 {
		return imagesFault(bad)
	}
	return nil
}

// checkDuplicate refuses, when the policy asks, images whose face is
// already enrolled under another face id of the integration.
func (s *Service) checkDuplicate(ctx context.Context, t Tenant, faceID string, probes []*probe) error {
	if !t.Policy.CheckDuplicates {
		return nil
	}
	for _, p := range probes {
		if p == nil || p.face.Embedding == nil {
			continue
		}
		hits, err := s.nearest(ctx, t.ID, p.face.Embedding, 5, t.Policy.MatchThreshold)
		if err != nil {
			return err
		}
		for _, h := range hits {
			if h.FaceID != faceID {
				return &fault.Error{Kind: fault.Duplicate, Subject: h.FaceID, Cause: ErrDuplicate,
					Message: fmt.Sprintf("this face is already enrolled as %q (similarity %.1f)", h.FaceID, h.Score)}
			}
		}
	}
	return nil
}

// txHooks run inside persist's transaction: before first, after once the
// image rows are written.
type txHooks struct {
	before func(tx store.Tx) error
	after  func(tx store.Tx, rows []store.FaceImage) error
}

// persist writes blobs first, then the rows in one transaction. If the
// transaction fails the blobs are removed, so a failed request leaves
// nothing behind; a crash between the two leaves only unreferenced
// encrypted blobs. template[i] says whether image i gets a template.
func (s *Service) persist(ctx context.Context, t Tenant, f *store.Face, imgs []Image, probes []*probe, template []bool, hooks txHooks) error {
	rows := make([]store.FaceImage, len(imgs))
	var tpls []store.Template
	var vecs [][]float32
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
			Challenge: challenge(im.Challenge), Width: probes[i].img.srcW, Height: probes[i].img.srcH}
		rows[i].BlobKey = t.ID + "/faces/" + f.ID + "/" + rows[i].ID
		if _, err := s.blobs.Put(ctx, rows[i].BlobKey, bytes.NewReader(im.Data), blob.Meta{ContentType: imageio.MIMEType(im.Data), Size: int64(len(im.Data))}); err != nil {
			cleanup()
			return fmt.Errorf("store image: %w", err)
		}
		written = append(written, rows[i].BlobKey)
		if !template[i] {
			continue
		}
		tpl := store.Template{ID: store.NewID("tpl_"), FaceRef: f.ID, ImageID: rows[i].ID, IntegrationID: t.ID, ModelID: probes[i].face.Embedding.Model}
		if err := s.sealTemplate(ctx, &tpl, probes[i].face.Embedding.Vector); err != nil {
			cleanup()
			return err
		}
		tpls = append(tpls, tpl)
		vecs = append(vecs, probes[i].face.Embedding.Vector)
	}
	var enabled bool
	var version int64
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if hooks.before != nil {
			if err := hooks.before(tx); err != nil {
				return err
			}
		}
		for i := range rows {
			if err := tx.AddFaceImage(ctx, &rows[i]); err != nil {
				return err
			}
		}
		for i := range tpls {
			if err := tx.AddTemplate(ctx, &tpls[i]); err != nil {
				return err
			}
		}
		if hooks.after != nil {
			if err := hooks.after(tx, rows); err != nil {
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
