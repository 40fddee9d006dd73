package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func decodeV2Body(t *testing.T, enc string) []byte {
	t.Helper()
	body, ok := strings.CutPrefix(enc, "v2:")
	if !ok {
		t.Fatalf("%q has no v2: marker", enc)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("body is not unpadded base64url: %v", err)
	}
	return raw
}

func encodeV2Body(raw []byte) string { return "v2:" + base64.RawURLEncoding.EncodeToString(raw) }

func TestPayloadV2RoundTrip(t *testing.T) {
	public, private := freshVendorKeys(t)
	for _, pt := range [][]byte{{}, []byte(seedNodeGetJSON), bytes.Repeat([]byte{0xff}, MaxPayloadSize)} {
		enc, err := SealPayloadV2(private, public, pt)
		if err != nil {
			t.Fatal(err)
		}
		if raw := decodeV2Body(t, enc); len(raw) != nonceSize+len(pt)+tagSize {
			t.Fatalf("layout: %d bytes for %d of plaintext", len(raw), len(pt))
		}
		got, err := OpenPayloadV2(private, public, enc)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(pt), len(got), err)
		}
	}
}

func TestPayloadV2UsesFreshNonces(t *testing.T) {
	public, private := freshVendorKeys(t)
	seen := map[string]bool{}
	for range 50 {
		enc, err := SealPayloadV2(private, public, []byte(seedNodeGetJSON))
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(decodeV2Body(t, enc)[:nonceSize])
		if seen[nonce] {
			t.Fatal("nonce repeated")
		}
		seen[nonce] = true
	}
}

// The document tells clients the v2 key is one HMAC-SHA256 of the
// privateKey; build a payload exactly that way, with nothing from this
// package, and open it.
func TestPayloadV2MatchesDocumentedRecipe(t *testing.T) {
	public, private := freshVendorKeys(t)
	privateBytes, _ := hex.DecodeString(private)
	mac := hmac.New(sha256.New, privateBytes)
	mac.Write([]byte("visage/encryptedData/v2\x01"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	gcm, _ := cipher.NewGCM(block)
	nonce := []byte("twelve bytes")
	enc := encodeV2Body(gcm.Seal(bytes.Clone(nonce), nonce, []byte(seedNodeGetJSON), []byte(public)))

	got, err := OpenPayloadV2(private, public, enc)
	if err != nil || string(got) != seedNodeGetJSON {
		t.Fatalf("documented recipe: %q, %v", got, err)
	}
	// Base64url with padding, as Java's URL encoder writes it by default.
	if pad := len(enc) % 4; pad != 0 {
		if got, err := OpenPayloadV2(private, public, enc+strings.Repeat("=", 4-pad)); err != nil || string(got) != seedNodeGetJSON {
			t.Fatalf("padded: %q, %v", got, err)
		}
	}
}

func TestPayloadV2RefusesTampering(t *testing.T) {
	public, private := freshVendorKeys(t)
	enc, err := SealPayloadV2(private, public, []byte(seedNodeGetJSON))
	if err != nil {
		t.Fatal(err)
	}
	raw := decodeV2Body(t, enc)
	for i := range 8 * len(raw) {
		bad := bytes.Clone(raw)
		bad[i/8] ^= 1 << (i % 8)
		if got, err := OpenPayloadV2(private, public, encodeV2Body(bad)); !errors.Is(err, ErrTampered) || got != nil {
			t.Fatalf("bit %d flipped: %q, %v", i, got, err)
		}
	}
	for n := range raw {
		if _, err := OpenPayloadV2(private, public, encodeV2Body(raw[:n])); !errors.Is(err, ErrTampered) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	if _, err := OpenPayloadV2(private, public, encodeV2Body(append(bytes.Clone(raw), 0))); !errors.Is(err, ErrTampered) {
		t.Fatalf("byte appended: %v", err)
	}
}

func TestPayloadV2RefusesWrongKeys(t *testing.T) {
	public, private := freshVendorKeys(t)
	otherPublic, otherPrivate := freshVendorKeys(t)
	enc, err := SealPayloadV2(private, public, []byte(seedNodeGetJSON))
	if err != nil {
		t.Fatal(err)
	}
	// A public key that differs only after the 24 characters the legacy IV
	// uses: v2 binds all of it.
	sameIV := public[:len(public)-1] + "0"
	if sameIV == public {
		sameIV = public[:len(public)-1] + "1"
	}
	for name, keys := range map[string][2]string{
		"other public key":            {private, otherPublic},
		"public key differing at end": {private, sameIV},
		"public key prefix":           {private, public[:24]},
		"other private key":           {otherPrivate, public},
		"legacy key order swapped":    {public, private},
	} {
		if got, err := OpenPayloadV2(keys[0], keys[1], enc); !errors.Is(err, ErrTampered) || got != nil {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}

func TestPayloadV2Errors(t *testing.T) {
	public, private := freshVendorKeys(t)
	legacy := sealLegacy(t, private, public, []byte(seedNodeGetJSON), false)
	cases := []struct {
		name, private, public, enc string
		want                       error
	}{
		{"empty", private, public, "", ErrEmptyPayload},
		{"only whitespace", private, public, "\r\n", ErrEmptyPayload},
		{"legacy given", private, public, legacy, ErrMalformedPayload},
		{"marker in capitals", private, public, "V2:" + legacy, ErrMalformedPayload},
		{"standard base64 alphabet", private, public, "v2:ab+/cd", ErrMalformedPayload},
		{"marker only", private, public, "v2:", ErrTampered},
		{"too large", private, public, "v2:" + strings.Repeat("A", base64.RawURLEncoding.EncodedLen(nonceSize+MaxPayloadSize+tagSize)+1), ErrPayloadTooLarge},
		{"short private key", private[:62], public, legacy, ErrInvalidKey},
		{"non-hex private key", "g" + private[1:], public, legacy, ErrInvalidKey},
		{"empty public key", private, "", legacy, ErrInvalidKey},
	}
	for _, c := range cases {
		if got, err := OpenPayloadV2(c.private, c.public, c.enc); !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: %q, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := SealPayloadV2(private, public, make([]byte, MaxPayloadSize+1)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("seal over the limit: %v", err)
	}
	if _, err := SealPayloadV2(private, "", nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("seal without public key: %v", err)
	}
	if _, err := SealPayloadV2(strings.Repeat("0", 32), public, nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("seal with a 16-byte key: %v", err)
	}
}

func TestOpenVendorPayloadDispatches(t *testing.T) {
	public, private := freshVendorKeys(t)
	legacy := sealLegacy(t, private, public, []byte(seedNodeGetJSON), false)
	v2, err := SealPayloadV2(private, public, []byte(seedNodeGetJSON))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		enc         string
		allowLegacy bool
		form        PayloadForm
		err         error
	}{
		{v2, true, PayloadV2, nil},
		{" " + v2 + "\n", false, PayloadV2, nil},
		{legacy, true, PayloadLegacy, nil},
		{legacy, false, PayloadLegacy, ErrLegacyDisabled},
		{"not hex", false, PayloadLegacy, ErrLegacyDisabled},
		{"not hex", true, PayloadLegacy, ErrMalformedPayload},
		{"v2:AAAA", false, PayloadV2, ErrTampered},
		{"  ", true, 0, ErrEmptyPayload},
	} {
		got, form, err := OpenVendorPayload(private, public, c.enc, c.allowLegacy)
		if form != c.form || !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
			t.Errorf("%.20q allowLegacy=%v: form %v, %v; want %v, %v", c.enc, c.allowLegacy, form, err, c.form, c.err)
			continue
		}
		if err == nil && string(got) != seedNodeGetJSON {
			t.Errorf("%.20q: plaintext %q", c.enc, got)
		}
	}
	if PayloadLegacy.String() != "legacy" || PayloadV2.String() != "v2" || PayloadForm(0).String() != "PayloadForm(0)" {
		t.Errorf("form names: %v %v %v", PayloadLegacy, PayloadV2, PayloadForm(0))
	}
}

func FuzzOpenPayloadV2(f *testing.F) {
	public, private := seedGetPublic, seedGetPrivate
	good, err := SealPayloadV2(private, public, []byte(seedNodeGetJSON))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(private, public, good)
	f.Add(private, public, good+"==")
	f.Add(private, public, "v2:")
	f.Add(private, public, "v2:====")
	f.Add(private, public, "7b7d")
	f.Add(private, "", good)
	f.Add("", public, "v2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, private, public, enc string) {
		got, err := OpenPayloadV2(private, public, enc)
		if err != nil {
			if got != nil || !isPayloadError(err) {
				t.Fatalf("%q, %v", got, err)
			}
			return
		}
		if len(got) > MaxPayloadSize {
			t.Fatalf("accepted %d bytes, over the limit", len(got))
		}
	})
}

func BenchmarkOpenPayloadV2(b *testing.B) {
	public, private := freshVendorKeys(b)
	enc, err := SealPayloadV2(private, public, []byte(seedNodeAddJSON))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := OpenPayloadV2(private, public, enc); err != nil {
			b.Fatal(err)
		}
	}
}
