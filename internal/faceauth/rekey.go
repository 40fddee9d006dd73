package faceauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// ResealTemplates re-seals every template not sealed under the current key
// of its integration's keyring (keyring(ctx, integrationID): the data
// keyring, or the master keyring for all), page by page, calling progress
// after each page with the templates seen and re-sealed so far. It is safe
// to interrupt and run again: a template already under its current key is
// left alone.
func ResealTemplates(ctx context.Context, st store.Store, keyring func(context.Context, string) (*crypto.Keyring, error), progress func(seen, resealed int)) (seen, resealed int, err error) {
	after := ""
	for {
		page, err := st.ListAllTemplates(ctx, after, 500)
		if err != nil {
			return seen, resealed, err
		}
		if len(page) == 0 {
			return seen, resealed, nil
		}
		for _, t := range page {
			seen++
			kr, err := keyring(ctx, t.IntegrationID)
			if err != nil {
				return seen, resealed, err
			}
			if id, err := crypto.EnvelopeKeyID(t.Sealed); err == nil && id == kr.CurrentID() {
				continue
			}
			ad := templateAD(t.IntegrationID, t.FaceRef, t.ID, t.ModelID)
			vec, err := kr.Open(t.Sealed, ad)
			if err != nil {
				return seen, resealed, fmt.Errorf("%w: template %s: %v", ErrTemplateIntegrity, t.ID, err)
			}
			sealed, err := kr.Seal(vec, ad)
			if err != nil {
				return seen, resealed, err
			}
			if err := st.UpdateTemplateSealed(ctx, t.IntegrationID, t.ID, sealed); errors.Is(err, store.ErrNotFound) {
				continue // its face was erased meanwhile
			} else if err != nil {
				return seen, resealed, err
			}
			resealed++
		}
		after = page[len(page)-1].ID
		if progress != nil {
			progress(seen, resealed)
		}
	}
}
