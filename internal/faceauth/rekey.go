package faceauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// ResealTemplates re-seals under kr's current key every template sealed
// under another, page by page, calling progress after each page with the
// templates seen and re-sealed so far. It is safe to interrupt and run
// again: a template already under the current key is left alone.
func ResealTemplates(ctx context.Context, st store.Store, kr *crypto.Keyring, progress func(seen, resealed int)) (seen, resealed int, err error) {
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
