// Package edge is the one request edge every HTTP surface stands on: the
// native /v1 API, the hosted pages and each vendor adapter. It gives every
// route the same request id, access log (with credentials redacted), panic
// recovery, metrics with bounded labels, body limits, authentication (the
// principal put in the context once, before the handler runs), the per-key
// rate limit and one upload parser. What differs per surface is only how an
// error looks: each surface supplies a Renderer, and the edge's own
// failures (401, 404, 405, 413, 429, panics) are rendered through it.
package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/logctx"
	"github.com/visagehq/visage/internal/tenancy"
)

// Renderer writes an error in a surface's own shape. err is always
// classified; for fault.Internal its Message is generic and the cause has
// already been logged by the edge.
type Renderer interface {
	RenderError(w http.ResponseWriter, r *http.Request, err *fault.Error)
}

// Authenticator resolves credentials to a principal (*tenancy.Service).
type Authenticator interface {
	AuthenticateToken(ctx context.Context, token string) (*tenancy.Principal, error)
	AuthenticateKey(ctx context.Context, keyID, secret string) (*tenancy.Principal, error)
	AuthenticateJWT(ctx context.Context, token string) (*tenancy.Principal, error)
}

// Config holds the edge's limits and collaborators.
type Config struct {
	MaxBodyBytes  int64 // default body limit of a route
	MaxImageBytes int64 // default limit of one uploaded image
	RateLimit     float64
	RateBurst     int
	Auth          Authenticator
	Log           *slog.Logger
	Metrics       *Metrics
	// Admission bounds the heavy requests (routes with an Upload) in
	// flight; the zero value admits everything.
	Admission AdmissionConfig
}

// Edge mounts surfaces on one mux.
type Edge struct {
	cfg     Config
	mux     *http.ServeMux
	limiter *limiter
	admit   *admission // nil: no admission control
	routes  []string   // every pattern mounted, for route-coverage checks
}

// New builds an edge.
func New(cfg Config) *Edge {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	return &Edge{cfg: cfg, mux: http.NewServeMux(), limiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
		admit: newAdmission(cfg.Admission, cfg.Metrics.Registry)}
}

// Handler is the root handler.
func (e *Edge) Handler() http.Handler { return e.mux }

// Metrics is the edge's registry (for /metrics and extra collectors).
func (e *Edge) Metrics() *Metrics { return e.cfg.Metrics }

// Patterns lists every mounted route pattern (surface catch-alls
// excluded), sorted.
func (e *Edge) Patterns() []string {
	out := append([]string(nil), e.routes...)
	sort.Strings(out)
	return out
}

// Auth says how a route authenticates.
type Auth int

const (
	// Public routes need no credentials (health, hosted pages with their
	// own token).
	Public Auth = iota
	// Required routes need an API key or a bearer token, taken from the
	// x-api-key header, Authorization (Basic or Bearer) or ?api_key=.
	Required
	// FormKey routes also accept the API key as a form field (named by
	// Route.KeyField), as some vendors send it inside a multipart body: the
	// upload is parsed first, then authenticated.
	FormKey
	// FormKeyOptional is FormKey where a request without any credentials
	// reaches the handler unauthenticated (it carries another credential,
	// such as a hosted page's token); wrong credentials are still refused.
	FormKeyOptional
)

// Route is one endpoint of a surface.
type Route struct {
	Pattern string // "POST /v1/faces" (method and path, ServeMux syntax)
	Handler http.HandlerFunc
	Auth    Auth
	// KeyField names the form field holding the API key for FormKey.
	KeyField string
	// Upload, when set, makes the edge parse the body before the handler
	// runs; the handler reads it with UploadOf.
	Upload *UploadSpec
	// MaxBody overrides Config.MaxBodyBytes (e.g. for video uploads).
	MaxBody int64
	// Scope is the least API key scope the route needs (store.ScopeVerify,
	// ScopeEnrol, ScopeAdmin); "" lets any key in.
	Scope string
	// Undocumented routes are left out of the OpenAPI coverage check
	// (health probes, metrics, asset files).
	Undocumented bool
}

// Surface is a group of routes whose errors share one shape.
type Surface struct {
	Name     string // metrics and log label: "v1", "identitygram", "capture"…
	Renderer Renderer
	// Prefixes get a catch-all answering 404, or 405 with Allow when the
	// path exists under another method, in the surface's shape.
	Prefixes []string
	Routes   []Route
}

// Mount registers a surface's routes.
func (e *Edge) Mount(s Surface) {
	for _, rt := range s.Routes {
		e.mux.Handle(rt.Pattern, e.wrap(s, rt))
		if !rt.Undocumented {
			e.routes = append(e.routes, rt.Pattern)
		}
	}
	for _, p := range s.Prefixes {
		rt := Route{Pattern: p, Handler: e.noRoute(s, p)}
		e.mux.Handle(p, e.wrap(s, rt))
	}
}

// wrap builds a route's handler chain: observe → body limit →
// authentication and rate limit → admission (routes with images or
// video) → upload → handler. The body is read only once the request is
// authenticated and admitted, so neither a caller without a key nor one
// the server has no room for costs a parse. FormKey routes carry their
// key inside the body: for them the upload comes first.
func (e *Edge) wrap(s Surface, rt Route) http.Handler {
	h := rt.Handler
	formKey := rt.Auth == FormKey || rt.Auth == FormKeyOptional
	if rt.Upload != nil && !formKey {
		h = e.parsed(s, rt, h)
	}
	if rt.Upload.heavy() {
		h = e.admitted(h)
	}
	if rt.Auth != Public {
		h = e.authenticated(s, rt, h)
	}
	limit := rt.MaxBody
	if limit <= 0 {
		limit = e.cfg.MaxBodyBytes
	}
	return e.observe(s, rt.Pattern, e.limitBody(s, limit, h))
}

// Fail renders err (classified here if it is not yet) in the surface's
// shape and logs server-side failures. Handlers of a surface call it with
// any error a service returned.
func Fail(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r.Context())
	fe := fault.As(err)
	if st != nil {
		logFailure(r.Context(), st.log, fe, err)
		st.renderer.RenderError(w, r, fe)
		return
	}
	// Outside an edge route (tests): plain JSON.
	WriteJSON(w, 500, map[string]string{"error": fe.Message})
}

// clientGone reports whether the request's context ended before its
// handler did: the client disconnected, or shutdown cancelled it.
func clientGone(r *http.Request) bool { return errors.Is(r.Context().Err(), context.Canceled) }

func logFailure(ctx context.Context, log *slog.Logger, fe *fault.Error, err error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		log.InfoContext(ctx, "request abandoned", "kind", fe.Kind, "err", err)
		return
	}
	switch fe.Kind {
	case fault.Busy, fault.Unavailable: // overload and shutdown are expected, not faults
		log.WarnContext(ctx, "request refused", "kind", fe.Kind, "err", err)
	case fault.Internal, fault.Integrity:
		log.ErrorContext(ctx, "request failed", "kind", fe.Kind, "err", err)
	}
}

// state is what the edge keeps in a request's context.
type state struct {
	surface  string
	route    string
	renderer Renderer
	log      *slog.Logger
	id       string
	edge     *Edge // for Throttle
}

type ctxKey int

const (
	keyState ctxKey = iota
	keyPrincipal
	keyUpload
)

func stateOf(ctx context.Context) *state {
	st, _ := ctx.Value(keyState).(*state)
	return st
}

// RouteOf is the pattern of the route serving the request (the surface's
// prefix for unknown paths), for renderers whose answers differ by
// endpoint.
func RouteOf(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.route
	}
	return ""
}

// RequestID is the request's id (also in X-Request-ID and every log line).
func RequestID(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.id
	}
	return ""
}

// validRequestID accepts a caller's id only if it is short and plain, so
// it cannot inject into logs or headers.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe wraps a route with request id, logging, panic recovery and
// metrics. The labels are the route pattern and a closed set of methods.
func (e *Edge) observe(s Surface, route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		ctx := logctx.With(r.Context(), "request_id", id)
		ctx = context.WithValue(ctx, keyState, &state{surface: s.Name, route: route, renderer: s.Renderer, log: e.cfg.Log, id: id, edge: e})
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-ID", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				e.cfg.Log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "route", route)
				if sw.status == 0 {
					Fail(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			e.record(ctx, s, route, r, sw, time.Since(start))
		}()
		h.ServeHTTP(sw, r)
	})
}

func (e *Edge) record(ctx context.Context, s Surface, route string, r *http.Request, sw *statusWriter, d time.Duration) {
	status := sw.status
	if status == 0 {
		status = 200
	}
	method := methodLabel(r.Method)
	e.cfg.Metrics.observe(s.Name, route, method, status, d)
	level := slog.LevelInfo
	attrs := []any{"surface", s.Name, "method", method, "route", route, "path", RedactPath(r.URL.Path),
		"status", status, "bytes", sw.bytes, "ms", float64(d.Microseconds()) / 1000, "remote", r.RemoteAddr}
	switch {
	case clientGone(r):
		// The client hung up (or the server is draining): nobody read the
		// answer, and nothing here failed.
		attrs = append(attrs, "client_gone", true)
	case status >= 500:
		level = slog.LevelError
	}
	e.cfg.Log.Log(ctx, level, "request", attrs...)
}

// methodLabel keeps metric and log labels to a closed set: a client can
// send any string as the method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// limitBody caps the request body; reading past it fails with
// *http.MaxBytesError, which the upload parser turns into 413.
func (e *Edge) limitBody(s Surface, limit int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			Fail(w, r, fault.New(fault.PayloadTooLarge, "request body of %d bytes exceeds the limit of %d", r.ContentLength, limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

// noRoute answers unknown paths under a surface's prefix: 405 with Allow
// when the path exists under other methods, else 404.
func (e *Edge) noRoute(s Surface, prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := e.mux.Handler(probe); pattern != "" && pattern != prefix {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			Fail(w, r, fault.New(fault.MethodNotAllowed, "%s is not allowed on %s; use %s", methodLabel(r.Method), r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		Fail(w, r, fault.New(fault.NotFound, "no such endpoint: %s %s", methodLabel(r.Method), r.URL.Path))
	}
}

// WriteJSON writes v as JSON with status. Responses carry personal data, so
// no cache may keep them.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteImage serves stored image bytes. The type was detected from the
// bytes when stored; nosniff and a sandboxing CSP make sure a browser
// renders it as nothing but an image.
func WriteImage(w http.ResponseWriter, data []byte, ctype string) {
	if !strings.HasPrefix(ctype, "image/") {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}
