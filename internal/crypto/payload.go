package crypto

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// EncryptPayloadGCM produces the "encryptedData" format several identity
// vendors use in their APIs: base64(nonce(12) | ciphertext | tag(16)) under a
// shared AES-256 key, with no additional data. It exists for the compatible
// surfaces only; Visage's own data at rest uses Keyring envelopes, which also
// carry a key id and bind a context.
func EncryptPayloadGCM(key, plaintext []byte) (string, error) {
	aead, err := newGCM(key)
	if err != nil {
		return "", fmt.Errorf("encrypt payload: %w", err)
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return "", fmt.Errorf("encrypt payload: read nonce: %w", err)
	}
	out = aead.Seal(out, out, plaintext, nil)
	return base64.StdEncoding.EncodeToString(out), nil
}

// DecryptPayloadGCM reverses EncryptPayloadGCM. Client libraries differ in
// base64 flavour, so standard and URL-safe alphabets, padded or not, are all
// accepted; that leniency is safe because GCM authenticates the decoded bytes.
// Anything that does not decode or verify is ErrTampered.
func DecryptPayloadGCM(key []byte, encoded string) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("decrypt payload: %w", err)
	}
	raw, err := decodeBase64Lenient(strings.TrimSpace(encoded))
	if err != nil {
		return nil, fmt.Errorf("decrypt payload: %w: not base64", ErrTampered)
	}
	if len(raw) < nonceSize+tagSize {
		return nil, fmt.Errorf("decrypt payload: %w: %d bytes is shorter than nonce and tag", ErrTampered, len(raw))
	}
	plaintext, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt payload: %w: authentication failed", ErrTampered)
	}
	return plaintext, nil
}

func decodeBase64Lenient(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}
