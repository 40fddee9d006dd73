package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func testKey(t testing.TB, id string, fill byte) Key {
	t.Helper()
	return Key{ID: id, Secret: bytes.Repeat([]byte{fill}, SecretSize)}
}

func mustKeyring(t testing.TB, current Key, old ...Key) *Keyring {
	t.Helper()
	kr, err := NewKeyring(current, old...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

func TestSealOpenRoundTrip(t *testing.T) {
	kr := mustKeyring(t, testKey(t, "k1", 1))
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("template"), 1000)} {
		ad := []byte("int_1/tpl_1")
		env, err := kr.Seal(pt, ad)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if len(pt) >= 8 && bytes.Contains(env, pt) { // shorter values can appear in random bytes by chance
			t.Fatal("envelope contains the plaintext")
		}
		got, err := kr.Open(env, ad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip: got %q, want %q", got, pt)
		}
	}
}

func TestEnvelopeLayout(t *testing.T) {
	kr := mustKeyring(t, testKey(t, "abc", 1))
	pt := []byte("hello")
	env, err := kr.Seal(pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if env[0] != 1 || env[1] != 3 || string(env[2:5]) != "abc" {
		t.Fatalf("unexpected header % x", env[:5])
	}
	if want := 2 + 3 + 12 + len(pt) + 16; len(env) != want {
		t.Fatalf("envelope is %d bytes, want %d", len(env), want)
	}
	id, err := EnvelopeKeyID(env)
	if err != nil || id != "abc" {
		t.Fatalf("EnvelopeKeyID = %q, %v", id, err)
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	kr := mustKeyring(t, testKey(t, "k1", 1))
	seen := map[string]bool{}
	for range 100 {
		env, err := kr.Seal([]byte("same"), nil)
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(env[2+2 : 2+2+12])
		if seen[nonce] {
			t.Fatal("nonce reused")
		}
		seen[nonce] = true
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := testKey(t, "old", 1), testKey(t, "new", 2)
	before := mustKeyring(t, oldKey)
	env, err := before.Seal([]byte("secret"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}

	after := mustKeyring(t, newKey, oldKey)
	got, err := after.Open(env, []byte("ad"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("rotated keyring cannot open old data: %q, %v", got, err)
	}
	fresh, err := after.Seal([]byte("secret"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := EnvelopeKeyID(fresh); id != "new" || after.CurrentID() != "new" {
		t.Fatalf("new data sealed with %q, want current key", id)
	}
	if !after.Has("old") || after.Has("other") {
		t.Fatal("Has reports wrong membership")
	}

	// Once the old key is dropped, its envelopes name an unknown key.
	dropped := mustKeyring(t, newKey)
	if _, err := dropped.Open(env, []byte("ad")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Open with dropped key: %v, want ErrUnknownKey", err)
	}
}

func TestOpenUnknownKey(t *testing.T) {
	env, err := mustKeyring(t, testKey(t, "theirs", 1)).Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustKeyring(t, testKey(t, "ours", 1)).Open(env, nil)
	if !errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrTampered) {
		t.Fatalf("got %v, want only ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), "theirs") {
		t.Fatalf("error %q should name the key id", err)
	}
}

func TestSameIDDifferentSecretIsTampered(t *testing.T) {
	env, err := mustKeyring(t, testKey(t, "k", 1)).Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustKeyring(t, testKey(t, "k", 2)).Open(env, nil); !errors.Is(err, ErrTampered) {
		t.Fatalf("got %v, want ErrTampered", err)
	}
}

// Swapping two sealed rows (same key, different context) must be detected.
func TestAdditionalDataBindsContext(t *testing.T) {
	kr := mustKeyring(t, testKey(t, "k1", 1))
	adA, adB := []byte("int_1/tpl_A"), []byte("int_1/tpl_B")
	rowA, err := kr.Seal([]byte("template A"), adA)
	if err != nil {
		t.Fatal(err)
	}
	rowB, err := kr.Seal([]byte("template B"), adB)
	if err != nil {
		t.Fatal(err)
	}
	// Rows swapped in storage: each is opened in the other's context.
	if _, err := kr.Open(rowB, adA); !errors.Is(err, ErrTampered) {
		t.Fatalf("row B opened as A: %v", err)
	}
	if _, err := kr.Open(rowA, adB); !errors.Is(err, ErrTampered) {
		t.Fatalf("row A opened as B: %v", err)
	}
	if _, err := kr.Open(rowA, nil); !errors.Is(err, ErrTampered) {
		t.Fatalf("row A opened without context: %v", err)
	}
}

func TestOpenDetectsEveryFlippedBit(t *testing.T) {
	kr := mustKeyring(t, testKey(t, "k1", 1), testKey(t, "k2", 2))
	env, err := kr.Seal([]byte("biometric template"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range env {
		for bit := range 8 {
			bad := bytes.Clone(env)
			bad[i] ^= 1 << bit
			got, err := kr.Open(bad, []byte("ad"))
			if err == nil {
				t.Fatalf("byte %d bit %d: flipped envelope opened to %q", i, bit, got)
			}
			// Flips inside the key id may turn it into another (unknown or
			// malformed) id; everywhere else it is an authentication failure.
			if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("byte %d bit %d: unexpected error %v", i, bit, err)
			}
			if got != nil {
				t.Fatalf("byte %d bit %d: returned data with error", i, bit)
			}
		}
	}
}

func TestOpenRejectsTruncationAndGarbage(t *testing.T) {
	kr := mustKeyring(t, testKey(t, "k1", 1))
	env, err := kr.Seal([]byte("payload"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(env) {
		if _, err := kr.Open(env[:n], nil); !errors.Is(err, ErrTampered) {
			t.Fatalf("truncated to %d bytes: %v, want ErrTampered", n, err)
		}
	}
	extended := append(bytes.Clone(env), 0)
	if _, err := kr.Open(extended, nil); !errors.Is(err, ErrTampered) {
		t.Fatalf("extended envelope: %v", err)
	}
	for _, garbage := range [][]byte{
		nil,
		{2, 2, 'k', '1'}, // unknown version
		append([]byte{1, 0}, make([]byte, 40)...), // empty id
		append([]byte{1, 200}, make([]byte, 40)...),
		append([]byte{1, 2, 'k', '/'}, make([]byte, 40)...), // id outside charset
	} {
		if _, err := kr.Open(garbage, nil); !errors.Is(err, ErrTampered) {
			t.Fatalf("Open(% x): %v, want ErrTampered", garbage, err)
		}
	}
}

func TestNewKeyringValidation(t *testing.T) {
	good := testKey(t, "good", 1)
	cases := map[string][]Key{
		"short secret":   {{ID: "a", Secret: make([]byte, 16)}},
		"long secret":    {{ID: "a", Secret: make([]byte, 33)}},
		"nil secret":     {{ID: "a"}},
		"empty id":       {{ID: "", Secret: make([]byte, 32)}},
		"id with colon":  {{ID: "a:b", Secret: make([]byte, 32)}},
		"id too long":    {{ID: strings.Repeat("a", 65), Secret: make([]byte, 32)}},
		"bad old key":    {good, {ID: "old", Secret: make([]byte, 24)}},
		"duplicate ids":  {good, testKey(t, "good", 2)},
		"id with space":  {{ID: "a b", Secret: make([]byte, 32)}},
		"id with slash":  {{ID: "../x", Secret: make([]byte, 32)}},
		"id non-ascii":   {{ID: "clé", Secret: make([]byte, 32)}},
		"old dup of cur": {good, testKey(t, "other", 3), testKey(t, "other", 4)},
	}
	for name, keys := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := NewKeyring(keys[0], keys[1:]...); !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestKeyringCopiesSecrets(t *testing.T) {
	k := testKey(t, "k1", 7)
	kr := mustKeyring(t, k)
	env, err := kr.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	clear(k.Secret) // caller wipes its copy
	if _, err := kr.Open(env, nil); err != nil {
		t.Fatalf("keyring depended on caller's slice: %v", err)
	}
}

func TestKeyFormattingRedactsSecret(t *testing.T) {
	k := Key{ID: "k1", Secret: []byte(strings.Repeat("S", 32))}
	for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
		if out := fmt.Sprintf(verb, k); strings.Contains(out, "SSSS") || strings.Contains(out, "83 83") {
			t.Fatalf("%s leaks secret: %s", verb, out)
		}
	}
}

func TestEnvelopeKeyIDMalformed(t *testing.T) {
	if _, err := EnvelopeKeyID([]byte{1}); !errors.Is(err, ErrTampered) {
		t.Fatalf("got %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	kr := mustKeyring(f, testKey(f, "k1", 1))
	env, err := kr.Seal([]byte("seed"), []byte("ad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env, []byte("ad"))
	f.Add([]byte{1, 2, 'k', '1'}, []byte(nil))
	f.Fuzz(func(t *testing.T, env, ad []byte) {
		pt, err := kr.Open(env, ad)
		if err == nil {
			// Only a genuine envelope may open; the fuzzer cannot forge GCM.
			if string(pt) != "seed" {
				t.Fatalf("opened forged envelope to %q", pt)
			}
			return
		}
		if pt != nil || !(errors.Is(err, ErrTampered) || errors.Is(err, ErrUnknownKey)) {
			t.Fatalf("untyped error or data with error: %v", err)
		}
	})
}
