package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"testing"
)

func TestPayloadGCMRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 32)
	for _, pt := range [][]byte{{}, []byte(`{"firstName":"Ada"}`), bytes.Repeat([]byte{0xff}, 5000)} {
		enc, err := EncryptPayloadGCM(key, pt)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatalf("output is not standard base64: %v", err)
		}
		if len(raw) != 12+len(pt)+16 {
			t.Fatalf("layout: %d bytes for %d plaintext", len(raw), len(pt))
		}
		got, err := DecryptPayloadGCM(key, enc)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip: %q, %v", got, err)
		}
	}
}

// The format must interoperate with a plain nonce|ciphertext|tag producer,
// which is what vendor client libraries send.
func TestPayloadGCMInteroperates(t *testing.T) {
	key := bytes.Repeat([]byte{5}, 32)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{1}, 12)
	raw := gcm.Seal(bytes.Clone(nonce), nonce, []byte("vendor data"), nil)

	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		got, err := DecryptPayloadGCM(key, enc.EncodeToString(raw))
		if err != nil || string(got) != "vendor data" {
			t.Fatalf("decrypt external payload: %q, %v", got, err)
		}
	}

	enc, err := EncryptPayloadGCM(key, []byte("ours"))
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := base64.StdEncoding.DecodeString(enc)
	pt, err := gcm.Open(nil, ours[:12], ours[12:], nil)
	if err != nil || string(pt) != "ours" {
		t.Fatalf("external decrypt of ours: %q, %v", pt, err)
	}
}

func TestPayloadGCMErrors(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 32)
	enc, err := EncryptPayloadGCM(key, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(enc)

	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x80
		if _, err := DecryptPayloadGCM(key, base64.StdEncoding.EncodeToString(bad)); !errors.Is(err, ErrTampered) {
			t.Fatalf("flip byte %d: %v", i, err)
		}
	}
	for n := range raw {
		if _, err := DecryptPayloadGCM(key, base64.StdEncoding.EncodeToString(raw[:n])); !errors.Is(err, ErrTampered) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := DecryptPayloadGCM(key, "not base64!!"); !errors.Is(err, ErrTampered) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := DecryptPayloadGCM(bytes.Repeat([]byte{4}, 32), enc); !errors.Is(err, ErrTampered) {
		t.Fatalf("wrong key: %v", err)
	}
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := EncryptPayloadGCM(make([]byte, n), []byte("x")); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("encrypt with %d-byte key: %v", n, err)
		}
		if _, err := DecryptPayloadGCM(make([]byte, n), enc); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("decrypt with %d-byte key: %v", n, err)
		}
	}
}
