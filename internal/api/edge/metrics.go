package edge

import (
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the server's Prometheus registry with the edge's request
// counters. Every label comes from a closed set: the route pattern (not
// the path), a known method or OTHER, the status code, the surface.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the request metrics and the Go runtime collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "visage_http_requests_total", Help: "HTTP requests by surface, route, method and status.",
		}, []string{"surface", "route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "visage_http_request_duration_seconds", Help: "HTTP request latency by surface and route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .15, .25, .5, 1, 2.5, 5, 10},
		}, []string{"surface", "route", "method"}),
	}
	m.Registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observe(surface, route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(surface, route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(surface, route, method).Observe(d.Seconds())
}

// capToken matches capture-session tokens, which are credentials: whoever
// holds one can complete that face's registration.
var capToken = regexp.MustCompile(`cap_[0-9a-f]{8}[0-9a-f]*`)

// RedactPath keeps a token's first characters, enough to correlate logs.
func RedactPath(p string) string {
	return capToken.ReplaceAllStringFunc(p, func(t string) string { return t[:12] + "…" })
}
