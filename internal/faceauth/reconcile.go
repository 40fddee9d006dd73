package faceauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/store"
)

// OrphanAge is how old an unreferenced image file must be before the
// reconciler erases it: far longer than any request takes between
// writing a file and committing the row that points to it.
const OrphanAge = 15 * time.Minute

// ReconcileImages erases face-image files no row points to: what a crash
// between writing an image and committing its row leaves behind (an
// enrolment's images, a capture frame). Without it such files would be
// beyond the reach of erasure, since nothing names them. A file is kept
// while a face image row or a capture session refers to it. It returns
// how many files it erased.
func (s *Service) ReconcileImages(ctx context.Context, olderThan time.Duration) (int, error) {
	lister, ok := s.blobs.(blob.Lister)
	if !ok {
		return 0, nil
	}
	ins, err := s.st.ListIntegrations(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile images: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	for _, in := range ins {
		var orphans []string
		sessionKeys := map[string]map[string]bool{} // face ref → keys its sessions keep
		err := lister.List(ctx, in.ID+"/faces/", func(e blob.Entry) error {
			if e.Modified.After(cutoff) {
				return nil
			}
			kept, err := s.referenced(ctx, in.ID, e.Key, sessionKeys)
			if err == nil && !kept {
				orphans = append(orphans, e.Key)
			}
			return err
		})
		if err != nil {
			return n, fmt.Errorf("reconcile images of %s: %w", in.ID, err)
		}
		for _, k := range orphans {
			if err := s.blobs.Delete(ctx, k); err != nil {
				return n, fmt.Errorf("reconcile images: %w", err)
			}
			n++
		}
		if len(orphans) > 0 {
			s.log.InfoContext(ctx, "orphaned image files erased", "integration", in.ID, "files", len(orphans))
		}
	}
	return n, nil
}

// referenced reports whether a row or a capture session points to key
// ("<integration>/faces/<face ref>/<image id>").
func (s *Service) referenced(ctx context.Context, integrationID, key string, sessionKeys map[string]map[string]bool) (bool, error) {
	parts := strings.Split(strings.TrimPrefix(key, integrationID+"/faces/"), "/")
	if len(parts) != 2 {
		return true, nil // not a layout this service writes: not ours to judge
	}
	faceRef, imageID := parts[0], parts[1]
	img, err := s.st.GetFaceImage(ctx, integrationID, imageID)
	switch {
	case err == nil:
		return img.BlobKey == key, nil
	case !errors.Is(err, store.ErrNotFound):
		return true, err
	}
	keys, ok := sessionKeys[faceRef]
	if !ok {
		keys = map[string]bool{}
		sessions, err := s.st.ListCaptureSessions(ctx, integrationID, faceRef)
		if err != nil {
			return true, err
		}
		for i := range sessions {
			if l, err := decodeSession(&sessions[i]); err == nil {
				for _, k := range l.blobKeys() {
					keys[k] = true
				}
			}
		}
		sessionKeys[faceRef] = keys
	}
	return keys[key], nil
}
