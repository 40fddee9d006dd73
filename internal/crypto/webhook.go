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

// SignWebhookDelivery returns the signature header of one delivery, signed
// with every secret given (the current one first, then secrets retired by a
// rotation whose overlap window is still open):
//
//	t=<ts>,v1=<hex>[,v1=<hex>…],v2=<hex>[,v2=<hex>…]
//
// v1 is SignWebhook's MAC over "<ts>.<body>", unchanged so that existing
// receivers keep verifying. v2 is HMAC-SHA256 over "<id>.<ts>.<body>": it
// covers the delivery id too, so a captured body replayed under another
// delivery id (which receivers dedupe on) no longer verifies.
func SignWebhookDelivery(secrets [][]byte, deliveryID string, timestamp int64, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", fmt.Errorf("sign webhook: %w: no secret", ErrInvalidKey)
	}
	if err := checkDeliveryID(deliveryID); err != nil {
		return "", fmt.Errorf("sign webhook: %w", err)
	}
	ts := strconv.FormatInt(timestamp, 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		if len(s) == 0 {
			return "", fmt.Errorf("sign webhook: %w: empty secret", ErrInvalidKey)
		}
		b.WriteString(",v1=" + hex.EncodeToString(webhookMAC(s, ts, body)))
	}
	for _, s := range secrets {
		b.WriteString(",v2=" + hex.EncodeToString(deliveryMAC(s, deliveryID, ts, body)))
	}
	return b.String(), nil
}

// maxDeliveryIDLen bounds a delivery id; ours are "whd_" and 26 characters.
const maxDeliveryIDLen = 128

// ErrDeliveryID: a delivery id that cannot be signed unambiguously.
var ErrDeliveryID = errors.New("webhook delivery id is malformed")

// checkDeliveryID accepts 1–128 characters of A–Z a–z 0–9 "_" "-". No dot,
// so "<id>.<ts>.<body>" splits one way only.
func checkDeliveryID(id string) error {
	ok := id != "" && len(id) <= maxDeliveryIDLen
	for _, c := range []byte(id) {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%w: %q", ErrDeliveryID, id)
	}
	return nil
}

// VerifyWebhook checks the v1 signatures of a header made by SignWebhook
// or SignWebhookDelivery. Several v1 entries are allowed (any one may
// match) so a sender can sign with an old and a new secret while a
// receiver rotates. The signature is checked before the timestamp, so
// ErrSignatureExpired is only ever reported for authentic messages. v1 does
// not cover the delivery id: receivers that dedupe on it should use
// VerifyWebhookDelivery.
func VerifyWebhook(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		// An empty HMAC key is computable by anyone; refuse to "verify" with it.
		return fmt.Errorf("verify webhook: %w: empty secret", ErrInvalidKey)
	}
	h, err := parseSignatureHeader(header)
	if err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	if len(h.v1) == 0 {
		return fmt.Errorf("verify webhook: %w: no v1 signature", ErrSignatureMalformed)
	}
	return h.check(h.v1, webhookMAC(secret, h.ts, body), now, tolerance)
}

// VerifyWebhookDelivery checks the v2 signatures of a header made by
// SignWebhookDelivery against the delivery id received with it (the
// X-Visage-Delivery header). Only v2 entries count: accepting v1 as a
// fallback would let an attacker strip v2 and replay the body under a new
// id.
func VerifyWebhookDelivery(secret []byte, header, deliveryID string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("verify webhook: %w: empty secret", ErrInvalidKey)
	}
	if err := checkDeliveryID(deliveryID); err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	h, err := parseSignatureHeader(header)
	if err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	if len(h.v2) == 0 {
		return fmt.Errorf("verify webhook: %w: no v2 signature", ErrSignatureMalformed)
	}
	return h.check(h.v2, deliveryMAC(secret, deliveryID, h.ts, body), now, tolerance)
}

// check compares every signature with want, then the timestamp.
func (h signatureHeader) check(sigs [][]byte, want []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
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
	sec, _ := strconv.ParseInt(h.ts, 10, 64) // validated by parseSignatureHeader
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

func deliveryMAC(secret []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// signatureHeader is a parsed signature header: the timestamp exactly as
// sent (the MACs cover those bytes) and the decoded signatures by scheme.
type signatureHeader struct {
	ts     string
	v1, v2 [][]byte
}

// parseSignatureHeader reads a signature header. Unknown schemes are
// skipped so a future scheme can be added alongside without breaking
// receivers.
func parseSignatureHeader(header string) (signatureHeader, error) {
	var h signatureHeader
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return h, fmt.Errorf("%w: element %q is not key=value", ErrSignatureMalformed, part)
		}
		switch k {
		case "t":
			if h.ts != "" {
				return h, fmt.Errorf("%w: more than one timestamp", ErrSignatureMalformed)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			// Only the canonical form is accepted, so one timestamp has one
			// signed representation.
			if err != nil || strconv.FormatInt(n, 10) != v {
				return h, fmt.Errorf("%w: bad timestamp %q", ErrSignatureMalformed, v)
			}
			h.ts = v
		case "v1", "v2":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return h, fmt.Errorf("%w: %s is not a hex SHA-256 MAC", ErrSignatureMalformed, k)
			}
			if k == "v1" {
				h.v1 = append(h.v1, sig)
			} else {
				h.v2 = append(h.v2, sig)
			}
		}
	}
	if h.ts == "" {
		return h, fmt.Errorf("%w: no timestamp", ErrSignatureMalformed)
	}
	return h, nil
}
