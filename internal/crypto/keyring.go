// Package crypto holds Visage's at-rest encryption (sealed envelopes with key
// rotation), master-key loading, the vendor AES-GCM payload format used by the
// compatible APIs, and webhook signatures.
//
// Everything here is built on the standard library only: the primitives are
// AES-256-GCM and HMAC-SHA256, and the value this package adds is the framing
// (which key, which context) and refusing anything that does not verify.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Errors callers branch on. They are always returned wrapped with context, so
// test with errors.Is.
var (
	// ErrInvalidKey means key material or a key id is unusable (wrong length,
	// undecodable, bad id). It is a configuration error, never a data error.
	ErrInvalidKey = errors.New("invalid encryption key")
	// ErrUnknownKey means an envelope names a key id the keyring does not
	// hold: either the data was sealed by another deployment or an old key was
	// dropped from the keyring too early. (A corrupted id byte can also show up
	// this way; either way the data cannot be opened.)
	ErrUnknownKey = errors.New("unknown encryption key id")
	// ErrTampered means the data failed authentication or is not a well-formed
	// envelope: modified, truncated, sealed for another context (additional
	// data), or simply not ours. Nothing of the plaintext is ever returned.
	ErrTampered = errors.New("encrypted data is tampered or malformed")
)

const (
	// SecretSize is the only accepted key size: AES-256. Shorter keys are
	// refused rather than padded, because a padded key silently loses strength.
	SecretSize = 32
	// maxKeyIDLen keeps the id inside the envelope's one-byte length field and
	// short enough to log.
	maxKeyIDLen = 64

	envelopeVersion = 1
	nonceSize       = 12 // standard GCM nonce
	tagSize         = 16
)

// Key is one AES-256 key with the id recorded in every envelope it seals.
type Key struct {
	ID     string
	Secret []byte
}

// String keeps the secret out of logs and error messages that format a Key.
func (k Key) String() string { return fmt.Sprintf("Key(%s)", k.ID) }

// GoString covers %#v, which would otherwise print the secret bytes.
func (k Key) GoString() string { return fmt.Sprintf("crypto.Key{ID: %q, Secret: <redacted>}", k.ID) }

// Validate reports whether k can be used for sealing.
func (k Key) Validate() error {
	if err := validateKeyID(k.ID); err != nil {
		return err
	}
	if len(k.Secret) != SecretSize {
		return fmt.Errorf("%w: key %q is %d bytes, want exactly %d", ErrInvalidKey, k.ID, len(k.Secret), SecretSize)
	}
	return nil
}

// validateKeyID restricts ids to a small charset so they are safe in file
// contents, logs and the "id:secret" syntax of ParseKey.
func validateKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("%w: key id must be 1-%d characters, got %d", ErrInvalidKey, maxKeyIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !isKeyIDChar(id[i]) {
			return fmt.Errorf("%w: key id %q has a character outside [A-Za-z0-9._-]", ErrInvalidKey, id)
		}
	}
	return nil
}

func isKeyIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Keyring seals with its current key and opens with any key it holds, so keys
// can be rotated without re-encrypting existing data first: make the new key
// current, keep the old ones until a background job has re-sealed everything
// (see EnvelopeKeyID), then drop them.
//
// A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	// under opens envelopes sealed with none of this keyring's keys: the
	// master keyring under an integration's data keyring, for what was
	// sealed before data keys existed.
	under *Keyring
}

// DataKeyring is a keyring sealing with one data key (an integration's)
// that still opens whatever the master keyring opens, so data sealed
// before the data key existed stays readable until it is re-sealed.
func DataKeyring(dataKey Key, master *Keyring) (*Keyring, error) {
	if master != nil && master.Has(dataKey.ID) {
		return nil, fmt.Errorf("build data keyring: %w: key id %q is also a master key id", ErrInvalidKey, dataKey.ID)
	}
	kr, err := NewKeyring(dataKey)
	if err != nil {
		return nil, err
	}
	kr.under = master
	return kr, nil
}

// NewKeyring builds a keyring. Secrets are copied, so the caller may wipe its
// slices afterwards. Duplicate ids are refused because Open could not tell the
// keys apart.
func NewKeyring(current Key, old ...Key) (*Keyring, error) {
	kr := &Keyring{current: current.ID, aeads: make(map[string]cipher.AEAD, 1+len(old))}
	for _, k := range append([]Key{current}, old...) {
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("build keyring: %w", err)
		}
		if _, dup := kr.aeads[k.ID]; dup {
			return nil, fmt.Errorf("build keyring: %w: duplicate key id %q", ErrInvalidKey, k.ID)
		}
		aead, err := newGCM(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("build keyring: key %q: %w", k.ID, err)
		}
		kr.aeads[k.ID] = aead
	}
	return kr, nil
}

// CurrentID is the id of the key new envelopes are sealed with.
func (kr *Keyring) CurrentID() string { return kr.current }

// Has reports whether the keyring can open envelopes sealed under id.
func (kr *Keyring) Has(id string) bool {
	_, ok := kr.aeads[id]
	return ok || (kr.under != nil && kr.under.Has(id))
}

// Seal encrypts plaintext under the current key and returns the envelope
//
//	version(1) | len(id)(1) | id | nonce(12) | ciphertext | tag(16)
//
// additionalData is authenticated but not stored: Open must be given the same
// bytes. Pass what identifies the value's place (tenant id, row id, blob key)
// so a sealed value copied or swapped into another place fails to open.
//
// Nonces are random. With 96-bit random nonces one key stays well inside the
// GCM safety margin for about 2^32 seals; rotating the current key resets that
// budget, which is one more reason rotation is cheap here.
func (kr *Keyring) Seal(plaintext, additionalData []byte) ([]byte, error) {
	aead := kr.aeads[kr.current]
	header := envelopeHeader(kr.current)

	// One allocation: header and nonce are written in place and GCM appends
	// ciphertext and tag into the remaining capacity.
	out := make([]byte, len(header)+nonceSize, len(header)+nonceSize+len(plaintext)+tagSize)
	copy(out, header)
	nonce := out[len(header):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, bindHeader(header, additionalData)), nil
}

// Open authenticates and decrypts an envelope made by Seal with any key in the
// keyring. It returns ErrUnknownKey if the envelope's key id is not held and
// ErrTampered for everything else that does not verify.
func (kr *Keyring) Open(envelope, additionalData []byte) ([]byte, error) {
	id, header, body, err := splitEnvelope(envelope)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	aead, ok := kr.aeads[id]
	if !ok && kr.under != nil {
		return kr.under.Open(envelope, additionalData)
	}
	if !ok {
		return nil, fmt.Errorf("open: %w %q", ErrUnknownKey, id)
	}
	plaintext, err := aead.Open(nil, body[:nonceSize], body[nonceSize:], bindHeader(header, additionalData))
	if err != nil {
		// The GCM error carries no detail worth keeping; the sentinel is the
		// whole story and the id helps an operator find the key involved.
		return nil, fmt.Errorf("open: %w: authentication failed (key %q)", ErrTampered, id)
	}
	return plaintext, nil
}

// EnvelopeKeyID returns the id of the key an envelope was sealed with, without
// decrypting it. A re-encryption job uses it to find rows not yet sealed under
// the current key. The id is not authenticated until Open succeeds.
func EnvelopeKeyID(envelope []byte) (string, error) {
	id, _, _, err := splitEnvelope(envelope)
	if err != nil {
		return "", err
	}
	return id, nil
}

func envelopeHeader(id string) []byte {
	h := make([]byte, 0, 2+len(id))
	h = append(h, envelopeVersion, byte(len(id)))
	return append(h, id...)
}

// bindHeader authenticates the header along with the caller's additional data,
// so the version byte and key id cannot be altered independently of the
// ciphertext. The header is length-prefixed, so the concatenation is
// unambiguous.
func bindHeader(header, additionalData []byte) []byte {
	ad := make([]byte, 0, len(header)+len(additionalData))
	return append(append(ad, header...), additionalData...)
}

// splitEnvelope parses the framing and checks every length before slicing, so
// hostile input produces ErrTampered rather than a panic.
func splitEnvelope(env []byte) (id string, header, body []byte, err error) {
	if len(env) < 2 {
		return "", nil, nil, fmt.Errorf("%w: envelope too short (%d bytes)", ErrTampered, len(env))
	}
	if env[0] != envelopeVersion {
		return "", nil, nil, fmt.Errorf("%w: unsupported envelope version %d", ErrTampered, env[0])
	}
	idLen := int(env[1])
	if idLen == 0 || idLen > maxKeyIDLen {
		return "", nil, nil, fmt.Errorf("%w: bad key id length %d", ErrTampered, idLen)
	}
	headerLen := 2 + idLen
	if len(env) < headerLen+nonceSize+tagSize {
		return "", nil, nil, fmt.Errorf("%w: envelope truncated (%d bytes)", ErrTampered, len(env))
	}
	id = string(env[2:headerLen])
	if validateKeyID(id) != nil {
		return "", nil, nil, fmt.Errorf("%w: key id is not well-formed", ErrTampered)
	}
	return id, env[:headerLen], env[headerLen:], nil
}

// newGCM wraps AES-256 in GCM. The size check is repeated here because
// aes.NewCipher would happily accept 16- and 24-byte keys.
func newGCM(secret []byte) (cipher.AEAD, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: key is %d bytes, want exactly %d", ErrInvalidKey, len(secret), SecretSize)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("aes cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
