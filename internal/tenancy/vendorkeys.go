package tenancy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/fault/classify"
	"github.com/visagehq/visage/internal/store"
)

// VendorKeys is an integration's key pair for the vendors' encryptedData
// payloads (Identity Gram): the public key, also the integration's public
// identifier on vendor APIs, and the private key (the integration's sealed
// AES key), both as hex. An operator may read them back at any time.
type VendorKeys struct {
	PublicKey  string `json:"publicKey"`
	PrivateKey string `json:"privateKey"`
}

// VendorKeys opens an integration's key pair.
func (s *Service) VendorKeys(in *store.Integration) (*VendorKeys, error) {
	aesKey, err := s.kr.Open(in.SealedAESKey, secretAD(in.ID, purposeAESKey))
	if err != nil {
		return nil, classify.Err(fmt.Errorf("open AES key of %s: %w", in.ID, err))
	}
	return &VendorKeys{PublicKey: in.PublicKey, PrivateKey: hex.EncodeToString(aesKey)}, nil
}

// PrincipalKeys is VendorKeys of the caller's own integration.
func (s *Service) PrincipalKeys(p *Principal) (*VendorKeys, error) {
	return s.VendorKeys(p.Integration)
}

// newPublicKey is 32 random bytes in hex, as the vendor's keys look.
func newPublicKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RotateVendorKeys replaces an integration's key pair: payloads made with
// the old pair no longer open.
func (s *Service) RotateVendorKeys(ctx context.Context, integrationID string) (*VendorKeys, error) {
	var out *VendorKeys
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, integrationID)
		if err != nil {
			return err
		}
		in.PublicKey = newPublicKey()
		if in.SealedAESKey, err = s.kr.Seal(randomBytes(aesKeyBytes), secretAD(in.ID, purposeAESKey)); err != nil {
			return err
		}
		if err := tx.UpdateIntegration(ctx, in); err != nil {
			return err
		}
		if err := actor.Record(ctx, tx, in.ID, "integration.vendor_keys_rotated", in.ID, map[string]any{"public_key": in.PublicKey}); err != nil {
			return err
		}
		out, err = s.VendorKeys(in)
		return err
	})
	return out, classify.Err(err)
}
