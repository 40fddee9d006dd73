package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/visagehq/visage/internal/logctx"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// validRequestID accepts a caller's id only if it is short and plain, so
// it cannot inject into logs or headers.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

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

// observe wraps a route with request id, logging, panic recovery and
// metrics. route is the pattern, so metrics have bounded labels.
func (s *Server) observe(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		log := s.log
		ctx := logctx.With(context.WithValue(r.Context(), keyRequestID, id), "request_id", id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-ID", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "route", route)
				if sw.status == 0 {
					writeError(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			status := sw.status
			if status == 0 {
				status = 200
			}
			d := time.Since(start)
			s.metrics.requests.With(prometheus.Labels{"route": route, "method": r.Method, "status": strconv.Itoa(status)}).Inc()
			s.metrics.latency.With(prometheus.Labels{"route": route, "method": r.Method}).Observe(d.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			log.Log(ctx, level, "request", "method", r.Method, "route", route, "path", redactPath(r.URL.Path),
				"status", status, "bytes", sw.bytes, "ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
		}()
		h.ServeHTTP(sw, r)
	})
}

// limitBody caps every request body; reading past it fails with
// *http.MaxBytesError, which the upload parser turns into 413.
func (s *Server) limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeError(w, r, apiErr(CodePayloadTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, s.cfg.MaxBodyBytes)))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// capToken matches capture-session tokens, which are credentials: whoever
// holds one can complete that face's registration.
var capToken = regexp.MustCompile(`cap_[0-9a-f]{8}[0-9a-f]*`)

// redactPath keeps a token's first characters, enough to correlate logs.
func redactPath(p string) string {
	return capToken.ReplaceAllStringFunc(p, func(t string) string { return t[:12] + "…" })
}
