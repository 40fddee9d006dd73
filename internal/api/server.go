package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/visagehq/visage/internal/api/compat/identitygram"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/tenancy"
	"github.com/visagehq/visage/internal/web"
)

// Config holds the API's limits.
type Config struct {
	MaxBodyBytes  int64
	MaxImageBytes int64
	RateLimit     float64 // per API key, requests/second; 0 disables
	RateBurst     int
	// Collectors are extra metrics served on /metrics (engine stages).
	Collectors []prometheus.Collector
	// Webhooks serves /v1/webhooks; nil answers 503 there.
	Webhooks Webhooks
}

// Server is the native API.
type Server struct {
	cfg     Config
	faces   *faceauth.Service
	tenancy *tenancy.Service
	ready   func(context.Context) error
	log     *slog.Logger
	metrics *metrics
	limiter *limiter
	mux     *http.ServeMux
}

// New builds the API. ready reports whether dependencies (the store)
// answer, for /readyz.
func New(cfg Config, faces *faceauth.Service, ten *tenancy.Service, ready func(context.Context) error, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, faces: faces, tenancy: ten, ready: ready, log: log,
		limiter: newLimiter(cfg.RateLimit, cfg.RateBurst), mux: http.NewServeMux()}
	s.metrics = newMetrics(func() float64 { return float64(faces.QueueDepth()) })
	s.metrics.reg.MustRegister(cfg.Collectors...)
	s.routes()
	return s
}

// Handler is the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

// routes is the whole route table in one place.
func (s *Server) routes() {
	open := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.observe(pattern, h)) }
	auth := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.observe(pattern, s.limitBody(s.authed(h))))
	}
	open("GET /healthz", s.healthz)
	open("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	open("GET /v1/openapi.json", s.openapi)
	s.mux.Handle("POST /v1/auth/token", s.observe("POST /v1/auth/token", s.limitBody(s.authed(s.issueToken))))

	auth("POST /v1/faces", s.enrol)
	auth("GET /v1/faces", s.listFaces)
	auth("GET /v1/faces/{faceId}", s.getFace)
	auth("PATCH /v1/faces/{faceId}", s.patchFace)
	auth("DELETE /v1/faces/{faceId}", s.deleteFace)
	auth("POST /v1/faces/{faceId}/images", s.addImages)
	auth("POST /v1/faces/{faceId}/verify", s.verify)
	auth("POST /v1/compare", s.compare)
	auth("POST /v1/detect", s.detect)
	auth("POST /v1/liveness", s.liveness)
	auth("POST /v1/search", s.search)
	auth("GET /v1/faces/{faceId}/images/{imageId}", s.faceImage)
	auth("POST /v1/capture-sessions", s.startCapture)
	auth("GET /v1/integration", s.getIntegration)
	auth("PATCH /v1/integration", s.patchIntegration)
	auth("GET /v1/webhooks", s.getWebhooks)
	auth("PUT /v1/webhooks", s.putWebhooks)
	auth("POST /v1/webhooks/ping", s.pingWebhooks)
	auth("GET /v1/webhooks/deliveries", s.listWebhookDeliveries)
	auth("GET /v1/webhooks/deliveries/{id}", s.getWebhookDelivery)
	auth("POST /v1/webhooks/deliveries/{id}/redeliver", s.redeliverWebhook)

	// The hosted capture page: its token is its credential.
	s.mux.Handle("/capture/", s.observe("/capture/", web.New(s.faces, s.log)))

	// Vendor-compatible surfaces: their own shapes, our logging, metrics
	// and body limits.
	ig := identitygram.New(s.authenticated, s.faces, s.cfg.MaxImageBytes, s.log)
	for pattern, h := range ig.Routes() {
		s.mux.Handle(pattern, s.observe(pattern, s.limitBody(s.limited(h))))
	}

	// Anything else under /v1 gets the JSON error envelope, not a text 404:
	// 405 with Allow when the path exists under other methods.
	open("/v1/", s.noRoute)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		writeJSON(w, 503, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready", "model": s.faces.Engine().EmbeddingModel()})
}

func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/v1/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, apiErr(CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, ", ")))
		return
	}
	writeError(w, r, apiErr(CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path))
}
