package tenancy

import (
	"context"
	"fmt"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// ResealSecrets re-seals under the current master key every integration's
// AES key, webhook secret and data key still sealed under an old one, and
// says how many integrations it changed. Each integration is rewritten in its own
// transaction, so an interrupted run loses nothing and may be repeated.
func (s *Service) ResealSecrets(ctx context.Context) (int, error) {
	ins, err := s.st.ListIntegrations(ctx)
	if err != nil {
		return 0, fmt.Errorf("reseal secrets: %w", err)
	}
	n := 0
	for _, in := range ins {
		changed := false
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			cur, err := tx.GetIntegration(ctx, in.ID)
			if err != nil {
				return err
			}
			for _, f := range []struct {
				sealed  *[]byte
				purpose string
			}{{&cur.SealedAESKey, purposeAESKey}, {&cur.SealedWebhookSecret, purposeWebhookSecret}} {
				if len(*f.sealed) == 0 {
					continue
				}
				if id, err := crypto.EnvelopeKeyID(*f.sealed); err == nil && id == s.kr.CurrentID() {
					continue
				}
				plain, err := s.kr.Open(*f.sealed, secretAD(cur.ID, f.purpose))
				if err != nil {
					return fmt.Errorf("integration %s %s: %w", cur.ID, f.purpose, err)
				}
				if *f.sealed, err = s.kr.Seal(plain, secretAD(cur.ID, f.purpose)); err != nil {
					return err
				}
				clear(plain)
				changed = true
			}
			if !changed {
				return nil
			}
			return tx.UpdateIntegration(ctx, cur)
		})
		if err != nil {
			return n, fmt.Errorf("reseal secrets: %w", err)
		}
		wrapped, err := s.resealDataKey(ctx, in.ID)
		if err != nil {
			return n, fmt.Errorf("reseal secrets: %w", err)
		}
		if changed || wrapped {
			n++
		}
	}
	return n, nil
}
