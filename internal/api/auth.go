package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/visagehq/visage/internal/logctx"
	"github.com/visagehq/visage/internal/tenancy"
)

func principal(ctx context.Context) *tenancy.Principal {
	p, _ := ctx.Value(keyPrincipal).(*tenancy.Principal)
	return p
}

// authenticate accepts every scheme clients of the vendors we replace
// already use, all resolving to one integration:
//   - x-api-key: <keyid>.<secret>
//   - ?api_key=<keyid>.<secret>
//   - Authorization: Basic base64(<keyid>:<secret>)
//   - Authorization: Bearer <JWT from POST /v1/auth/token>
func (s *Server) authenticate(r *http.Request) (*tenancy.Principal, error) {
	ctx := r.Context()
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return s.tenancy.AuthenticateToken(ctx, k)
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, cred, _ := strings.Cut(auth, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			return s.tenancy.AuthenticateJWT(ctx, strings.TrimSpace(cred))
		case "basic":
			id, secret, ok := r.BasicAuth()
			if !ok {
				return nil, fmt.Errorf("%w: malformed basic credentials", tenancy.ErrUnauthorized)
			}
			return s.tenancy.AuthenticateKey(ctx, id, secret)
		}
		return nil, fmt.Errorf("%w: unsupported authorization scheme %q", tenancy.ErrUnauthorized, scheme)
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		return s.tenancy.AuthenticateToken(ctx, k)
	}
	return nil, fmt.Errorf("%w: no credentials (send x-api-key, Basic or Bearer)", tenancy.ErrUnauthorized)
}

// authed wraps a handler with authentication and the per-key rate limit.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			if !errors.Is(err, tenancy.ErrUnauthorized) {
				writeError(w, r, err)
				return
			}
			writeError(w, r, &Error{Code: CodeUnauthorized, Message: "unauthorized: " + strings.TrimPrefix(err.Error(), tenancy.ErrUnauthorized.Error()+": "), err: err})
			return
		}
		if wait, ok := s.limiter.allow(p.KeyID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, r, apiErr(CodeRateLimited, fmt.Sprintf("rate limit exceeded; retry after %s", wait.Round(time.Millisecond))))
			return
		}
		ctx := context.WithValue(r.Context(), keyPrincipal, p)
		ctx = logctx.With(ctx, "integration", p.Integration.ID)
		h(w, r.WithContext(ctx))
	})
}

// limited applies the per-key rate limit to handlers that authenticate
// themselves (the vendor surfaces answer auth failures in their own
// shape). The key is the credential's id when one is readable, else the
// client address.
func (s *Server) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.RemoteAddr
		if p, err := s.authenticate(r); err == nil {
			key = p.KeyID
			r = r.WithContext(logctx.With(context.WithValue(r.Context(), keyPrincipal, p), "integration", p.Integration.ID))
		} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			key = host
		}
		if wait, ok := s.limiter.allow(key); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeJSON(w, 429, map[string]any{"statusCode": 429, "message": "Too Many Requests"})
			return
		}
		h(w, r)
	}
}

// authenticated returns the principal limited already resolved, so a
// request is authenticated once.
func (s *Server) authenticated(r *http.Request) (*tenancy.Principal, error) {
	if p := principal(r.Context()); p != nil {
		return p, nil
	}
	return s.authenticate(r)
}

// limiter is a token bucket per API key.
type limiter struct {
	mu      sync.Mutex
	rps     rate.Limit
	burst   int
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(rps float64, burst int) *limiter {
	if burst < 1 {
		burst = 1
	}
	return &limiter{rps: rate.Limit(rps), burst: burst, buckets: map[string]*bucket{}}
}

// allow takes a token for key, or says how long until one is available.
func (l *limiter) allow(key string) (time.Duration, bool) {
	if l.rps <= 0 {
		return 0, true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute { // forget idle keys so the map stays small
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{l: rate.NewLimiter(l.rps, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	res := b.l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}
