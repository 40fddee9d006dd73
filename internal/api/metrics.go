package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
)

// StageHistogram times face-engine stages; pass its Observe to the engine
// and it to Config.Collectors.
func StageHistogram() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "visage_engine_stage_seconds", Help: "Face-engine stage latency.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	}, []string{"stage"})
}

// business are the counters a dashboard needs, per integration: the label
// set is bounded (integrations are created by operators) and outcomes are
// a closed set.
type business struct {
	enrolments    *prometheus.CounterVec
	verifications *prometheus.CounterVec
	spoofs        *prometheus.CounterVec
	searches      *prometheus.CounterVec
}

// NewServiceMetrics registers the business counters on m and returns them
// for the face service.
func NewServiceMetrics(m *edge.Metrics) faceauth.Metrics {
	b := &business{
		enrolments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "visage_enrolments_total",
			Help: "Faces enrolled, by integration and how liveness was proven (active, passive, none)."}, []string{"integration", "liveness"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "visage_verifications_total",
			Help: "1:1 verifications by integration and outcome (verified, no_match, spoof)."}, []string{"integration", "outcome"}),
		spoofs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "visage_spoof_rejections_total",
			Help: "Images refused or flagged by passive liveness, by integration."}, []string{"integration"}),
		searches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "visage_searches_total",
			Help: "1:N searches by integration."}, []string{"integration"}),
	}
	m.Registry.MustRegister(b.enrolments, b.verifications, b.spoofs, b.searches)
	return b
}

func (b *business) Enrolment(in, liveness string) { b.enrolments.WithLabelValues(in, liveness).Inc() }
func (b *business) Verification(in, outcome string) {
	b.verifications.WithLabelValues(in, outcome).Inc()
	if outcome == faceauth.OutcomeSpoof {
		b.spoofs.WithLabelValues(in).Inc()
	}
}
func (b *business) Spoof(in string)  { b.spoofs.WithLabelValues(in).Inc() }
func (b *business) Search(in string) { b.searches.WithLabelValues(in).Inc() }
