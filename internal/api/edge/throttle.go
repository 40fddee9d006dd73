package edge

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/visagehq/visage/internal/fault"
)

// Throttle applies, inside a handler, what the edge applies to routes
// with an upload: the per-key rate limit (429) and admission control
// (503 with Retry-After), both keyed by key. It is for handlers that tell
// their heavy requests apart themselves, such as the hosted capture page's
// frames among its page loads. release must be called when the work is
// done; ok false means the answer has been written.
func Throttle(w http.ResponseWriter, r *http.Request, key string) (release func(), ok bool) {
	st := stateOf(r.Context())
	if st == nil || st.edge == nil {
		return func() {}, true
	}
	e := st.edge
	if !e.allow(w, r, key) {
		return nil, false
	}
	if e.admit == nil {
		return func() {}, true
	}
	release, ref := e.admit.acquire(r.Context(), key)
	if ref != nil {
		refuse(w, r, ref)
		return nil, false
	}
	return release, true
}

// refuse answers a request admission turned away.
func refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	secs := min(max(int(math.Ceil(ref.retryAfter.Seconds())), 1), 30)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	Fail(w, r, fault.New(fault.Busy, "the server is at capacity (%s); retry after %d s", ref.reason, secs))
}

// KeyedLimiter is a token bucket per client address, for limits far
// tighter than the API's per-key rate: guessing a short code, say.
type KeyedLimiter struct{ l *limiter }

// NewKeyedLimiter allows perMinute requests a minute per address, after
// a burst of burst.
func NewKeyedLimiter(perMinute float64, burst int) *KeyedLimiter {
	return &KeyedLimiter{l: newLimiter(perMinute/60, burst)}
}

// Allow takes a token for the request's address (scope separates uses),
// or answers 429 with Retry-After in the surface's shape and says false.
func (k *KeyedLimiter) Allow(w http.ResponseWriter, r *http.Request, scope string) bool {
	wait, ok := k.l.allow(scope + "|" + clientAddr(r))
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	Fail(w, r, fault.New(fault.RateLimited, "too many attempts; retry after %s", wait.Round(time.Second)))
	return false
}
