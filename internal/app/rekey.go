package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
)

// RekeyReport says what a re-keying run found and changed.
type RekeyReport struct {
	CurrentKey     string `json:"current_key"`
	Integrations   int    `json:"integrations_resealed"`
	TemplatesSeen  int    `json:"templates_seen"`
	Templates      int    `json:"templates_resealed"`
	BlobsSeen      int    `json:"files_seen"`
	Blobs          int    `json:"files_resealed"`
	RemainingFiles int    `json:"files_under_old_keys"`
}

// Rekey re-wraps every integration's secrets and data key under the
// current master key, and re-seals under its integration's data key every
// template and stored file (images, frames, documents, videos) still
// sealed directly under a master key (data from before data keys).
// Afterwards the old keys can be dropped from VISAGE_OLD_MASTER_KEYS. It may run while servers serve;
// interrupted, it is simply run again. progress receives a line per step.
func Rekey(ctx context.Context, c *config.Server, st store.Store, ten *tenancy.Service, progress func(string)) (*RekeyReport, error) {
	keys, err := LoadKeys(c)
	if err != nil {
		return nil, err
	}
	rep := &RekeyReport{CurrentKey: keys.Ring.CurrentID()}
	if rep.Integrations, err = ten.ResealSecrets(ctx); err != nil {
		return rep, err
	}
	progress(fmt.Sprintf("integration secrets: %d integrations re-sealed", rep.Integrations))
	rep.TemplatesSeen, rep.Templates, err = faceauth.ResealTemplates(ctx, st, ten.DataKeyring, func(seen, done int) {
		if seen%5000 == 0 {
			progress(fmt.Sprintf("templates: %d seen, %d re-sealed", seen, done))
		}
	})
	if err != nil {
		return rep, fmt.Errorf("rekey templates: %w", err)
	}
	progress(fmt.Sprintf("templates: %d seen, %d re-sealed", rep.TemplatesSeen, rep.Templates))
	fs, err := blob.NewFS(filepath.Join(c.DataDir, "blobs"), keys.Ring, c.MaxBodyBytes)
	if err != nil {
		return rep, fmt.Errorf("blob store: %w", err)
	}
	defer fs.Close()
	fs.SealPerIntegration(ten.DataKeyring)
	var old []string
	err = fs.List(ctx, "", func(e blob.Entry) error {
		rep.BlobsSeen++
		if e.KeyID != tenancy.DataKeyID {
			old = append(old, e.Key)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("rekey files: %w", err)
	}
	progress(fmt.Sprintf("files: %d seen, %d under old keys", rep.BlobsSeen, len(old)))
	for i, k := range old {
		changed, err := fs.Reseal(ctx, k)
		if errors.Is(err, blob.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
			continue // erased meanwhile, or its integration is gone
		}
		if err != nil {
			return rep, fmt.Errorf("rekey files: %w", err)
		}
		if changed {
			rep.Blobs++
		}
		if (i+1)%1000 == 0 {
			progress(fmt.Sprintf("files: %d of %d re-sealed", i+1, len(old)))
		}
	}
	err = fs.List(ctx, "", func(e blob.Entry) error {
		if e.KeyID != tenancy.DataKeyID {
			rep.RemainingFiles++
		}
		return nil
	})
	progress(fmt.Sprintf("files: %d re-sealed, %d still under old keys", rep.Blobs, rep.RemainingFiles))
	return rep, err
}
