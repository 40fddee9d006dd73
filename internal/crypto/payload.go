package crypto

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// The encryptedData field of the vendor APIs comes in two forms, told apart
// by their first characters (docs/encrypted-data.md):
//
//	legacy  hex(ciphertext [| tag])                     vendorpayload.go
//	v2      "v2:" base64url(nonce(12) | ciphertext | tag(16))
//
// v2 is AES-256-GCM with a random nonce and a tag that is always verified,
// under a key derived from the integration's privateKey (so that nothing
// learned from legacy payloads, which reuse one IV, carries over), with the
// integration's publicKey as additional data.

// Errors of the payload forms, besides ErrInvalidKey (the integration's keys
// are unusable: a configuration error) and ErrTampered (the payload does not
// authenticate or does not decrypt to what the form promises). All are
// returned wrapped; test with errors.Is.
var (
	// ErrEmptyPayload means encryptedData was empty or only whitespace.
	ErrEmptyPayload = errors.New("encrypted payload is empty")
	// ErrPayloadTooLarge means the payload exceeds MaxPayloadSize. It is
	// checked on the encoded length before anything is decoded.
	ErrPayloadTooLarge = errors.New("encrypted payload is too large")
	// ErrMalformedPayload means the text is not an encoding of either form:
	// not hex, not base64url after "v2:", or one form given where only the
	// other is accepted.
	ErrMalformedPayload = errors.New("encrypted payload is malformed")
	// ErrLegacyDisabled means a legacy payload reached an integration that
	// accepts only v2.
	ErrLegacyDisabled = errors.New("legacy encrypted payloads are disabled for this integration")
)

// MaxPayloadSize bounds the plaintext of an encryptedData payload in either
// form. The vendor's payloads are a few hundred bytes of JSON; the bound keeps
// one request from making the server decode, decrypt and parse megabytes.
const MaxPayloadSize = 64 << 10

const (
	v2Prefix = "v2:"
	// v2KeyInfo labels the v2 key derivation, so the v2 key is unrelated to
	// the raw privateKey the legacy form uses.
	v2KeyInfo = "visage/encryptedData/v2"
)

// PayloadForm says which form an encryptedData value was in.
type PayloadForm int

// The forms OpenVendorPayload accepts.
const (
	PayloadLegacy PayloadForm = iota + 1
	PayloadV2
)

func (f PayloadForm) String() string {
	switch f {
	case PayloadLegacy:
		return "legacy"
	case PayloadV2:
		return "v2"
	}
	return fmt.Sprintf("PayloadForm(%d)", int(f))
}

// SealPayloadV2 encrypts plaintext in the v2 form for the integration with
// the given keys. Clients normally do this themselves (the document has Node
// and Java versions); the server uses it in tests and for payloads it sends.
func SealPayloadV2(privateKeyHex, publicKeyHex string, plaintext []byte) (string, error) {
	aead, err := v2AEAD(privateKeyHex, publicKeyHex)
	if err != nil {
		return "", fmt.Errorf("seal v2 payload: %w", err)
	}
	if len(plaintext) > MaxPayloadSize {
		return "", fmt.Errorf("seal v2 payload: %w: %d bytes, limit %d", ErrPayloadTooLarge, len(plaintext), MaxPayloadSize)
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return "", fmt.Errorf("seal v2 payload: read nonce: %w", err)
	}
	out = aead.Seal(out, out, plaintext, []byte(publicKeyHex))
	return v2Prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// OpenPayloadV2 authenticates and decrypts a v2 payload. Anything that does
// not verify — modified, truncated, sealed with another privateKey or for
// another publicKey — is ErrTampered, and nothing of its plaintext is
// returned. Base64url padding is tolerated (Java's URL encoder adds it unless
// told not to); the tag makes that leniency harmless.
func OpenPayloadV2(privateKeyHex, publicKeyHex, encrypted string) ([]byte, error) {
	aead, err := v2AEAD(privateKeyHex, publicKeyHex)
	if err != nil {
		return nil, fmt.Errorf("open v2 payload: %w", err)
	}
	raw, err := decodeV2(encrypted)
	if err != nil {
		return nil, fmt.Errorf("open v2 payload: %w", err)
	}
	if len(raw) < nonceSize+tagSize {
		return nil, fmt.Errorf("open v2 payload: %w: %d bytes is shorter than nonce and tag", ErrTampered, len(raw))
	}
	plaintext, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], []byte(publicKeyHex))
	if err != nil {
		return nil, fmt.Errorf("open v2 payload: %w: authentication failed", ErrTampered)
	}
	return plaintext, nil
}

// OpenVendorPayload opens encryptedData in whichever form it is, and says
// which. With allowLegacy false (an integration that has switched the legacy
// form off) a legacy payload is ErrLegacyDisabled, decided from its form
// alone before any decryption.
func OpenVendorPayload(privateKeyHex, publicKeyHex, encrypted string, allowLegacy bool) ([]byte, PayloadForm, error) {
	s := strings.TrimSpace(encrypted)
	switch {
	case s == "":
		return nil, 0, fmt.Errorf("open payload: %w", ErrEmptyPayload)
	case strings.HasPrefix(s, v2Prefix):
		plaintext, err := OpenPayloadV2(privateKeyHex, publicKeyHex, s)
		return plaintext, PayloadV2, err
	case !allowLegacy:
		return nil, PayloadLegacy, fmt.Errorf("open payload: %w", ErrLegacyDisabled)
	}
	plaintext, err := OpenLegacyPayload(privateKeyHex, publicKeyHex, s)
	return plaintext, PayloadLegacy, err
}

// v2AEAD derives the v2 key as HKDF-SHA256-Expand(privateKey, v2KeyInfo, 32),
// which is one HMAC-SHA256(privateKey, v2KeyInfo || 0x01): easy for clients
// to reproduce. Extract is skipped because the privateKey is already 32
// uniformly random bytes.
func v2AEAD(privateKeyHex, publicKeyHex string) (cipher.AEAD, error) {
	if publicKeyHex == "" {
		return nil, fmt.Errorf("%w: empty public key", ErrInvalidKey)
	}
	private, err := parseVendorPrivateKey(privateKeyHex)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Expand(sha256.New, private, v2KeyInfo, SecretSize)
	if err != nil {
		return nil, fmt.Errorf("derive v2 key: %w", err)
	}
	return newGCM(key)
}

// decodeV2 checks the marker and the size, then decodes.
func decodeV2(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrEmptyPayload
	}
	body, ok := strings.CutPrefix(s, v2Prefix)
	if !ok {
		return nil, fmt.Errorf("%w: no %q marker (a legacy payload?)", ErrMalformedPayload, v2Prefix)
	}
	body = strings.TrimRight(body, "=")
	if limit := base64.RawURLEncoding.EncodedLen(nonceSize + MaxPayloadSize + tagSize); len(body) > limit {
		return nil, fmt.Errorf("%w: %d base64 characters, limit %d", ErrPayloadTooLarge, len(body), limit)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url: %v", ErrMalformedPayload, err)
	}
	return raw, nil
}
