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

func TestSignWebhookDeliveryFormat(t *testing.T) {
	cur, old, body := []byte("whsec_new"), []byte("whsec_old"), []byte(`{"deliveryId":"whd_1"}`)
	got, err := SignWebhookDelivery([][]byte{cur, old}, "whd_1", 1700000000, body)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(secret []byte, msg string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(msg))
		return hex.EncodeToString(m.Sum(nil))
	}
	want := "t=1700000000" +
		",v1=" + mac(cur, "1700000000."+string(body)) + ",v1=" + mac(old, "1700000000."+string(body)) +
		",v2=" + mac(cur, "whd_1.1700000000."+string(body)) + ",v2=" + mac(old, "whd_1.1700000000."+string(body))
	if got != want {
		t.Fatalf("SignWebhookDelivery = %q, want %q", got, want)
	}
	// With one secret the header starts exactly as SignWebhook's, so
	// receivers of the old format keep working.
	one, _ := SignWebhookDelivery([][]byte{cur}, "whd_1", 1700000000, body)
	if !strings.HasPrefix(one, SignWebhook(cur, 1700000000, body)+",v2=") {
		t.Fatalf("single-secret header %q does not extend SignWebhook's", one)
	}
	for _, c := range []struct {
		secrets [][]byte
		id      string
		want    error
	}{
		{nil, "whd_1", ErrInvalidKey},
		{[][]byte{cur, nil}, "whd_1", ErrInvalidKey},
		{[][]byte{cur}, "", ErrDeliveryID},
		{[][]byte{cur}, "whd.1", ErrDeliveryID}, // a dot would make "<id>.<t>.<body>" ambiguous
		{[][]byte{cur}, "whd 1", ErrDeliveryID},
		{[][]byte{cur}, strings.Repeat("a", 129), ErrDeliveryID},
	} {
		if _, err := SignWebhookDelivery(c.secrets, c.id, 1, body); !errors.Is(err, c.want) {
			t.Errorf("secrets %q, id %q: %v, want %v", c.secrets, c.id, err, c.want)
		}
	}
}

func TestVerifyWebhookDelivery(t *testing.T) {
	cur, old, body := []byte("whsec_new"), []byte("whsec_old"), []byte(`{"x":1}`)
	now := time.Unix(1700000000, 0)
	header, err := SignWebhookDelivery([][]byte{cur, old}, "whd_abc", now.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{cur, old} {
		if err := VerifyWebhookDelivery(s, header, "whd_abc", body, now, time.Minute); err != nil {
			t.Fatalf("secret %s: %v", s, err)
		}
		if err := VerifyWebhook(s, header, body, now, time.Minute); err != nil {
			t.Fatalf("v1 with secret %s: %v", s, err)
		}
	}
	var v1Only []string
	for p := range strings.SplitSeq(header, ",") {
		if !strings.HasPrefix(p, "v2=") {
			v1Only = append(v1Only, p)
		}
	}
	cases := []struct {
		name, header, id, body string
		secret                 []byte
		now                    time.Time
		want                   error
	}{
		// The replay the v2 scheme exists for: same body, same signature,
		// another delivery id.
		{"replayed under a new id", header, "whd_abd", string(body), cur, now, ErrSignatureMismatch},
		{"altered body", header, "whd_abc", `{"x":2}`, cur, now, ErrSignatureMismatch},
		{"wrong secret", header, "whd_abc", string(body), []byte("other"), now, ErrSignatureMismatch},
		{"altered timestamp", strings.Replace(header, "t=1700000000", "t=1700000001", 1), "whd_abc", string(body), cur, now, ErrSignatureMismatch},
		{"v2 stripped", strings.Join(v1Only, ","), "whd_abc", string(body), cur, now, ErrSignatureMalformed},
		{"stale", header, "whd_abc", string(body), cur, now.Add(time.Hour), ErrSignatureExpired},
		{"bad id", header, "whd.abc", string(body), cur, now, ErrDeliveryID},
		{"bad v2 hex", "t=1700000000,v2=zz", "whd_abc", string(body), cur, now, ErrSignatureMalformed},
		{"empty secret", header, "whd_abc", string(body), nil, now, ErrInvalidKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := VerifyWebhookDelivery(c.secret, c.header, c.id, []byte(c.body), c.now, 5*time.Minute); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// v1 alone cannot tell the replay apart: that is why receivers that
	// dedupe on the id should check v2.
	if err := VerifyWebhook(cur, header, body, now, time.Minute); err != nil {
		t.Fatal(err)
	}
}
