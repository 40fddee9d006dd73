package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/logctx"
	"github.com/visagehq/visage/internal/tenancy"
)

// NoCredentials is the Subject of the Unauthorized error of a request that
// sent no credentials at all (some vendors answer it differently from
// wrong ones).
const NoCredentials = "no_credentials"

// PrincipalOf is the authenticated caller of a Required or FormKey route.
func PrincipalOf(ctx context.Context) *tenancy.Principal {
	p, _ := ctx.Value(keyPrincipal).(*tenancy.Principal)
	return p
}

// WithPrincipal returns ctx carrying p (for tests of handlers).
func WithPrincipal(ctx context.Context, p *tenancy.Principal) context.Context {
	return context.WithValue(ctx, keyPrincipal, p)
}

// authenticated resolves the credentials once, puts the principal in the
// context and applies the per-key rate limit.
func (e *Edge) authenticated(s Surface, rt Route, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		formKey := ""
		if (rt.Auth == FormKey || rt.Auth == FormKeyOptional) && rt.Upload != nil {
			u, err := ParseUpload(r, e.specWithDefaults(*rt.Upload))
			if err != nil {
				Fail(w, r, err)
				return
			}
			defer u.Cleanup()
			r = r.WithContext(context.WithValue(r.Context(), keyUpload, u))
			formKey = u.Field(rt.KeyField)
		}
		p, err := e.authenticate(r, formKey)
		if err != nil && rt.Auth == FormKeyOptional && fault.As(err).Subject == NoCredentials {
			h(w, r) // the handler checks its own credential
			return
		}
		if err != nil {
			// A failed attempt still costs a token of the caller's address,
			// so guessing keys is throttled like any other traffic.
			if !e.allow(w, r, clientAddr(r)) {
				return
			}
			Fail(w, r, err)
			return
		}
		if !e.allow(w, r, p.KeyID) {
			return
		}
		if rt.Scope != "" && !p.Allows(rt.Scope) {
			Fail(w, r, fault.New(fault.Forbidden, "this API key has the %s scope; this needs %s", p.Scope, rt.Scope))
			return
		}
		ctx := WithPrincipal(r.Context(), p)
		ctx = actor.With(ctx, actor.Actor{ID: "key:" + p.KeyID, Remote: clientAddr(r)})
		ctx = logctx.With(ctx, "integration", p.Integration.ID)
		h(w, r.WithContext(ctx))
	}
}

// allow takes a rate-limit token for key or answers 429.
func (e *Edge) allow(w http.ResponseWriter, r *http.Request, key string) bool {
	wait, ok := e.limiter.allow(key)
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	Fail(w, r, fault.New(fault.RateLimited, "rate limit exceeded; retry after %s", wait.Round(time.Millisecond)))
	return false
}

// authenticate accepts every scheme clients of the vendors we replace
// already use, all resolving to one integration:
//   - x-api-key: <keyid>.<secret>
//   - Authorization: Basic base64(<keyid>:<secret>)
//   - Authorization: Bearer <JWT from POST /v1/auth/token>
//   - ?api_key=<keyid>.<secret>
//   - a form field (FormKey routes)
func (e *Edge) authenticate(r *http.Request, formKey string) (*tenancy.Principal, error) {
	ctx := r.Context()
	a := e.cfg.Auth
	var p *tenancy.Principal
	var err error
	switch {
	case r.Header.Get("X-Api-Key") != "":
		p, err = a.AuthenticateToken(ctx, r.Header.Get("X-Api-Key"))
	case r.Header.Get("Authorization") != "":
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			p, err = a.AuthenticateJWT(ctx, strings.TrimSpace(cred))
		case "basic":
			id, secret, ok := r.BasicAuth()
			if !ok {
				return nil, fault.New(fault.Unauthorized, "unauthorized: malformed basic credentials")
			}
			p, err = a.AuthenticateKey(ctx, id, secret)
		default:
			return nil, fault.New(fault.Unauthorized, "unauthorized: unsupported authorization scheme %q", scheme)
		}
	case r.URL.Query().Get("api_key") != "":
		p, err = a.AuthenticateToken(ctx, r.URL.Query().Get("api_key"))
	case formKey != "":
		p, err = a.AuthenticateToken(ctx, formKey)
	default:
		return nil, &fault.Error{Kind: fault.Unauthorized, Subject: NoCredentials, Message: "unauthorized: no credentials (send x-api-key, Basic or Bearer)"}
	}
	if err != nil {
		var ae *tenancy.AuthError
		if errors.As(err, &ae) {
			return nil, fault.Wrap(fault.Unauthorized, err, "unauthorized: %s", ae.Reason)
		}
		return nil, fault.Wrap(fault.Unavailable, err, "authentication is unavailable; retry shortly")
	}
	return p, nil
}

// clientAddr is the rate-limit key of an unauthenticated request.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return "addr:" + host
	}
	return "addr:" + r.RemoteAddr
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// limiter is a token bucket per API key (or client address).
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
