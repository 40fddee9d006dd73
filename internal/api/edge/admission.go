package edge

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Admission bounds the heavy requests (those carrying images or video)
// the server works on at once. Beyond what the engine can do, throughput
// stays flat and only latency grows, so requests past the limit wait in a
// short queue with a deadline, and those that could not start in time
// are refused at once with 503 and Retry-After, while the server keeps
// answering the rest quickly. The queue is fair between integrations: a
// freed slot goes to the waiting integration with the fewest requests
// running, and no integration may fill more than half the queue, so one
// tenant's burst cannot starve the others.
type AdmissionConfig struct {
	// Concurrency is how many heavy requests run at once; 0 disables
	// admission control.
	Concurrency int
	// Queue is how many may wait; MaxWait how long one waits at most.
	Queue   int
	MaxWait time.Duration
}

type waiter struct {
	key     string
	granted chan struct{}
	done    bool // granted or given up, under admission.mu
}

type admission struct {
	cfg AdmissionConfig
	mu  sync.Mutex
	// running counts admitted requests, overall and per key.
	running   int
	perKey    map[string]int
	queues    map[string][]*waiter
	order     []string // keys with waiters, oldest first (round-robin ties)
	queued    int
	service   float64 // moving average of a heavy request's seconds
	rejected  *prometheus.CounterVec
	queueSize prometheus.GaugeFunc
}

func newAdmission(cfg AdmissionConfig, reg *prometheus.Registry) *admission {
	if cfg.Concurrency <= 0 {
		return nil
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4 * cfg.Concurrency
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 3 * time.Second
	}
	a := &admission{cfg: cfg, perKey: map[string]int{}, queues: map[string][]*waiter{}, service: 0.2,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "visage_admission_rejected_total",
			Help: "Heavy requests refused with 503 because the server was at capacity, by reason."}, []string{"reason"})}
	a.queueSize = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "visage_admission_queued",
		Help: "Heavy requests waiting for a slot."}, func() float64 { a.mu.Lock(); defer a.mu.Unlock(); return float64(a.queued) })
	if reg != nil {
		reg.MustRegister(a.rejected, a.queueSize)
	}
	return a
}

// refusal is why a request was not admitted and when to come back.
type refusal struct {
	reason     string // queue_full, tenant_share, wait_estimate, deadline
	retryAfter time.Duration
}

// acquire admits a request of key, waiting up to MaxWait; release must be
// called once when the request is done.
func (a *admission) acquire(ctx context.Context, key string) (release func(), ref *refusal) {
	a.mu.Lock()
	if a.running < a.cfg.Concurrency && a.queued == 0 {
		a.grantLocked(key)
		a.mu.Unlock()
		return a.releaser(key), nil
	}
	if ref := a.refuseLocked(key); ref != nil {
		a.mu.Unlock()
		a.rejected.WithLabelValues(ref.reason).Inc()
		return nil, ref
	}
	w := &waiter{key: key, granted: make(chan struct{})}
	if len(a.queues[key]) == 0 {
		a.order = append(a.order, key)
	}
	a.queues[key] = append(a.queues[key], w)
	a.queued++
	a.mu.Unlock()

	timer := time.NewTimer(a.cfg.MaxWait)
	defer timer.Stop()
	reason := "deadline"
	select {
	case <-w.granted:
		return a.releaser(key), nil
	case <-timer.C:
	case <-ctx.Done():
		reason = "client_gone"
	}
	a.mu.Lock()
	if w.done { // granted while the timer fired: take it
		a.mu.Unlock()
		return a.releaser(key), nil
	}
	w.done = true
	a.removeLocked(w)
	retry := a.estimateLocked(a.queued)
	a.mu.Unlock()
	a.rejected.WithLabelValues(reason).Inc()
	return nil, &refusal{reason: reason, retryAfter: retry}
}

// refuseLocked decides at arrival: a full queue, an integration holding
// half of it already, or an expected wait past the deadline is refused
// now rather than after waiting for nothing.
func (a *admission) refuseLocked(key string) *refusal {
	retry := a.estimateLocked(a.queued + 1)
	switch {
	case a.queued >= a.cfg.Queue:
		return &refusal{"queue_full", retry}
	case len(a.queues[key]) >= max(1, a.cfg.Queue/2):
		return &refusal{"tenant_share", retry}
	case retry > a.cfg.MaxWait:
		return &refusal{"wait_estimate", retry}
	}
	return nil
}

// estimateLocked is how long the n-th request in the queue would wait.
func (a *admission) estimateLocked(n int) time.Duration {
	return time.Duration(float64(n) * a.service / float64(a.cfg.Concurrency) * float64(time.Second))
}

func (a *admission) grantLocked(key string) {
	a.running++
	a.perKey[key]++
}

func (a *admission) releaser(key string) func() {
	start := time.Now()
	var once sync.Once
	return func() {
		once.Do(func() {
			d := time.Since(start).Seconds()
			a.mu.Lock()
			defer a.mu.Unlock()
			a.service = 0.9*a.service + 0.1*d
			a.running--
			if a.perKey[key]--; a.perKey[key] <= 0 {
				delete(a.perKey, key)
			}
			a.dispatchLocked()
		})
	}
}

// dispatchLocked hands free slots to waiters: the integration with the
// fewest requests running first, the longest waiting among equals.
func (a *admission) dispatchLocked() {
	for a.running < a.cfg.Concurrency && a.queued > 0 {
		best := -1
		for i, k := range a.order {
			if best < 0 || a.perKey[k] < a.perKey[a.order[best]] {
				best = i
			}
		}
		key := a.order[best]
		w := a.queues[key][0]
		a.removeLocked(w)
		w.done = true
		a.grantLocked(key)
		close(w.granted)
	}
}

func (a *admission) removeLocked(w *waiter) {
	q := a.queues[w.key]
	for i, x := range q {
		if x == w {
			q = append(q[:i], q[i+1:]...)
			a.queued--
			break
		}
	}
	if len(q) > 0 {
		a.queues[w.key] = q
		return
	}
	delete(a.queues, w.key)
	for i, k := range a.order {
		if k == w.key {
			a.order = append(a.order[:i], a.order[i+1:]...)
			break
		}
	}
}

// heavy: the route carries images or video, so the engine works on it.
func (u *UploadSpec) heavy() bool {
	return u != nil && (len(u.Images) > 0 || u.AnyFile || len(u.Files) > 0 || !u.NoRaw)
}

// admitted runs h once the request is admitted, or answers 503 with
// Retry-After in the surface's shape.
func (e *Edge) admitted(h http.HandlerFunc) http.HandlerFunc {
	if e.admit == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		key := clientAddr(r)
		if p := PrincipalOf(r.Context()); p != nil && p.Integration != nil {
			key = p.Integration.ID
		}
		release, ref := e.admit.acquire(r.Context(), key)
		if ref != nil {
			refuse(w, r, ref)
			return
		}
		defer release()
		h(w, r)
	}
}
