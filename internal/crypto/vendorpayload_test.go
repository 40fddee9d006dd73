package crypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The vendor guide's example keys (seed document, "Add New Verification" and
// "Get Verification"). The first example uses one value for both keys.
const (
	seedAddKey     = "2eaf548c6022de5a3293fbfdd595afad04f750d9cc861d9c723229bb34fa679f"
	seedGetPublic  = "f9b1e5aa289929cefdf65449ebfa81bcd7bfad488b14a39c5381bb208128ed20"
	seedGetPrivate = "c2c30795e9d5e2604c09e869ee9bd5d146b42cb235aaa65fbcb9043aae305efe"
)

// The plaintexts the guide's snippets encrypt, as JSON.stringify and the Java
// string concatenation produce them.
const (
	seedNodeAddJSON = `{"first_name":"John","last_name":"Doe","email":"a@a.com","unique_identifier":"xxxxxxx-xxxxxxxxx-xxxx"}`
	seedNodeGetJSON = `{"verification_id":"64c262e079e46e716f303690"}`
	seedJavaAddJSON = `{"first_name":"test","last_name":"testing","email":"admin@user.com","unique_identifier":"1"}`
)

func freshVendorKeys(t testing.TB) (public, private string) {
	t.Helper()
	public, private, err := NewVendorKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return public, private
}

// sealLegacy builds a legacy payload with the package's own cipher; the Node
// and Java tests (clients_test.go) and the committed vectors are what show
// that this cipher is the vendor's.
func sealLegacy(t testing.TB, private, public string, plaintext []byte, tagged bool) string {
	t.Helper()
	aead, iv, err := legacyAEAD(private, public)
	if err != nil {
		t.Fatal(err)
	}
	out := aead.Seal(nil, iv, plaintext, nil)
	if !tagged {
		out = out[:len(plaintext)]
	}
	return hex.EncodeToString(out)
}

func TestOpenLegacyPayloadTaggedAndUntagged(t *testing.T) {
	public, private := freshVendorKeys(t)
	for _, pt := range []string{seedJavaAddJSON, `{}`, ` {"a":[1,2,{"b":null}]} `, `{"name":"José Müller 李"}`} {
		for _, tagged := range []bool{false, true} {
			enc := sealLegacy(t, private, public, []byte(pt), tagged)
			for _, variant := range []string{enc, strings.ToUpper(enc), " " + enc + "\n"} {
				got, err := OpenLegacyPayload(private, public, variant)
				if err != nil || string(got) != pt {
					t.Fatalf("tagged=%v %q: got %q, %v", tagged, pt, got, err)
				}
			}
		}
	}
	// Key case does not matter either: Node's Buffer.from and Java's
	// Character.digit accept both.
	enc := sealLegacy(t, private, public, []byte(`{}`), false)
	if got, err := OpenLegacyPayload(strings.ToUpper(private), public, enc); err != nil || string(got) != `{}` {
		t.Fatalf("upper-case private key: %q, %v", got, err)
	}
}

// vectors.json holds what the guide's Node and Java snippets printed for its
// own example keys (written by `go test -run 'TestSeed|TestDocumentedClients' -update-vectors`), so the
// cipher is checked against them even where node and java are absent.
func TestOpenLegacyPayloadVendorVectors(t *testing.T) {
	vectors := readLegacyVectors(t)
	if len(vectors) < 4 {
		t.Fatalf("only %d vectors in %s", len(vectors), legacyVectorsPath)
	}
	producers := map[string]bool{}
	for _, v := range vectors {
		got, err := OpenLegacyPayload(v.PrivateKey, v.PublicKey, v.Encrypted)
		if err != nil || string(got) != v.Plaintext {
			t.Errorf("%s: got %q, %v; want %q", v.Name, got, err, v.Plaintext)
		}
		producers[v.Producer] = true
	}
	if !producers["node"] || !producers["java"] {
		t.Errorf("vectors from %v, want both node and java", producers)
	}
}

// A tag that does not verify is indistinguishable from an untagged payload
// 16 bytes longer, so the refusal comes from the JSON check: the 16 tag
// bytes decrypt to noise after the closing brace.
func TestOpenLegacyPayloadRefusesFlippedBitInTaggedPayload(t *testing.T) {
	public, private := freshVendorKeys(t)
	raw, _ := hex.DecodeString(sealLegacy(t, private, public, []byte(seedJavaAddJSON), true))
	for i := range 8 * len(raw) {
		bad := bytes.Clone(raw)
		bad[i/8] ^= 1 << (i % 8)
		got, err := OpenLegacyPayload(private, public, hex.EncodeToString(bad))
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("bit %d flipped: got %q, %v; want ErrTampered", i, got, err)
		}
	}
}

// The weakness docs/encrypted-data.md warns about, kept as a test so the
// document stays true: without a tag, flipping ciphertext bits flips the
// same plaintext bits and the result is accepted.
func TestLegacyPayloadWithoutTagIsMalleable(t *testing.T) {
	public, private := freshVendorKeys(t)
	raw, _ := hex.DecodeString(sealLegacy(t, private, public, []byte(seedJavaAddJSON), false))
	at := strings.Index(seedJavaAddJSON, `"1"`) + 1
	raw[at] ^= '1' ^ '9'
	got, err := OpenLegacyPayload(private, public, hex.EncodeToString(raw))
	want := strings.Replace(seedJavaAddJSON, `"1"`, `"9"`, 1)
	if err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want the forged %q accepted", got, err, want)
	}
}

// The other weakness: one IV for every payload of an integration, so the XOR
// of two ciphertexts is the XOR of their plaintexts.
func TestLegacyPayloadReusesKeystream(t *testing.T) {
	public, private := freshVendorKeys(t)
	a, b := []byte(seedJavaAddJSON), []byte(seedNodeAddJSON)
	ca, _ := hex.DecodeString(sealLegacy(t, private, public, a, false))
	cb, _ := hex.DecodeString(sealLegacy(t, private, public, b, false))
	for i := range min(len(a), len(b)) {
		if ca[i]^cb[i] != a[i]^b[i] {
			t.Fatalf("byte %d: ciphertext XOR differs from plaintext XOR", i)
		}
	}
}

func TestOpenLegacyPayloadErrors(t *testing.T) {
	public, private := freshVendorKeys(t)
	otherPublic, otherPrivate := freshVendorKeys(t)
	good := sealLegacy(t, private, public, []byte(seedJavaAddJSON), false)
	v2, err := SealPayloadV2(private, public, []byte(seedJavaAddJSON))
	if err != nil {
		t.Fatal(err)
	}
	javaCut := sealLegacy(t, private, public, []byte(`{"first_name":"Alexandra","last_name":"Featherstonehaugh","email":"alexandra@example.com","unique_identifier":"1"}`), true)[:184]
	// Java's substring(0, 184) on an 82-byte plaintext: ciphertext and 10
	// bytes of the tag.
	partialTag := sealLegacy(t, private, public, []byte(`{"verification_id":"`+strings.Repeat("a", 60)+`"}`), true)[:184]

	cases := []struct {
		name, private, public, enc string
		want                       error
	}{
		{"empty private key", "", public, good, ErrInvalidKey},
		{"short private key", private[:63], public, good, ErrInvalidKey},
		{"long private key", private + "0", public, good, ErrInvalidKey},
		{"non-hex private key", "zz" + private[2:], public, good, ErrInvalidKey},
		{"base64 private key", strings.Repeat("A", 43) + "=", public, good, ErrInvalidKey},
		{"short public key", private, public[:23], good, ErrInvalidKey},
		{"non-ASCII public key", private, "é" + public, good, ErrInvalidKey},
		{"empty", private, public, "", ErrEmptyPayload},
		{"whitespace", private, public, " \n\t", ErrEmptyPayload},
		{"odd length", private, public, good[:len(good)-1], ErrMalformedPayload},
		{"not hex", private, public, "zz" + good[2:], ErrMalformedPayload},
		{"v2 given", private, public, v2, ErrMalformedPayload},
		{"too large", private, public, strings.Repeat("00", MaxPayloadSize+tagSize+1), ErrPayloadTooLarge},
		{"wrong private key", otherPrivate, public, good, ErrTampered},
		{"wrong public key", private, otherPublic, good, ErrTampered},
		{"not JSON", private, public, sealLegacy(t, private, public, []byte("first_name=test"), false), ErrTampered},
		{"JSON but not an object", private, public, sealLegacy(t, private, public, []byte(`["x"]`), false), ErrTampered},
		{"empty plaintext with tag", private, public, sealLegacy(t, private, public, nil, true), ErrTampered},
		{"cut by Java substring", private, public, javaCut, ErrTampered},
		{"partial tag from Java substring", private, public, partialTag, ErrTampered},
	}
	for _, c := range cases {
		got, err := OpenLegacyPayload(c.private, c.public, c.enc)
		if !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: got %q, %v; want %v", c.name, got, err, c.want)
		}
		if err != nil && len(c.private) > 8 && strings.Contains(err.Error(), c.private[8:]) {
			t.Errorf("%s: error quotes the private key: %v", c.name, err)
		}
	}

	// Untagged, the size limit applies to the plaintext, which may be 16
	// bytes longer than a tagged one of the same hex length.
	big := sealLegacy(t, private, public, bytes.Repeat([]byte(" "), MaxPayloadSize+1), false)
	if _, err := OpenLegacyPayload(private, public, big); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("plaintext over the limit: %v", err)
	}
	limit := sealLegacy(t, private, public, append(bytes.Repeat([]byte(" "), MaxPayloadSize-2), '{', '}'), true)
	if got, err := OpenLegacyPayload(private, public, limit); err != nil || len(got) != MaxPayloadSize {
		t.Errorf("plaintext at the limit: %d bytes, %v", len(got), err)
	}
}

func TestNewVendorKeyPair(t *testing.T) {
	seen := map[string]bool{}
	for range 4 {
		public, private, err := NewVendorKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{public, private} {
			b, err := hex.DecodeString(k)
			if err != nil || len(b) != SecretSize || k != strings.ToLower(k) {
				t.Fatalf("key %q is not %d bytes of lowercase hex", k, SecretSize)
			}
			if seen[k] {
				t.Fatalf("key %q issued twice", k)
			}
			seen[k] = true
		}
		// Both forms accept the pair as it comes.
		enc, err := SealPayloadV2(private, public, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenPayloadV2(private, public, enc); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenLegacyPayload(private, public, sealLegacy(t, private, public, []byte(`{}`), false)); err != nil {
			t.Fatal(err)
		}
	}
}

type legacyVector struct {
	Name       string `json:"name"`
	Producer   string `json:"producer"`
	PublicKey  string `json:"publicKey"`
	PrivateKey string `json:"privateKey"`
	Plaintext  string `json:"plaintext"`
	Encrypted  string `json:"encryptedData"`
}

var legacyVectorsPath = filepath.Join("testdata", "identitygram", "vectors.json")

func readLegacyVectors(t testing.TB) []legacyVector {
	t.Helper()
	b, err := os.ReadFile(legacyVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vs []legacyVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("%s: %v", legacyVectorsPath, err)
	}
	return vs
}

func FuzzOpenLegacyPayload(f *testing.F) {
	public, private := seedGetPublic, seedGetPrivate
	f.Add(private, public, sealLegacy(f, private, public, []byte(seedNodeGetJSON), false))
	f.Add(private, public, sealLegacy(f, private, public, []byte(seedNodeGetJSON), true))
	f.Add(private, public, "")
	f.Add(private, public, "0")
	f.Add(private, public, "v2:AAAA")
	f.Add("", "", "00")
	f.Add(private[:62]+"zz", public[:24], "7b7d")
	f.Fuzz(func(t *testing.T, private, public, enc string) {
		got, err := OpenLegacyPayload(private, public, enc)
		if err != nil {
			if got != nil {
				t.Fatalf("plaintext returned with error %v", err)
			}
			if !isPayloadError(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if !isJSONObject(got) || len(got) > MaxPayloadSize {
			t.Fatalf("accepted %d bytes that are not a JSON object within the limit", len(got))
		}
	})
}

func isPayloadError(err error) bool {
	for _, target := range []error{ErrInvalidKey, ErrEmptyPayload, ErrPayloadTooLarge, ErrMalformedPayload, ErrTampered, ErrLegacyDisabled} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func BenchmarkOpenLegacyPayload(b *testing.B) {
	public, private := freshVendorKeys(b)
	for _, c := range []struct {
		name   string
		tagged bool
	}{{"untagged", false}, {"tagged", true}} {
		enc := sealLegacy(b, private, public, []byte(seedNodeAddJSON), c.tagged)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := OpenLegacyPayload(private, public, enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
