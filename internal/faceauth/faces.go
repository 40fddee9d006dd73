package faceauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/search"
	"github.com/visagehq/visage/internal/store"
)

func (s *Service) getFace(ctx context.Context, integrationID, faceID string) (*store.Face, error) {
	if err := ValidateFaceID(faceID); err != nil {
		return nil, err
	}
	f, err := s.st.GetFaceByFaceID(ctx, integrationID, faceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrFaceNotEnrolled, faceID)
	}
	return f, err
}

// templates opens a face's templates of the engine's model.
func (s *Service) templates(ctx context.Context, integrationID, faceRef string) ([]*face.Embedding, error) {
	rows, err := s.st.ListFaceTemplates(ctx, integrationID, faceRef)
	if err != nil {
		return nil, err
	}
	var out []*face.Embedding
	for _, r := range rows {
		if r.ModelID != s.eng.EmbeddingModel() {
			continue // made by another model: never compared
		}
		e, err := s.openTemplate(ctx, integrationID, r.FaceRef, r.ID, r.ModelID, r.Sealed)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// GetFace returns an enrolled face by the client's face id.
func (s *Service) GetFace(ctx context.Context, integrationID, faceID string) (*FaceView, error) {
	f, err := s.getFace(ctx, integrationID, faceID)
	if err != nil {
		return nil, classified(err)
	}
	v, err := s.view(ctx, integrationID, f)
	return v, classified(err)
}

// FaceByRef returns a face by its internal id (FaceView.ID).
func (s *Service) FaceByRef(ctx context.Context, integrationID, ref string) (*FaceView, error) {
	if !strings.HasPrefix(ref, "face_") || len(ref) > 64 || !utf8.ValidString(ref) {
		return nil, classified(fmt.Errorf("%w: no face %q", ErrFaceNotEnrolled, ref))
	}
	f, err := s.st.GetFace(ctx, integrationID, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, classified(fmt.Errorf("%w: no face %q", ErrFaceNotEnrolled, ref))
	}
	if err != nil {
		return nil, classified(err)
	}
	v, err := s.view(ctx, integrationID, f)
	return v, classified(err)
}

func (s *Service) view(ctx context.Context, integrationID string, f *store.Face) (*FaceView, error) {
	imgs, err := s.st.ListFaceImages(ctx, integrationID, f.ID)
	if err != nil {
		return nil, err
	}
	tpls, err := s.st.ListFaceTemplates(ctx, integrationID, f.ID)
	if err != nil {
		return nil, err
	}
	v := &FaceView{ID: f.ID, FaceID: f.FaceID, Enabled: f.Enabled, Liveness: f.Liveness, Templates: len(tpls), Metadata: f.Metadata,
		FailedAttempts: f.FailedAttempts, LockedAt: f.LockedAt,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Images: make([]ImageView, 0, len(imgs))}
	for _, im := range imgs {
		v.Images = append(v.Images, ImageView{ID: im.ID, Challenge: im.Challenge, Width: im.Width, Height: im.Height, CreatedAt: im.CreatedAt})
	}
	return v, nil
}

// FaceList is one page of faces.
type FaceList struct {
	Faces []FaceSummary
	Next  string // cursor of the next page; "" on the last
}

// FaceSummary is a face in a list.
type FaceSummary struct {
	ID, FaceID string
	Enabled    bool
	Liveness   string
	CreatedAt  time.Time
}

// ListFaces pages through an integration's faces.
func (s *Service) ListFaces(ctx context.Context, integrationID, cursor string, limit int) (*FaceList, error) {
	page, err := s.st.ListFaces(ctx, integrationID, cursor, limit)
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return nil, classified(fmt.Errorf("%w: malformed cursor", ErrInvalidInput))
		}
		return nil, classified(err)
	}
	out := &FaceList{Faces: make([]FaceSummary, 0, len(page.Faces)), Next: page.Next}
	for _, f := range page.Faces {
		out.Faces = append(out.Faces, FaceSummary{ID: f.ID, FaceID: f.FaceID, Enabled: f.Enabled, Liveness: f.Liveness, CreatedAt: f.CreatedAt})
	}
	return out, nil
}

// SetEnabled disables a face (it can no longer verify or be found) or
// enables it again.
func (s *Service) SetEnabled(ctx context.Context, integrationID, faceID string, enabled bool) (*FaceView, error) {
	v, err := s.setEnabled(ctx, integrationID, faceID, enabled)
	return v, classified(err)
}

func (s *Service) setEnabled(ctx context.Context, integrationID, faceID string, enabled bool) (*FaceView, error) {
	f, err := s.getFace(ctx, integrationID, faceID)
	if err != nil {
		return nil, err
	}
	if f.Enabled != enabled {
		f.Enabled = enabled
		var version int64
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			if err := tx.UpdateFace(ctx, f); err != nil {
				return err
			}
			version, err = tx.BumpIndexVersion(ctx, integrationID)
			return err
		})
		if err != nil {
			return nil, err
		}
		// Re-adding needs the opened templates; a reload from the store
		// is simpler and enabling is rare.
		if enabled {
			s.index.Invalidate(integrationID)
		} else {
			s.indexRemove(integrationID, faceID)
			s.indexApplied(integrationID, version)
		}
	}
	return s.view(ctx, integrationID, f)
}

// Unlock clears a face's lockout after failed verifications (and its
// count of them): an operator's decision, recorded in the log.
func (s *Service) Unlock(ctx context.Context, integrationID, faceID string) (*FaceView, error) {
	v, err := s.unlock(ctx, integrationID, faceID)
	return v, classified(err)
}

func (s *Service) unlock(ctx context.Context, integrationID, faceID string) (*FaceView, error) {
	f, err := s.getFace(ctx, integrationID, faceID)
	if err != nil {
		return nil, err
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.UnlockFace(ctx, integrationID, f.ID); err != nil {
			return err
		}
		return actor.Record(ctx, tx, integrationID, "face.unlocked", f.FaceID,
			map[string]any{"was_locked": f.LockedAt != nil, "failed_attempts": f.FailedAttempts})
	})
	if err != nil {
		return nil, err
	}
	if f.LockedAt != nil {
		s.log.InfoContext(ctx, "face unlocked", "integration", integrationID, "face", f.ID, "failed_attempts", f.FailedAttempts)
	}
	f.LockedAt, f.FailedAttempts = nil, 0
	return s.view(ctx, integrationID, f)
}

// DeleteFace erases a face: rows in one transaction, then its images from
// blob storage, then the index entry.
func (s *Service) DeleteFace(ctx context.Context, integrationID, faceID string) error {
	return classified(s.deleteFace(ctx, integrationID, faceID, "request", nil))
}

// deleteFace erases a face; reason ("request", "retention") goes to the
// audit log. guard, when set, runs first in the erasure's transaction and
// may call it off by returning an error.
func (s *Service) deleteFace(ctx context.Context, integrationID, faceID, reason string, guard func(tx store.Tx, f *store.Face) error) error {
	f, err := s.getFace(ctx, integrationID, faceID)
	if err != nil {
		return err
	}
	// Frames kept by unfinished capture sessions are erased too; completed
	// sessions' frames are the face's images and come back below anyway.
	sessionKeys, err := s.captureBlobs(ctx, integrationID, f.ID)
	if err != nil {
		return err
	}
	var keys []string
	var version int64
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if guard != nil {
			if err := guard(tx, f); err != nil {
				return err
			}
		}
		var err error
		if keys, err = tx.DeleteFace(ctx, integrationID, f.ID); err != nil {
			return err
		}
		if version, err = tx.BumpIndexVersion(ctx, integrationID); err != nil {
			return err
		}
		return actor.Record(ctx, tx, integrationID, "face.erased", f.FaceID, map[string]any{"images": len(keys), "reason": reason})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrFaceNotEnrolled, faceID)
		}
		return err
	}
	s.indexRemove(integrationID, faceID)
	s.indexApplied(integrationID, version)
	for _, k := range dedupe(append(keys, sessionKeys...)) {
		// The rows are gone, so the blob is unreachable either way; a
		// failure here is logged for the operator's sweep.
		if err := s.blobs.Delete(context.WithoutCancel(ctx), k); err != nil {
			s.log.ErrorContext(ctx, "delete image blob", "key", k, "err", err)
		}
	}
	s.log.InfoContext(ctx, "face deleted", "integration", integrationID, "face", f.ID, "images", len(keys))
	return nil
}

func (s *Service) indexRemove(integrationID, faceID string) {
	_ = s.index.Update(integrationID, func(ix *search.Index) error {
		ix.Remove(faceID)
		return nil
	})
}

// ImageData returns a stored face image's bytes (decrypted) and type.
func (s *Service) ImageData(ctx context.Context, integrationID, faceID, imageID string) ([]byte, string, error) {
	f, err := s.getFace(ctx, integrationID, faceID)
	if err != nil {
		return nil, "", classified(err)
	}
	data, ctype, err := s.imageData(ctx, integrationID, f.ID, imageID)
	return data, ctype, classified(err)
}

// ImageByRef is ImageData for a face named by its internal id.
func (s *Service) ImageByRef(ctx context.Context, integrationID, faceRef, imageID string) ([]byte, string, error) {
	data, ctype, err := s.imageData(ctx, integrationID, faceRef, imageID)
	return data, ctype, classified(err)
}

func (s *Service) imageData(ctx context.Context, integrationID, faceRef, imageID string) ([]byte, string, error) {
	if !strings.HasPrefix(imageID, "img_") || len(imageID) > 64 || !utf8.ValidString(imageID) {
		return nil, "", fault.New(fault.NotFound, "no image %q", imageID)
	}
	img, err := s.st.GetFaceImage(ctx, integrationID, imageID)
	if err != nil || img.FaceRef != faceRef {
		return nil, "", fault.New(fault.NotFound, "no image %q", imageID)
	}
	rc, info, err := s.blobs.Get(ctx, img.BlobKey)
	if err != nil {
		return nil, "", fmt.Errorf("image %s: %w", imageID, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return data, info.ContentType, err
}

func dedupe(keys []string) []string {
	seen := map[string]bool{}
	out := keys[:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// PublicURL is the externally visible base URL, without a trailing slash.
func (s *Service) PublicURL() string { return s.publicURL }
