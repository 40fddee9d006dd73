package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// The legacy encryptedData form is the one Identity Gram's integration guide
// tells clients to build (docs/encrypted-data.md): AES-256-GCM under the
// integration's privateKey, with the first 24 characters of its publicKey as
// the IV, hex-encoded, and — in the guide's Node snippet — without the tag.
// It is accepted so that existing clients keep working; it cannot be made
// safe on our side, because the IV is the same for every payload of an
// integration and nothing authenticates the bytes. New clients use the v2
// form (payload.go).

const (
	// VendorKeyHexLen is the length of an integration's publicKey and
	// privateKey as the vendor issues them: 32 bytes, hex-encoded.
	VendorKeyHexLen = 2 * SecretSize
	// legacyIVLen is how many characters of the publicKey the legacy form
	// uses as its IV. GCM accepts it, but a 24-byte IV is hashed into the
	// initial counter rather than used as it is.
	legacyIVLen = 24
)

// NewVendorKeyPair issues a publicKey and privateKey for an integration:
// 32 independent random bytes each, as lowercase hex, the shape the vendor's
// keys have. The publicKey identifies the integration on the vendor APIs and
// is not secret, but its first 24 characters are the legacy form's IV, so it
// is random rather than a readable id. The privateKey is the secret both
// payload forms derive their keys from.
func NewVendorKeyPair() (publicHex, privateHex string, err error) {
	var b [2 * SecretSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("new vendor key pair: %w", err)
	}
	return hex.EncodeToString(b[:SecretSize]), hex.EncodeToString(b[SecretSize:]), nil
}

// OpenLegacyPayload decrypts a legacy encryptedData value: hex of the
// AES-256-GCM ciphertext, optionally followed by the 16-byte tag. The guide's
// Node snippet sends no tag and its Java snippet cuts the tag off (for its
// own sample plaintext), so a tag is not required; when the last 16 bytes are
// a valid tag they are verified and stripped.
//
// The plaintext must be a JSON object, as the guide's payloads are. That is
// the only integrity check this form allows: a payload that does not decrypt
// to JSON (wrong keys, a tagged payload whose tag no longer verifies, hex cut
// short by the Java snippet's substring) is ErrTampered. A bit flipped inside
// a JSON string of an untagged payload still goes undetected; that is the
// form's nature, and the reason for v2.
//
// Other errors: ErrInvalidKey (privateKeyHex is not 64 hex characters, or
// publicKeyHex is shorter than 24 characters or not ASCII there),
// ErrEmptyPayload, ErrPayloadTooLarge (more than MaxPayloadSize bytes of
// plaintext), ErrMalformedPayload (not hex, or a v2 payload).
func OpenLegacyPayload(privateKeyHex, publicKeyHex, encryptedHex string) ([]byte, error) {
	aead, iv, err := legacyAEAD(privateKeyHex, publicKeyHex)
	if err != nil {
		return nil, fmt.Errorf("open legacy payload: %w", err)
	}
	raw, err := decodeLegacyHex(encryptedHex)
	if err != nil {
		return nil, fmt.Errorf("open legacy payload: %w", err)
	}
	plaintext := openLegacy(aead, iv, raw)
	if len(plaintext) > MaxPayloadSize {
		return nil, fmt.Errorf("open legacy payload: %w: %d bytes of plaintext, limit %d", ErrPayloadTooLarge, len(plaintext), MaxPayloadSize)
	}
	if !isJSONObject(plaintext) {
		return nil, fmt.Errorf("open legacy payload: %w: does not decrypt to a JSON object (wrong keys, modified, or cut short)", ErrTampered)
	}
	return plaintext, nil
}

// openLegacy prefers the tagged reading: an untagged payload whose last 16
// bytes happen to be a valid tag is a 2^-128 event. GCM's Open compares the
// tag in constant time.
func openLegacy(aead cipher.AEAD, iv, raw []byte) []byte {
	if len(raw) >= tagSize {
		if plaintext, err := aead.Open(nil, iv, raw, nil); err == nil {
			return plaintext
		}
	}
	// GCM encrypts by XOR with the CTR keystream from inc32(J0), so sealing
	// the ciphertext under the same IV gives back the plaintext; the tag
	// Seal appends is discarded. This keeps J0 = GHASH(IV) and the counter
	// handling in the standard library instead of re-implementing them.
	return aead.Seal(nil, iv, raw, nil)[:len(raw)]
}

// legacyAEAD builds the legacy form's cipher and IV from the integration's
// keys.
func legacyAEAD(privateKeyHex, publicKeyHex string) (cipher.AEAD, []byte, error) {
	key, err := parseVendorPrivateKey(privateKeyHex)
	if err != nil {
		return nil, nil, err
	}
	iv, err := legacyIV(publicKeyHex)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, fmt.Errorf("aes cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithNonceSize(block, legacyIVLen)
	if err != nil {
		return nil, nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, iv, nil
}

// parseVendorPrivateKey decodes the 64-hex-character privateKey. Like the
// guide's snippets it accepts either case; unlike Node's Buffer.from, which
// silently stops at the first non-hex character, it refuses anything else.
// Errors never quote the key.
func parseVendorPrivateKey(s string) ([]byte, error) {
	if len(s) != VendorKeyHexLen {
		return nil, fmt.Errorf("%w: private key must be %d hex characters, got %d", ErrInvalidKey, VendorKeyHexLen, len(s))
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: private key is not hex", ErrInvalidKey)
	}
	return key, nil
}

// legacyIV is the first 24 characters of the publicKey as bytes. Node and
// Java take 24 UTF-16 units and then encode them as UTF-8, which equals 24
// bytes only for ASCII, so anything else is refused rather than guessed.
func legacyIV(publicKey string) ([]byte, error) {
	if len(publicKey) < legacyIVLen {
		return nil, fmt.Errorf("%w: public key must be at least %d characters for the legacy form, got %d", ErrInvalidKey, legacyIVLen, len(publicKey))
	}
	iv := []byte(publicKey[:legacyIVLen])
	for _, c := range iv {
		if c >= 0x80 {
			return nil, fmt.Errorf("%w: the first %d characters of the public key must be ASCII", ErrInvalidKey, legacyIVLen)
		}
	}
	return iv, nil
}

// decodeLegacyHex checks the size before decoding, so a huge body costs no
// more than its length check.
func decodeLegacyHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrEmptyPayload
	}
	if limit := 2 * (MaxPayloadSize + tagSize); len(s) > limit {
		return nil, fmt.Errorf("%w: %d hex characters, limit %d", ErrPayloadTooLarge, len(s), limit)
	}
	if strings.HasPrefix(s, v2Prefix) {
		return nil, fmt.Errorf("%w: this is a v2 payload, not the legacy hex form", ErrMalformedPayload)
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex: %v", ErrMalformedPayload, err)
	}
	return raw, nil
}

// isJSONObject reports whether b is one valid JSON value that is an object.
func isJSONObject(b []byte) bool {
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(b)
}
