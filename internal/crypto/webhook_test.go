package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignWebhookFormat(t *testing.T) {
	secret, body := []byte("whsec"), []byte(`{"event":"verification.approved"}`)
	got := SignWebhook(secret, 1700000000, body)

	m := hmac.New(sha256.New, secret)
	m.Write([]byte("1700000000." + string(body)))
	want := "t=1700000000,v1=" + hex.EncodeToString(m.Sum(nil))
	if got != want {
		t.Fatalf("SignWebhook = %q, want %q", got, want)
	}
}

func TestVerifyWebhook(t *testing.T) {
	secret, body := []byte("whsec"), []byte(`{"id":1}`)
	now := time.Unix(1700000000, 0)
	header := SignWebhook(secret, now.Unix(), body)

	if err := VerifyWebhook(secret, header, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	// Extra whitespace and unknown schemes are tolerated.
	if err := VerifyWebhook(secret, " "+strings.ReplaceAll(header, ",", " , ")+",v0=abc", body, now, time.Minute); err != nil {
		t.Fatalf("tolerant parse: %v", err)
	}
	// Rotation: one of several v1 entries matches.
	rotating := SignWebhook([]byte("old"), now.Unix(), body) + "," + strings.Split(header, ",")[1]
	if err := VerifyWebhook(secret, rotating, body, now, time.Minute); err != nil {
		t.Fatalf("multi-signature header: %v", err)
	}

	cases := []struct {
		name    string
		secret  []byte
		header  string
		body    string
		now     time.Time
		wantErr error
	}{
		{"altered body", secret, header, `{"id":2}`, now, ErrSignatureMismatch},
		{"wrong secret", []byte("other"), header, string(body), now, ErrSignatureMismatch},
		{"altered timestamp", secret, strings.Replace(header, "t=1700000000", "t=1700000001", 1), string(body), now, ErrSignatureMismatch},
		{"stale", secret, header, string(body), now.Add(6 * time.Minute), ErrSignatureExpired},
		{"from the future", secret, header, string(body), now.Add(-6 * time.Minute), ErrSignatureExpired},
		{"empty header", secret, "", string(body), now, ErrSignatureMalformed},
		{"no timestamp", secret, "v1=" + strings.Repeat("00", 32), string(body), now, ErrSignatureMalformed},
		{"no signature", secret, "t=1700000000", string(body), now, ErrSignatureMalformed},
		{"two timestamps", secret, "t=1,t=2,v1=" + strings.Repeat("00", 32), string(body), now, ErrSignatureMalformed},
		{"non-canonical ts", secret, "t=01700000000,v1=" + strings.Repeat("00", 32), string(body), now, ErrSignatureMalformed},
		{"bad hex", secret, "t=1700000000,v1=zz", string(body), now, ErrSignatureMalformed},
		{"short mac", secret, "t=1700000000,v1=abcd", string(body), now, ErrSignatureMalformed},
		{"not key=value", secret, "garbage", string(body), now, ErrSignatureMalformed},
		{"empty secret", nil, header, string(body), now, ErrInvalidKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyWebhook(tc.secret, tc.header, []byte(tc.body), tc.now, 5*time.Minute)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyWebhookZeroToleranceUsesDefault(t *testing.T) {
	secret, body := []byte("s"), []byte("b")
	now := time.Unix(1700000000, 0)
	header := SignWebhook(secret, now.Unix(), body)
	if err := VerifyWebhook(secret, header, body, now.Add(time.Minute), 0); err != nil {
		t.Fatalf("within default tolerance: %v", err)
	}
	if err := VerifyWebhook(secret, header, body, now.Add(DefaultWebhookTolerance+time.Second), 0); !errors.Is(err, ErrSignatureExpired) {
		t.Fatalf("zero tolerance must not disable the check: %v", err)
	}
}
