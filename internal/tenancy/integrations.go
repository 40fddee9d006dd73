package tenancy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/store"
)

// Sizes of generated secrets.
const (
	apiSecretBytes     = 32
	aesKeyBytes        = 32 // AES-256 for the vendors' encryptedData payloads
	webhookSecretBytes = 32
	maxNameLen         = 200
	// webhookSecretPrefix marks webhook secrets so they are recognisable in
	// a config file or a secret scanner. The whole string, prefix included,
	// is the HMAC key: a receiver pastes it as shown.
	webhookSecretPrefix = "whsec_"
)

// Purposes bound into the additional data of sealed integration secrets, so
// a sealed value copied to another integration or column fails to open.
const (
	purposeAESKey        = "aes-key"
	purposeWebhookSecret = "webhook-secret"
	purposeDataKey       = "data-key"
)

// Created is the result of CreateIntegration. The secrets are shown to the
// operator once and cannot be retrieved later: the API secret is stored
// only as a hash, and while the AES key and webhook secret are kept (sealed)
// for the server's own use, no command reveals them again.
type Created struct {
	Integration *store.Integration
	Key         NewKey
	// AESKey is the 32-byte key of the vendors' encryptedData payloads,
	// standard base64; PrivateKey is the same bytes in hex, as the vendor's
	// clients take it (VendorKeys reads it back).
	AESKey     string
	PrivateKey string
	// WebhookSecret is the HMAC key webhooks are signed with ("whsec_…").
	WebhookSecret string
}

// NewKey is a freshly issued API key with its secret, shown once.
type NewKey struct {
	IntegrationID string
	KeyID         string
	Secret        string
	// Token is "<keyid>.<secret>", the value clients send in x-api-key.
	Token     string
	CreatedAt time.Time
	Scope     string // store.ScopeVerify, ScopeEnrol or ScopeAdmin
	// Revoked lists the keys RotateKey revoked (revokeOthers).
	Revoked []string
}

// CreateIntegration creates a tenant named name with the default policy, a
// public key, a sealed AES key and webhook secret, and a first API key, all
// in one transaction.
func (s *Service) CreateIntegration(ctx context.Context, name string) (*Created, error) {
	name = strings.TrimSpace(name)
	if err := validateName(name); err != nil {
		return nil, err
	}
	now := s.now()
	in := &store.Integration{
		// The id is chosen here, not by the store, because the sealed
		// secrets are bound to it.
		ID:        store.NewID("int_"),
		Name:      name,
		CreatedAt: now,
		Policy:    s.policy,
		// The vendor's form: 64 hex characters (see VendorKeys).
		PublicKey: newPublicKey(),
	}
	aesKey := randomBytes(aesKeyBytes)
	webhookSecret := webhookSecretPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(webhookSecretBytes))
	var err error
	if in.SealedAESKey, err = s.kr.Seal(aesKey, secretAD(in.ID, purposeAESKey)); err != nil {
		return nil, fmt.Errorf("create integration: %w", err)
	}
	if in.SealedWebhookSecret, err = s.kr.Seal([]byte(webhookSecret), secretAD(in.ID, purposeWebhookSecret)); err != nil {
		return nil, fmt.Errorf("create integration: %w", err)
	}
	var key *NewKey
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateIntegration(ctx, in); err != nil {
			return err
		}
		// The data key exists from the start, so no request ever has to
		// create one inside its own transaction.
		dataKey, err := s.kr.Seal(randomBytes(aesKeyBytes), secretAD(in.ID, purposeDataKey))
		if err != nil {
			return err
		}
		if _, err := tx.SwapDataKey(ctx, in.ID, nil, dataKey); err != nil {
			return err
		}
		if key, err = createKey(ctx, tx, in.ID, "initial", now); err != nil {
			return err
		}
		return actor.Record(ctx, tx, in.ID, "integration.created", in.ID, map[string]any{"name": name, "key": key.KeyID})
	})
	if err != nil {
		return nil, fmt.Errorf("create integration: %w", err)
	}
	return &Created{
		Integration:   in,
		Key:           *key,
		AESKey:        base64.StdEncoding.EncodeToString(aesKey),
		PrivateKey:    hex.EncodeToString(aesKey),
		WebhookSecret: webhookSecret,
	}, nil
}

// RotateKey issues a new API key for the integration. The existing keys
// stay valid, so clients can switch over without downtime, unless
// revokeOthers is set: then every other key is revoked in the same
// transaction (use it when a secret may have leaked).
func (s *Service) RotateKey(ctx context.Context, integrationID string, revokeOthers bool) (*NewKey, error) {
	now := s.now()
	var key *NewKey
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetIntegration(ctx, integrationID); err != nil {
			return err
		}
		var old []store.APIKey
		if revokeOthers {
			var err error
			if old, err = tx.ListAPIKeys(ctx, integrationID); err != nil {
				return err
			}
		}
		var err error
		if key, err = createKey(ctx, tx, integrationID, "rotated "+now.UTC().Format(time.DateOnly), now); err != nil {
			return err
		}
		for _, k := range old {
			if k.RevokedAt != nil {
				continue
			}
			if err := tx.RevokeAPIKey(ctx, integrationID, k.ID, now); err != nil {
				return err
			}
			key.Revoked = append(key.Revoked, k.ID)
		}
		return actor.Record(ctx, tx, integrationID, "key.rotated", key.KeyID,
			map[string]any{"scope": key.Scope, "revoked": key.Revoked})
	})
	if err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	return key, nil
}

// CreateKey issues an extra API key limited to scope (store.ScopeVerify,
// ScopeEnrol or ScopeAdmin), e.g. a verify-only key for a login service.
func (s *Service) CreateKey(ctx context.Context, integrationID, label, scope string) (*NewKey, error) {
	if !store.ValidScope(scope) {
		return nil, fmt.Errorf("create key: %w: scope %q (verify, enrol or admin)", store.ErrInvalid, scope)
	}
	if label == "" {
		label = scope + " key"
	}
	var key *NewKey
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetIntegration(ctx, integrationID); err != nil {
			return err
		}
		var err error
		if key, err = createScopedKey(ctx, tx, integrationID, label, scope, s.now()); err != nil {
			return err
		}
		return actor.Record(ctx, tx, integrationID, "key.created", key.KeyID, map[string]any{"scope": scope, "label": label})
	})
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return key, nil
}

// RevokeKey revokes one API key of an integration at once; tokens issued
// for it stop working too. Revoking an already revoked key is not an error.
// A key of another integration is reported as store.ErrNotFound.
func (s *Service) RevokeKey(ctx context.Context, integrationID, keyID string) error {
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.RevokeAPIKey(ctx, integrationID, keyID, s.now()); err != nil {
			return err
		}
		return actor.Record(ctx, tx, integrationID, "key.revoked", keyID, nil)
	})
	if err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	return nil
}

// ListIntegrations returns every integration, oldest first.
func (s *Service) ListIntegrations(ctx context.Context) ([]store.Integration, error) {
	ins, err := s.st.ListIntegrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	return ins, nil
}

// ListKeys returns an integration's API keys, revoked ones included, oldest
// first. SecretHash is cleared: nothing outside this package needs it.
func (s *Service) ListKeys(ctx context.Context, integrationID string) ([]store.APIKey, error) {
	if _, err := s.st.GetIntegration(ctx, integrationID); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	keys, err := s.st.ListAPIKeys(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	for i := range keys {
		keys[i].SecretHash = nil
	}
	return keys, nil
}

// OpenSecrets unseals an integration's AES key (32 bytes) and webhook
// secret (the HMAC key, as shown at creation).
func (s *Service) OpenSecrets(in *store.Integration) (aesKey, webhookSecret []byte, err error) {
	if len(in.SealedAESKey) == 0 || len(in.SealedWebhookSecret) == 0 {
		return nil, nil, fmt.Errorf("open secrets of %s: integration has no sealed secrets", in.ID)
	}
	if aesKey, err = s.kr.Open(in.SealedAESKey, secretAD(in.ID, purposeAESKey)); err != nil {
		return nil, nil, fmt.Errorf("open AES key of %s: %w", in.ID, err)
	}
	if webhookSecret, err = s.kr.Open(in.SealedWebhookSecret, secretAD(in.ID, purposeWebhookSecret)); err != nil {
		return nil, nil, fmt.Errorf("open webhook secret of %s: %w", in.ID, err)
	}
	return aesKey, webhookSecret, nil
}

// SealWebhookSecret seals a new webhook signing secret of an integration
// exactly as CreateIntegration seals its first one, so OpenSecrets opens
// it: the sealer of webhook secret rotation (webhook.WithSealer).
func (s *Service) SealWebhookSecret(integrationID string, secret []byte) ([]byte, error) {
	sealed, err := s.kr.Seal(secret, secretAD(integrationID, purposeWebhookSecret))
	if err != nil {
		return nil, fmt.Errorf("seal webhook secret of %s: %w", integrationID, err)
	}
	return sealed, nil
}

// createKey generates an API key and stores the hash of its secret.
func createKey(ctx context.Context, tx store.Tx, integrationID, label string, now time.Time) (*NewKey, error) {
	return createScopedKey(ctx, tx, integrationID, label, store.ScopeAdmin, now)
}

func createScopedKey(ctx context.Context, tx store.Tx, integrationID, label, scope string, now time.Time) (*NewKey, error) {
	secret := base64.RawURLEncoding.EncodeToString(randomBytes(apiSecretBytes))
	k := &store.APIKey{
		ID:            store.NewID("key_"),
		IntegrationID: integrationID,
		SecretHash:    hashSecret(secret),
		Label:         label,
		CreatedAt:     now,
		Scope:         scope,
	}
	if err := tx.CreateAPIKey(ctx, k); err != nil {
		return nil, err
	}
	return &NewKey{
		IntegrationID: integrationID,
		KeyID:         k.ID,
		Secret:        secret,
		Token:         k.ID + tokenSep + secret,
		CreatedAt:     k.CreatedAt,
		Scope:         k.Scope,
	}, nil
}

// hashSecret is how API secrets are stored. A plain SHA-256 is enough, and
// a slow password hash (bcrypt, argon2) would only cost CPU on every
// request: the secret is 256 random bits, not a human-chosen password, so
// there is no dictionary to try and brute force of the hash is hopeless.
func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// secretAD is the additional data binding a sealed secret to its
// integration and purpose.
func secretAD(integrationID, purpose string) []byte {
	return []byte("visage/integration/" + integrationID + "/" + purpose)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

func validateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: integration name is empty", store.ErrInvalid)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: integration name is not valid UTF-8", store.ErrInvalid)
	case utf8.RuneCountInString(name) > maxNameLen:
		return fmt.Errorf("%w: integration name longer than %d characters", store.ErrInvalid, maxNameLen)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%w: integration name contains control characters", store.ErrInvalid)
	}
	return nil
}
