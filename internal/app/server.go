package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/visagehq/visage/internal/api"
	"github.com/visagehq/visage/internal/api/compat/facialauth"
	"github.com/visagehq/visage/internal/api/compat/identitygram"
	"github.com/visagehq/visage/internal/api/compat/ivapi"
	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/kyc"
	"github.com/visagehq/visage/internal/logctx"
	"github.com/visagehq/visage/internal/models"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
	"github.com/visagehq/visage/internal/video"
	"github.com/visagehq/visage/internal/webhook"
)

// Logger builds the JSON logger at the configured level.
func Logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(logctx.NewHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
}

// Server is a running Visage: its parts and the HTTP server.
type Server struct {
	cfg    *config.Server
	log    *slog.Logger
	st     store.Store
	eng    *face.Engine
	http   *http.Server
	ln     net.Listener
	Faces  *faceauth.Service
	Verify *kyc.Service
	// Applicants runs validation requests (registration and 1:N authorisation).
	Applicants *applicant.Service
	Tenant     *tenancy.Service
	// Webhooks configures and reports webhooks; hooks sends them.
	Webhooks *webhook.Service
	hooks    *webhook.Worker
	blobs    *blob.FS
	// base is every request's parent context; cancelled when draining
	// takes too long, so requests queued for the engine give up.
	base       context.Context
	cancelBase context.CancelFunc
}

// NewServer opens every part; Close releases them in reverse order.
func NewServer(ctx context.Context, c *config.Server, log *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: c, log: log}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	slog.SetDefault(log)
	setMemoryLimit(log)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.st, err = OpenStore(ctx, c); err != nil {
		return nil, err
	}
	keys, err := LoadKeys(c)
	if err != nil {
		return nil, err
	}
	kr := keys.Ring
	blobs, err := blob.NewFS(filepath.Join(c.DataDir, "blobs"), kr, c.MaxBodyBytes)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	s.blobs = blobs
	m, err := models.Load(c.Manifest)
	if err != nil {
		return nil, err
	}
	stages := api.StageHistogram()
	observe := func(stage string, d time.Duration) { stages.WithLabelValues(stage).Observe(d.Seconds()) }
	if s.eng, err = face.New(face.Config{ModelsDir: c.ModelsDir, Manifest: m, Threads: c.Threads, Verify: true, Observe: observe, SingleView: !c.FlipFusion}); err != nil {
		return nil, err
	}
	if s.Tenant, err = Tenancy(c, s.st, log); err != nil {
		return nil, err
	}
	// Each integration's files, frames and templates are sealed with its
	// own data key (wrapped by the master key).
	blobs.SealPerIntegration(s.Tenant.DataKeyring)
	if n, err := s.Tenant.EnsureDataKeys(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Info("data keys created for integrations from before data keys", "integrations", n)
	}
	hookOpts, err := webhook.OptionsFromConfig(c, log)
	if err != nil {
		return nil, err
	}
	s.hooks = webhook.NewWorker(s.st, webhook.StoreSecrets(s.st, s.Tenant.OpenSecrets), hookOpts)
	s.Webhooks = webhook.NewService(s.st, hookOpts.Guard, s.hooks.Notify,
		webhook.WithSealer(s.Tenant.SealWebhookSecret), webhook.WithLogger(log))
	limits := imageio.Limits{MaxBytes: c.MaxBytes, MaxPixels: c.MaxPixels}
	metrics := edge.NewMetrics()
	s.Faces = faceauth.New(s.st, blobs, kr, s.eng, faceauth.Options{Limits: limits, Workers: c.Workers, Log: log, DataKeys: s.Tenant.DataKeyring,
		PublicURL: c.PublicURL, CaptureTTL: c.CaptureLinkTTL,
		Events: outbox{w: s.hooks, encoders: Encoders}, Metrics: api.NewServiceMetrics(metrics)})
	ocr := ocrReader(c, log)
	s.Verify = kyc.New(s.st, blobs, s.Faces, kyc.Options{PublicURL: c.PublicURL, URLKey: kyc.DeriveURLKey(keys.Current),
		LinkTTL: c.VerifyLinkTTL, AbandonAfter: c.VerifyAbandonAfter, OCR: ocr,
		Video: video.Decoder{Limits: video.Limits{MaxBytes: c.VideoMaxBytes}}, Events: outbox{w: s.hooks, encoders: Encoders}, Log: log})
	s.Applicants = applicant.New(s.st, s.Faces, applicant.Options{OCR: ocr, Log: log})
	a := api.New(api.Config{MaxBodyBytes: c.MaxBodyBytes, MaxImageBytes: c.MaxBytes, MaxVideoBytes: c.VideoMaxBytes,
		RateLimit: c.RateLimit, RateBurst: c.RateBurst, Verify: s.Verify, Applicants: s.Applicants, Admission: admission(c),
		Metrics: metrics, Collectors: []prometheus.Collector{stages, outboxGauge(s.st)}, Webhooks: s.Webhooks},
		s.Faces, s.Tenant, s.st.Ping, log)
	s.http = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return s.base }}
	return s, nil
}

// admission derives the admission limits from the engine's workers: past
// two requests per worker (one decoding while one infers) throughput is
// flat on the measured machines, so more in flight only adds latency.
func admission(c *config.Server) edge.AdmissionConfig {
	if c.AdmitConcurrency < 0 {
		return edge.AdmissionConfig{}
	}
	n := c.AdmitConcurrency
	if n == 0 {
		w := c.Workers
		if w <= 0 {
			w = runtime.NumCPU()
		}
		n = 2 * w
	}
	return edge.AdmissionConfig{Concurrency: n, Queue: c.AdmitQueue, MaxWait: c.AdmitWait}
}

// Listen binds the address (":0" picks a free port; Addr tells which),
// with TLS when it is configured (internal/app/tls.go), and the ACME
// HTTP-01 listener when that is.
func (s *Server) Listen() error {
	if err := CheckTLS(s.cfg); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	if s.ln, err = s.secure(ln); err != nil {
		return err
	}
	if s.cfg.PublicURL == "" {
		s.Faces.SetPublicURL(s.defaultPublicURL())
		s.Verify.SetPublicURL(s.defaultPublicURL())
	}
	return nil
}

// blobStore is the server's file store (tests).
func (s *Server) blobStore() *blob.FS { return s.blobs }

// Store is the server's store (admin tasks and tests).
func (s *Server) Store() store.Store { return s.st }

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve runs until ctx ends, then drains in-flight requests (up to 30 s).
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	stopChallenges := s.serveChallenges()
	defer stopChallenges()
	// The webhook worker stops with the server, after its in-flight sends
	// finish or are abandoned (Options.ShutdownGrace).
	hctx, stopHooks := context.WithCancel(ctx)
	hooksDone := make(chan struct{})
	go func() { defer close(hooksDone); s.hooks.Run(hctx) }()
	defer func() { stopHooks(); <-hooksDone }()
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); s.sweep(hctx) }()
	defer func() { stopHooks(); <-sweepDone }()
	s.log.Info("visage listening", "addr", s.scheme()+"://"+s.Addr(), "database", RedactURL(DatabaseURL(s.cfg)),
		"model", s.eng.EmbeddingModel(), "data_dir", s.cfg.DataDir)
	s.hint(ctx)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		// Draining took too long: cancel what is still queued, give it a
		// moment to answer 503, then let Close stop the engine (which waits
		// for inferences in flight).
		s.log.Warn("drain timed out: cancelling remaining requests", "err", err)
		s.cancelBase()
		fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer fcancel()
		_ = s.http.Shutdown(fctx)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweep closes expired capture sessions and deletes their frames, fires
// verification timers, purges case files and erases faces past retention,
// once a minute, until ctx ends. Every node may run it: closing takes a
// row lock, and an erasure another node made first is skipped.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var reconciled time.Time
	for {
		// Listing every image file is heavier than the rest: hourly.
		if time.Since(reconciled) >= time.Hour {
			if n, err := s.Faces.ReconcileImages(ctx, faceauth.OrphanAge); err != nil && ctx.Err() == nil {
				s.log.Error("reconcile image files", "err", err)
			} else if n > 0 {
				s.log.Info("orphaned image files erased", "files", n)
			}
			reconciled = time.Now()
		}
		if n, err := s.Faces.SweepCaptures(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("sweep capture sessions", "err", err)
		} else if n > 0 {
			s.log.Info("expired capture sessions closed", "sessions", n)
		}
		if n, err := s.Verify.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sweep verification timers", "err", err)
		} else if n > 0 {
			s.log.Info("verification timers fired", "cases", n)
		}
		if n, err := s.Verify.Purge(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("purge verification files", "err", err)
		} else if n > 0 {
			s.log.Info("verification files purged", "files", n)
		}
		if faces, sessions, err := s.Faces.SweepRetention(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("retention sweep", "err", err)
		} else if faces > 0 || sessions > 0 {
			s.log.Info("retention sweep", "faces_erased", faces, "ended_sessions_deleted", sessions)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// hint tells a first-time operator how to get an API key.
func (s *Server) hint(ctx context.Context) {
	ins, err := s.st.ListIntegrations(ctx)
	if err == nil && len(ins) == 0 {
		s.log.Info("no integration yet: create one with `visage admin integration create --name NAME` (same --data-dir / VISAGE_DATABASE_URL), then call the API with -H \"x-api-key: <token>\"")
	}
}

// Close stops the engine and the store.
func (s *Server) Close() {
	s.cancelBase()
	if s.eng != nil {
		if err := s.eng.Close(); err != nil {
			s.log.Error("close engine", "err", err)
		}
	}
	if s.st != nil {
		if err := s.st.Close(); err != nil {
			s.log.Error("close store", "err", err)
		}
	}
}

// RedactURL hides a password in a database URL for logs.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// ocrReader is tesseract with the legacy-engine data when it is installed
// (it reads far more MRZs), else the LSTM engine alone, said once in the log.
func ocrReader(c *config.Server, log *slog.Logger) *document.Reader {
	r := &document.Reader{}
	if c.OCRLegacyData != "" {
		if _, err := os.Stat(filepath.Join(c.OCRLegacyData, "eng.traineddata")); err == nil {
			r.OCR.LegacyTessdataDir = c.OCRLegacyData
		} else {
			log.Warn("OCR legacy-engine data not found: reading MRZs with the LSTM engine alone (fewer are read); run scripts/setup-system.sh", "dir", c.OCRLegacyData)
		}
	}
	if err := r.OCR.Available(); err != nil {
		log.Warn("OCR unavailable: verification documents will go to review for their MRZ", "err", err)
		return nil
	}
	return r
}

// Encoder is one surface's webhook encoding: the messages (event name,
// exact body) it sends for a domain event, none for events it does not
// speak, with its User-Agent.
type Encoder struct {
	UserAgent string
	Encode    func(ev faceauth.Event) ([]webhook.Message, error)
}

// Encoders are the surfaces that notify integrations, each in its own
// words.
var Encoders = []Encoder{
	{UserAgent: identitygram.UserAgent, Encode: func(ev faceauth.Event) ([]webhook.Message, error) {
		ms, err := identitygram.Encode(ev)
		out := make([]webhook.Message, len(ms))
		for i, m := range ms {
			out[i] = webhook.Message{Event: m.Event, Body: m.Body}
		}
		return out, err
	}},
	{UserAgent: ivapi.UserAgent, Encode: func(ev faceauth.Event) ([]webhook.Message, error) {
		event, body, ok, err := ivapi.Encode(ev)
		if !ok || err != nil {
			return nil, err
		}
		return []webhook.Message{{Event: event, Body: body}}, nil
	}},
	{UserAgent: facialauth.UserAgent, Encode: func(ev faceauth.Event) ([]webhook.Message, error) {
		event, body, ok, err := facialauth.Encode(ev)
		if !ok || err != nil {
			return nil, err
		}
		return []webhook.Message{{Event: event, Body: body}}, nil
	}},
}

// outbox feeds the services' events to the webhook outbox: each surface's
// encoding, rows in the event's own transaction, then a nudge to the
// worker after commit.
type outbox struct {
	w        *webhook.Worker
	encoders []Encoder
}

func (o outbox) Enqueue(ctx context.Context, tx store.Tx, integrationID string, ev faceauth.Event) error {
	in, err := tx.GetIntegration(ctx, integrationID)
	if err != nil {
		return err
	}
	for _, enc := range o.encoders {
		msgs, err := enc.Encode(ev)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			m.UserAgent = enc.UserAgent
			if _, err := webhook.EnqueueMessage(ctx, tx, in, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o outbox) Committed() { o.w.Notify() }

// outboxGauge reports the webhook outbox's depth by status at scrape time.
func outboxGauge(st store.Store) prometheus.Collector {
	return &outboxCollector{st: st, desc: prometheus.NewDesc("visage_webhook_deliveries",
		"Webhook deliveries in the outbox by status (pending and delivering are the queue).", []string{"status"}, nil)}
}

type outboxCollector struct {
	st   store.Store
	desc *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.st.CountWebhooks(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, status := range []string{store.DeliveryPending, store.DeliveryDelivering, store.DeliveryDelivered, store.DeliveryFailed} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[status]), status)
	}
}
