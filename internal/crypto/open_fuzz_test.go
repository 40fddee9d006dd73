package crypto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// sealedFixture is an envelope sealed once, committed so that every
// fuzzing process knows it: Seal's nonces are random, so envelopes sealed
// at start-up would differ between the coordinator and its workers.
type sealedFixture struct {
	envHex, ad, plaintext string
}

// Sealed with testKey("k1", 1) and testKey("k2", 2), the current and the
// retired key of the fuzz keyring.
var sealedFixtures = []sealedFixture{
	{"01026b3166757a7a2d6e6f6e63652d31072209ee6a89fe140dbf0e93fe8780e9236bac2355fff4a1c3431db232923b3e3812",
		"integration/int_1/face/f1", "biometric template"},
	{"01026b3266757a7a2d6e6f6e63652d32fbc740ca0b4c6235db8aa58a68027a7e2409ccec5fd91efdf08a4cc709944338a9ed5d58a9",
		"visage/integration/int_2/webhook", "sealed webhook secret"},
}

func (s sealedFixture) env(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString(s.envHex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzOpenOnlySealed opens arbitrary envelopes and additional data with a
// keyring of two keys. It asserts that Open never panics, never alters
// its input, fails only with ErrTampered or ErrUnknownKey (ErrUnknownKey
// only for a well-formed id the keyring lacks, ErrTampered whenever the
// framing is bad) and returns no data with an error; and that it succeeds
// only for an envelope Seal produced, byte for byte, with its own
// additional data: the committed fixtures are the only such envelopes the
// fuzzer can know.
func FuzzOpenOnlySealed(f *testing.F) {
	kr := mustKeyring(f, testKey(f, "k1", 1), testKey(f, "k2", 2))
	for _, s := range sealedFixtures {
		env := s.env(f)
		if pt, err := kr.Open(env, []byte(s.ad)); err != nil || string(pt) != s.plaintext {
			f.Fatalf("fixture %s: %q, %v", s.envHex, pt, err)
		}
		f.Add(env, []byte(s.ad))
		f.Add(env, []byte(s.ad+"x"))
		f.Add(env, []byte(nil))
		f.Add(env[:len(env)-1], []byte(s.ad))
		f.Add(append(bytes.Clone(env), 0), []byte(s.ad))
		flipped := bytes.Clone(env)
		flipped[len(flipped)-1] ^= 0x80 // tag
		f.Add(flipped, []byte(s.ad))
		flipped = bytes.Clone(env)
		flipped[0] = 2 // version
		f.Add(flipped, []byte(s.ad))
	}
	k1 := sealedFixtures[0].env(f)
	moved := bytes.Clone(k1)
	moved[3] = '2' // k1's envelope relabelled as k2's
	f.Add(moved, []byte(sealedFixtures[0].ad))
	unknown := bytes.Clone(k1)
	unknown[3] = '3'
	f.Add(unknown, []byte(sealedFixtures[0].ad))
	f.Add(append([]byte{1, 0}, k1[4:]...), []byte(nil))
	f.Add(append([]byte{1, 65}, k1[2:]...), []byte(nil))
	f.Add(append([]byte{1, 2, 'k', 0}, k1[4:]...), []byte(nil))
	f.Add([]byte{1}, []byte(nil))
	f.Add([]byte(nil), []byte(nil))

	f.Fuzz(func(t *testing.T, env, ad []byte) {
		in := bytes.Clone(env)
		pt, err := kr.Open(env, ad)
		if !bytes.Equal(in, env) {
			t.Fatal("Open modified the envelope")
		}
		id, idErr := EnvelopeKeyID(env)
		if err == nil {
			for _, s := range sealedFixtures {
				if bytes.Equal(env, s.env(t)) && string(ad) == s.ad {
					if string(pt) != s.plaintext || idErr != nil || !kr.Has(id) {
						t.Fatalf("fixture opened to %q (key %q, %v)", pt, id, idErr)
					}
					return
				}
			}
			t.Fatalf("opened an envelope Seal did not make: %x with %q to %q", env, ad, pt)
		}
		if pt != nil {
			t.Fatalf("data returned with error %v", err)
		}
		switch {
		case errors.Is(err, ErrUnknownKey):
			if idErr != nil || kr.Has(id) || validateKeyID(id) != nil {
				t.Fatalf("ErrUnknownKey for id %q (%v, held: %v)", id, idErr, kr.Has(id))
			}
		case errors.Is(err, ErrTampered):
			if idErr != nil && !errors.Is(idErr, ErrTampered) {
				t.Fatalf("EnvelopeKeyID: untyped error %v", idErr)
			}
		default:
			t.Fatalf("untyped error %v", err)
		}
	})
}

// Sealed by SealPayloadV2(seedGetPrivate, seedGetPublic, seedNodeGetJSON)
// with a fixed nonce, committed for the reason given at sealedFixtures.
const fuzzV2Payload = "v2:djItZnV6ei1ub25jxGrznsLkFAm14sBNyeIqtmwrPYmCBuTGP01xnLTXrJipAgJWj8mBL-geNgctk1brXUyCAAmNeHTAdiZ-lmk"

// FuzzOpenVendorPayload gives OpenVendorPayload, the encryptedData entry
// point, arbitrary text under the vendor guide's keys, with the legacy form
// allowed or not. It asserts no panic; that the form reported follows the
// "v2:" marker alone; that an integration without the legacy form gets
// ErrLegacyDisabled for every non-v2 payload; that errors are the package's
// and come without data; that a v2 payload opens only when it decodes to
// exactly the bytes SealPayloadV2 produced (spelling may vary: padding,
// surrounding space, line breaks, the last character's unused bits), and a
// legacy one only to a JSON object within MaxPayloadSize, as
// OpenLegacyPayload opens it.
func FuzzOpenVendorPayload(f *testing.F) {
	private, public := seedGetPrivate, seedGetPublic
	genuine := decodeV2Fuzz(f, fuzzV2Payload)
	if got, err := OpenPayloadV2(private, public, fuzzV2Payload); err != nil || string(got) != seedNodeGetJSON {
		f.Fatalf("fixture: %q, %v", got, err)
	}
	untagged := sealLegacy(f, private, public, []byte(seedNodeGetJSON), false)
	tagged := sealLegacy(f, private, public, []byte(seedNodeGetJSON), true)
	for _, allow := range []bool{true, false} {
		f.Add(fuzzV2Payload, allow)
		f.Add(untagged, allow)
	}
	f.Add(tagged, true)
	f.Add(" "+fuzzV2Payload+"==\n", true)
	f.Add(fuzzV2Payload[:40]+"\r\n"+fuzzV2Payload[40:], false)
	f.Add(fuzzV2Payload[:len(fuzzV2Payload)-1]+"l", true) // unused bits of the last character
	f.Add(fuzzV2Payload[:len(fuzzV2Payload)-1]+"A", true)
	f.Add(fuzzV2Payload[:len(fuzzV2Payload)-2], true)
	f.Add(strings.Replace(fuzzV2Payload, "v2:", "V2:", 1), true)
	f.Add(strings.ToUpper(untagged), true)
	f.Add(tagged[:len(tagged)-2]+"00", true)
	f.Add("v2:", true)
	f.Add("  \t", false)
	f.Add("7b7d", true)

	f.Fuzz(func(t *testing.T, enc string, allowLegacy bool) {
		got, form, err := OpenVendorPayload(private, public, enc, allowLegacy)
		s := strings.TrimSpace(enc)
		switch {
		case s == "":
			if form != 0 || !errors.Is(err, ErrEmptyPayload) {
				t.Fatalf("empty payload: form %v, %v", form, err)
			}
		case strings.HasPrefix(s, v2Prefix):
			if form != PayloadV2 {
				t.Fatalf("v2 payload reported as %v", form)
			}
		default:
			if form != PayloadLegacy {
				t.Fatalf("legacy payload reported as %v", form)
			}
			if !allowLegacy && !errors.Is(err, ErrLegacyDisabled) {
				t.Fatalf("legacy payload with the legacy form off: %q, %v", got, err)
			}
		}
		if err != nil {
			if got != nil || !isPayloadError(err) {
				t.Fatalf("%q, %v", got, err)
			}
			return
		}
		switch form {
		case PayloadV2:
			raw, derr := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimPrefix(s, v2Prefix), "="))
			if derr != nil || !bytes.Equal(raw, genuine) {
				t.Fatalf("a modified v2 payload opened: %q to %q", enc, got)
			}
			if string(got) != seedNodeGetJSON {
				t.Fatalf("genuine payload opened to %q", got)
			}
		case PayloadLegacy:
			again, lerr := OpenLegacyPayload(private, public, enc)
			if !isJSONObject(got) || len(got) > MaxPayloadSize || lerr != nil || !bytes.Equal(again, got) {
				t.Fatalf("legacy payload opened to %q; OpenLegacyPayload: %q, %v", got, again, lerr)
			}
		}
	})
}

// FuzzPayloadV2Modified mutates the bytes of a genuine v2 payload (nonce,
// ciphertext, tag) rather than its text, and asserts that whatever the
// fuzzer makes of them opens only if it is the genuine payload again; a
// failure is ErrTampered (too short, or not authentic) without data.
func FuzzPayloadV2Modified(f *testing.F) {
	private, public := seedGetPrivate, seedGetPublic
	genuine := decodeV2Fuzz(f, fuzzV2Payload)
	f.Add(genuine)
	for _, i := range []int{0, nonceSize, len(genuine) - tagSize - 1, len(genuine) - 1} {
		b := bytes.Clone(genuine)
		b[i] ^= 1
		f.Add(b)
	}
	f.Add(genuine[:len(genuine)-1])
	f.Add(genuine[:nonceSize+tagSize])
	f.Add(genuine[:nonceSize+tagSize-1])
	f.Add(append(bytes.Clone(genuine), 0))
	f.Add(append(bytes.Clone(genuine[:nonceSize]), genuine[nonceSize+1:]...))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := OpenPayloadV2(private, public, v2Prefix+base64.RawURLEncoding.EncodeToString(raw))
		if err == nil {
			if !bytes.Equal(raw, genuine) || string(got) != seedNodeGetJSON {
				t.Fatalf("modified payload %x opened to %q", raw, got)
			}
			return
		}
		if got != nil || !errors.Is(err, ErrTampered) && !errors.Is(err, ErrPayloadTooLarge) {
			t.Fatalf("%q, %v", got, err)
		}
		if bytes.Equal(raw, genuine) {
			t.Fatalf("genuine payload refused: %v", err)
		}
	})
}

func decodeV2Fuzz(t testing.TB, enc string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(enc, v2Prefix))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
