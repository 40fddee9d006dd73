package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/visagehq/visage/internal/api/compat/authuser"
	"github.com/visagehq/visage/internal/api/compat/facialauth"
	"github.com/visagehq/visage/internal/api/compat/identitygram"
	"github.com/visagehq/visage/internal/api/compat/ivapi"
	"github.com/visagehq/visage/internal/api/compat/validation"
	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/kyc"
	"github.com/visagehq/visage/internal/tenancy"
	"github.com/visagehq/visage/internal/web"
)

// Config holds the API's limits.
type Config struct {
	MaxBodyBytes  int64
	MaxImageBytes int64
	MaxVideoBytes int64   // largest selfie video (0: 50 MB)
	RateLimit     float64 // per API key, requests/second; 0 disables
	RateBurst     int
	// Admission bounds the image and video requests in flight (see
	// edge.AdmissionConfig); zero Concurrency: none.
	Admission edge.AdmissionConfig
	// Metrics is the registry every surface and service reports to; nil
	// makes a fresh one.
	Metrics *edge.Metrics
	// Collectors are extra metrics served on /metrics (engine stages).
	Collectors []prometheus.Collector
	// Webhooks serves /v1/webhooks; nil answers 503 there.
	Webhooks Webhooks
	// Verify runs verification cases; nil leaves their routes out.
	Verify *kyc.Service
	// Applicants runs validation requests; nil leaves their routes out.
	Applicants *applicant.Service
}

// Server is every HTTP surface on one edge: the native API, the hosted
// capture page and the vendor adapters.
type Server struct {
	cfg     Config
	faces   *faceauth.Service
	tenancy *tenancy.Service
	ready   func(context.Context) error
	edge    *edge.Edge
}

// New builds the server. ready reports whether dependencies (the store)
// answer, for /readyz.
func New(cfg Config, faces *faceauth.Service, ten *tenancy.Service, ready func(context.Context) error, log *slog.Logger) *Server {
	if cfg.Metrics == nil {
		cfg.Metrics = edge.NewMetrics()
	}
	s := &Server{cfg: cfg, faces: faces, tenancy: ten, ready: ready}
	s.edge = edge.New(edge.Config{MaxBodyBytes: cfg.MaxBodyBytes, MaxImageBytes: cfg.MaxImageBytes,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, Auth: ten, Log: log, Metrics: cfg.Metrics, Admission: cfg.Admission})
	reg := cfg.Metrics.Registry
	reg.MustRegister(cfg.Collectors...)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "visage_engine_jobs_running",
		Help: "Face-engine jobs running now."}, func() float64 { return float64(faces.QueueDepth()) }))
	s.edge.Mount(s.native())
	s.edge.Mount(web.New(faces, log).Surface())
	s.edge.Mount(identitygram.New(faces, cfg.Verify, ten).Surface())
	s.edge.Mount(authuser.New(faces, log).Surface())
	if cfg.Applicants != nil {
		s.edge.Mount(validation.New(cfg.Applicants).Surface())
	}
	s.edge.Mount(web.NewFaceAuth(faces, log).Surface())
	if cfg.Verify != nil {
		s.edge.Mount(facialauth.New(faces, cfg.Verify).Surface())
		h := &hosted{page: web.NewVerifyPage(log), cases: cfg.Verify}
		s.edge.Mount(h.surface(s))
		s.edge.Mount(ivapi.New(cfg.Verify, cfg.MaxVideoBytes, cfg.MaxImageBytes, h).Surface())
	}
	return s
}

// Handler is the root handler.
func (s *Server) Handler() http.Handler { return s.edge.Handler() }

// Patterns lists every documented route (for the OpenAPI coverage test).
func (s *Server) Patterns() []string { return s.edge.Patterns() }

// native is the /v1 route table, in one place.
func (s *Server) native() edge.Surface {
	auth := func(pattern string, h http.HandlerFunc, up *edge.UploadSpec) edge.Route {
		return edge.Route{Pattern: pattern, Handler: h, Auth: edge.Required, Upload: up}
	}
	open := func(pattern string, h http.HandlerFunc) edge.Route {
		return edge.Route{Pattern: pattern, Handler: h, Undocumented: true}
	}
	metrics := promhttp.HandlerFor(s.cfg.Metrics.Registry, promhttp.HandlerOpts{})
	routes := []edge.Route{
		{Pattern: "GET /healthz", Handler: s.healthz},
		{Pattern: "GET /readyz", Handler: s.readyz},
		open("GET /metrics", metrics.ServeHTTP),
		{Pattern: "GET /v1/openapi.json", Handler: s.openapi},
		auth("POST /v1/auth/token", s.issueToken, nil),

		auth("POST /v1/faces", s.enrol, enrolUpload),
		auth("GET /v1/faces", s.listFaces, nil),
		auth("GET /v1/faces/{faceId}", s.getFace, nil),
		auth("PATCH /v1/faces/{faceId}", s.patchFace, nil),
		auth("DELETE /v1/faces/{faceId}", s.deleteFace, nil),
		auth("POST /v1/faces/{faceId}/unlock", s.unlockFace, nil),
		auth("POST /v1/faces/{faceId}/images", s.addImages, enrolUpload),
		auth("GET /v1/faces/{faceId}/images/{imageId}", s.faceImage, nil),
		auth("POST /v1/faces/{faceId}/verify", s.verify, oneUpload),
		auth("POST /v1/compare", s.compare, compareUpload),
		auth("POST /v1/detect", s.detect, oneUpload),
		auth("POST /v1/liveness", s.liveness, oneUpload),
		auth("POST /v1/search", s.search, oneUpload),
		auth("POST /v1/capture-sessions", s.startCapture, nil),
		auth("GET /v1/integration", s.getIntegration, nil),
		auth("PATCH /v1/integration", s.patchIntegration, nil),
		auth("GET /v1/audit-events", s.listAuditEvents, nil),
		auth("GET /v1/webhooks", s.getWebhooks, nil),
		auth("PUT /v1/webhooks", s.putWebhooks, nil),
		auth("POST /v1/webhooks/ping", s.pingWebhooks, nil),
		auth("GET /v1/webhooks/deliveries", s.listWebhookDeliveries, nil),
		auth("GET /v1/webhooks/deliveries/{id}", s.getWebhookDelivery, nil),
		auth("POST /v1/webhooks/deliveries/{id}/redeliver", s.redeliverWebhook, nil),
		auth("POST /v1/webhooks/secret/rotate", s.rotateWebhookSecret, nil),
		auth("GET /v1/webhooks/grants", s.listWebhookGrants, nil),
	}
	routes = append(routes, s.verificationRoutes()...)
	routes = append(routes, s.templateRoutes()...)
	routes = append(routes, s.applicantRoutes()...)
	for i := range routes {
		routes[i].Scope = nativeScopes[routes[i].Pattern]
	}
	return edge.Surface{Name: "v1", Renderer: renderer{}, Prefixes: []string{"/v1/", "/files/"}, Routes: routes}
}

// nativeScopes are the routes a verify-scoped key may not use: what
// changes enrolments and cases needs enrol, what changes policy,
// webhooks or another party's decision needs admin. The rest (verify,
// search, compare, read) any key may use.
var nativeScopes = map[string]string{
	"POST /v1/faces":                              tenancy.ScopeEnrol,
	"PATCH /v1/faces/{faceId}":                    tenancy.ScopeEnrol,
	"DELETE /v1/faces/{faceId}":                   tenancy.ScopeEnrol,
	"POST /v1/faces/{faceId}/images":              tenancy.ScopeEnrol,
	"POST /v1/capture-sessions":                   tenancy.ScopeEnrol,
	"POST /v1/templates":                          tenancy.ScopeEnrol,
	"POST /v1/verifications":                      tenancy.ScopeEnrol,
	"POST /v1/verifications/{id}/submit":          tenancy.ScopeEnrol,
	"POST /v1/applicants":                         tenancy.ScopeEnrol,
	"POST /v1/applicants/{id}/close":              tenancy.ScopeEnrol,
	"POST /v1/applicants/{id}/validate":           tenancy.ScopeEnrol,
	"POST /v1/faces/{faceId}/unlock":              tenancy.ScopeAdmin,
	"PATCH /v1/integration":                       tenancy.ScopeAdmin,
	"GET /v1/audit-events":                        tenancy.ScopeAdmin,
	"PUT /v1/webhooks":                            tenancy.ScopeAdmin,
	"POST /v1/webhooks/ping":                      tenancy.ScopeAdmin,
	"GET /v1/webhooks/deliveries":                 tenancy.ScopeAdmin,
	"GET /v1/webhooks/deliveries/{id}":            tenancy.ScopeAdmin,
	"POST /v1/webhooks/deliveries/{id}/redeliver": tenancy.ScopeAdmin,
	"POST /v1/webhooks/secret/rotate":             tenancy.ScopeAdmin,
	"GET /v1/webhooks/grants":                     tenancy.ScopeAdmin,
	"POST /v1/verifications/{id}/review":          tenancy.ScopeAdmin,
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	edge.WriteJSON(w, 200, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		edge.WriteJSON(w, 503, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	edge.WriteJSON(w, 200, map[string]string{"status": "ready", "model": s.faces.Engine().EmbeddingModel()})
}
