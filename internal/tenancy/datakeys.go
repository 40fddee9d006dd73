package tenancy

import (
	"context"
	"fmt"
	"sync"

	"github.com/visagehq/visage/internal/crypto"
)

// DataKeyID names integration data keys in envelopes. Every integration's
// key has this id: which key it is follows from where the envelope lies
// (the additional data names the integration).
const DataKeyID = "tenant-data"

type dataKeyCache struct {
	mu   sync.Mutex
	ring map[string]*crypto.Keyring
}

// DataKeyring is the keyring sealing an integration's images, frames,
// documents and templates: its own data key, wrapped by the master key
// and created on first use, over the master keyring (which opens what was
// sealed before the integration had one). Deleting the integration deletes
// the key with it, so copies of its data left in backups cannot be opened.
func (s *Service) DataKeyring(ctx context.Context, integrationID string) (*crypto.Keyring, error) {
	s.dataKeys.mu.Lock()
	kr := s.dataKeys.ring[integrationID]
	s.dataKeys.mu.Unlock()
	if kr != nil {
		return kr, nil
	}
	key, err := s.dataKey(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("data key of %s: %w", integrationID, err)
	}
	defer clear(key)
	if kr, err = crypto.DataKeyring(crypto.Key{ID: DataKeyID, Secret: key}, s.kr); err != nil {
		return nil, fmt.Errorf("data key of %s: %w", integrationID, err)
	}
	s.dataKeys.mu.Lock()
	defer s.dataKeys.mu.Unlock()
	if s.dataKeys.ring == nil {
		s.dataKeys.ring = map[string]*crypto.Keyring{}
	}
	s.dataKeys.ring[integrationID] = kr
	return kr, nil
}

// dataKey unwraps the integration's data key, creating it if it has none
// yet; when two nodes create one at once, the first stored wins.
func (s *Service) dataKey(ctx context.Context, integrationID string) ([]byte, error) {
	for range 3 {
		sealed, err := s.st.GetDataKey(ctx, integrationID)
		if err != nil {
			return nil, err
		}
		if sealed != nil {
			return s.kr.Open(sealed, secretAD(integrationID, purposeDataKey))
		}
		fresh, err := s.kr.Seal(randomBytes(aesKeyBytes), secretAD(integrationID, purposeDataKey))
		if err != nil {
			return nil, err
		}
		if _, err := s.st.SwapDataKey(ctx, integrationID, nil, fresh); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("data key of %s: not stored after three attempts", integrationID)
}

// resealDataKey re-wraps the integration's data key under the current
// master key; it reports whether it changed anything.
func (s *Service) resealDataKey(ctx context.Context, integrationID string) (bool, error) {
	sealed, err := s.st.GetDataKey(ctx, integrationID)
	if err != nil || sealed == nil {
		return false, err
	}
	if id, err := crypto.EnvelopeKeyID(sealed); err == nil && id == s.kr.CurrentID() {
		return false, nil
	}
	ad := secretAD(integrationID, purposeDataKey)
	key, err := s.kr.Open(sealed, ad)
	if err != nil {
		return false, fmt.Errorf("data key of %s: %w", integrationID, err)
	}
	defer clear(key)
	wrapped, err := s.kr.Seal(key, ad)
	if err != nil {
		return false, err
	}
	return s.st.SwapDataKey(ctx, integrationID, sealed, wrapped)
}

// EnsureDataKeys gives every integration that has none (created before
// data keys existed) its data key, and loads them all, so that requests
// never create one inside their own transaction. It returns how many it
// created.
func (s *Service) EnsureDataKeys(ctx context.Context) (int, error) {
	ins, err := s.st.ListIntegrations(ctx)
	if err != nil {
		return 0, fmt.Errorf("data keys: %w", err)
	}
	n := 0
	for _, in := range ins {
		had, err := s.st.GetDataKey(ctx, in.ID)
		if err != nil {
			return n, fmt.Errorf("data keys: %w", err)
		}
		if _, err := s.DataKeyring(ctx, in.ID); err != nil {
			return n, err
		}
		if had == nil {
			n++
		}
	}
	return n, nil
}
