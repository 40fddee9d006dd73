package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Webhook signature errors, so a receiver (and our own tests of receivers) can
// tell a replay window problem from a forgery from a broken header.
var (
	ErrSignatureMalformed = errors.New("webhook signature header is malformed")
	ErrSignatureMismatch  = errors.New("webhook signature does not match")
	ErrSignatureExpired   = errors.New("webhook signature timestamp outside tolerance")
)

// DefaultWebhookTolerance is used when VerifyWebhook is given a non-positive
// tolerance. Zero means "default" rather than "no check" so that forgetting
// the argument never disables replay protection.
const DefaultWebhookTolerance = 5 * time.Minute

// SignWebhook returns the signature header value "t=<ts>,v1=<hex>" where the
// MAC is HMAC-SHA256 over "<ts>.<body>". Signing the timestamp with the body
// lets receivers reject replays of old deliveries.
func SignWebhook(secret []byte, timestamp int64, body []byte) string {
	ts := strconv.FormatInt(timestamp, 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, ts, body))
}

// VerifyWebhook checks a header made by SignWebhook. Several v1 entries are
// allowed (any one may match) so a sender can sign with an old and a new
// secret while a receiver rotates. The signature is checked before the
// timestamp, so ErrSignatureExpired is only ever reported for authentic
// messages.
func VerifyWebhook(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		// An empty HMAC key is computable by anyone; refuse to "verify" with it.
		return fmt.Errorf("verify webhook: %w: empty secret", ErrInvalidKey)
	}
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	ts, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	want := webhookMAC(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		// hmac.Equal is constant-time; keep looping so timing does not reveal
		// which entry matched.
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("verify webhook: %w", ErrSignatureMismatch)
	}
	sec, _ := strconv.ParseInt(ts, 10, 64) // validated by parseSignatureHeader
	age := now.Sub(time.Unix(sec, 0))
	if age > tolerance || age < -tolerance {
		return fmt.Errorf("verify webhook: %w: signed at %d, %s from now (tolerance %s)", ErrSignatureExpired, sec, age.Round(time.Second), tolerance)
	}
	return nil
}

func webhookMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseSignatureHeader returns the timestamp exactly as sent (the MAC covers
// those bytes) and the decoded v1 signatures. Unknown schemes are skipped so
// a future v2 can be added alongside v1 without breaking old receivers.
func parseSignatureHeader(header string) (ts string, sigs [][]byte, err error) {
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: element %q is not key=value", ErrSignatureMalformed, part)
		}
		switch k {
		case "t":
			if ts != "" {
				return "", nil, fmt.Errorf("%w: more than one timestamp", ErrSignatureMalformed)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			// Only the canonical form is accepted, so one timestamp has one
			// signed representation.
			if err != nil || strconv.FormatInt(n, 10) != v {
				return "", nil, fmt.Errorf("%w: bad timestamp %q", ErrSignatureMalformed, v)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, fmt.Errorf("%w: v1 is not a hex SHA-256 MAC", ErrSignatureMalformed)
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return "", nil, fmt.Errorf("%w: no timestamp", ErrSignatureMalformed)
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("%w: no v1 signature", ErrSignatureMalformed)
	}
	return ts, sigs, nil
}
