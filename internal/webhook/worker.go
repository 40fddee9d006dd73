package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
)

// Request headers of every delivery.
const (
	HeaderDelivery    = "X-Visage-Delivery"
	HeaderEvent       = "X-Visage-Event"
	HeaderIntegration = "X-Visage-Integration"
	HeaderSignature   = "X-Visage-Signature"
	HeaderAttempt     = "X-Visage-Attempt"
	UserAgent         = "Visage/1.0"
)

// Defaults of Options.
const (
	DefaultPoll          = 5 * time.Second
	DefaultLease         = time.Minute
	DefaultTimeout       = 10 * time.Second
	DefaultMaxAttempts   = 8
	DefaultBaseBackoff   = 10 * time.Second
	DefaultMaxBackoff    = time.Hour
	DefaultConcurrency   = 8
	DefaultShutdownGrace = 5 * time.Second

	// leaseMargin is the least a lease outlasts the request timeout: time
	// to look up the secret and record the result. A shorter lease could
	// expire while a live worker is still sending, and another worker
	// would send the same delivery concurrently.
	leaseMargin = 2 * time.Second
	// recordTimeout bounds writing an attempt's result, also after the
	// worker's context ended (the attempt happened; record it if we can).
	recordTimeout = 5 * time.Second
	// drainLimit is how much of a long response is read past the excerpt
	// so the connection can be reused; beyond it the connection is closed.
	drainLimit = 64 << 10
	// pruneEvery is how often finished deliveries past retention go.
	pruneEvery = time.Hour

	dialTimeout = 5 * time.Second
	keepAlive   = 30 * time.Second
)

// SecretFunc returns the secrets an integration's deliveries are signed
// with: the current one first, then any a rotation retired whose overlap
// window is still open.
type SecretFunc func(ctx context.Context, integrationID string) ([][]byte, error)

// StoreSecrets is the SecretFunc of a server: it loads the integration and
// unseals its secrets with open (tenancy.Service.OpenSecrets).
func StoreSecrets(st store.Store, open func(*store.Integration) (aesKey, webhookSecret []byte, err error)) SecretFunc {
	return func(ctx context.Context, integrationID string) ([][]byte, error) {
		in, err := st.GetIntegration(ctx, integrationID)
		if err != nil {
			return nil, err
		}
		_, secret, err := open(in)
		if err != nil {
			return nil, err
		}
		out := [][]byte{secret}
		retired, err := st.ListRetiredWebhookSecrets(ctx, integrationID, time.Now())
		if err != nil {
			return nil, err
		}
		for _, r := range retired {
			// A retired secret is a former value of the integration's own
			// column, sealed for it: it opens as that column does.
			c := *in
			c.SealedWebhookSecret = r.Sealed
			_, old, err := open(&c)
			if err != nil {
				return nil, fmt.Errorf("retired webhook secret %s: %w", r.ID, err)
			}
			out = append(out, old)
		}
		return out, nil
	}
}

// Options tunes a Worker. Zero values select the defaults above.
type Options struct {
	// Guard decides which addresses may be reached; nil refuses every
	// non-public address.
	Guard *Guard
	// Poll is how often the store is asked for due deliveries when no
	// Notify arrives (other nodes' events, retries coming due).
	Poll time.Duration
	// Lease is how long a claimed delivery stays reserved for this worker;
	// after it a crashed worker's delivery is sent again. It is raised to
	// at least Timeout plus a margin.
	Lease time.Duration
	// Timeout bounds one request, response excerpt included.
	Timeout time.Duration
	// MaxAttempts is how many sends a delivery gets before it is failed.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the retry delay: BaseBackoff ×
	// 2^(attempt-1), ±20 % jitter, at most MaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Concurrency is how many deliveries are sent at once.
	Concurrency int
	// ShutdownGrace is how long in-flight sends may run on after Run's
	// context ends before they are abandoned (and rescheduled).
	ShutdownGrace time.Duration
	// Retention is how long delivered and failed deliveries are kept;
	// 0 keeps them forever.
	Retention time.Duration
	Log       *slog.Logger
}

func (o *Options) defaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Poll, DefaultPoll)
	def(&o.Lease, DefaultLease)
	def(&o.Timeout, DefaultTimeout)
	def(&o.BaseBackoff, DefaultBaseBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.ShutdownGrace, DefaultShutdownGrace)
	o.Lease = max(o.Lease, o.Timeout+leaseMargin)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Worker sends due deliveries. Any number of workers, in one process or
// many, may share a store: the store's claim hands each due delivery to one
// of them.
type Worker struct {
	st      store.Store
	secrets SecretFunc
	opt     Options
	// client serves integrations without grants: they all have the same
	// policy, so they may share pooled connections.
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}

	mu sync.Mutex
	// granted holds one client per integration with grants. A pooled
	// connection skips the dialer's check, so a connection made under one
	// integration's grants must never carry another integration's request.
	granted map[string]*grantedClient
}

// grantedClient is the client of one integration, for one set of grants.
type grantedClient struct {
	key    string // the grants it was built for
	client *http.Client
}

// NewWorker builds a worker over st. secrets returns the keys each
// integration's deliveries are signed with.
func NewWorker(st store.Store, secrets SecretFunc, opts Options) *Worker {
	opts.defaults()
	w := &Worker{st: st, secrets: secrets, opt: opts, log: opts.Log.With("component", "webhook"),
		wake: make(chan struct{}, 1), granted: map[string]*grantedClient{}}
	w.client = w.newClient(opts.Guard.For(nil))
	return w
}

func (w *Worker) newClient(a Access) *http.Client {
	transport := &http.Transport{
		// No proxy: through one, the dialer would check the proxy's
		// address rather than the destination's.
		Proxy:                 nil,
		DialContext:           a.Dialer().DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   w.opt.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   w.opt.Timeout,
		// A redirect is an answer, not a success: following it would
		// also let a receiver point us at an address the dialer has
		// not been asked about with this URL's blessing.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// clientFor returns the client an integration's deliveries go through.
func (w *Worker) clientFor(integrationID string, a Access) *http.Client {
	key := grantsKey(a.grants)
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.granted[integrationID]
	if c != nil && c.key == key {
		return c.client
	}
	if c != nil {
		// The grants changed: connections made under the old ones go.
		c.client.CloseIdleConnections()
		delete(w.granted, integrationID)
	}
	if key == "" {
		return w.client
	}
	c = &grantedClient{key: key, client: w.newClient(a)}
	w.granted[integrationID] = c
	return c.client
}

func grantsKey(grants []netip.Prefix) string {
	s := make([]string, len(grants))
	for i, p := range grants {
		s[i] = p.String()
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// Notify asks the worker to look for due deliveries now, after a
// transaction that enqueued some has committed. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends deliveries until ctx ends, then gives in-flight sends up to
// ShutdownGrace to finish, abandons (cancels) the rest, records them for a
// retry, and returns.
func (w *Worker) Run(ctx context.Context) {
	// Sends run on their own context so that ending ctx does not cut them
	// off at once; abandon ends them after the grace period.
	sendCtx, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	done := make(chan struct{}, w.opt.Concurrency) // never blocks: one slot per send
	var wg sync.WaitGroup
	inflight := 0
	poll := time.NewTimer(w.opt.Poll)
	defer poll.Stop()
	nextPrune := time.Now()
	for {
		// Claim only what can start now: a claimed row's lease is ticking.
		if free := w.opt.Concurrency - inflight; free > 0 {
			ds, err := w.st.ClaimWebhooks(ctx, store.WebhookClaim{Lease: w.opt.Lease, Limit: free})
			if err != nil && ctx.Err() == nil {
				w.log.ErrorContext(ctx, "claim webhook deliveries", "err", err)
			}
			for _, d := range ds {
				inflight++
				wg.Go(func() {
					defer func() { done <- struct{}{} }()
					w.deliver(sendCtx, d)
				})
			}
		}
		if time.Now().After(nextPrune) {
			w.prune(ctx)
			nextPrune = time.Now().Add(pruneEvery)
		}
		poll.Reset(w.opt.Poll)
		select {
		case <-ctx.Done():
			if inflight > 0 {
				w.log.Info("webhook worker stopping: waiting for in-flight deliveries",
					"in_flight", inflight, "grace", w.opt.ShutdownGrace)
			}
			stop := time.AfterFunc(w.opt.ShutdownGrace, abandon)
			wg.Wait()
			stop.Stop()
			return
		case <-w.wake:
		case <-poll.C:
		case <-done:
			inflight--
		}
	}
}

func (w *Worker) prune(ctx context.Context) {
	if w.opt.Retention > 0 {
		n, err := w.st.PruneWebhooks(ctx, time.Now().Add(-w.opt.Retention))
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.ErrorContext(ctx, "prune webhook deliveries", "err", err)
		case n > 0:
			w.log.Info("pruned finished webhook deliveries", "count", n, "retention", w.opt.Retention)
		}
	}
	// Expired secrets already sign nothing (they are filtered when read);
	// this removes their sealed bytes too.
	n, err := w.st.PruneRetiredWebhookSecrets(ctx, time.Now())
	switch {
	case err != nil && ctx.Err() == nil:
		w.log.ErrorContext(ctx, "prune retired webhook secrets", "err", err)
	case n > 0:
		w.log.Info("deleted webhook secrets past their rotation overlap", "count", n)
	}
}

// deliver makes one attempt at d and records it.
func (w *Worker) deliver(ctx context.Context, d store.WebhookDelivery) {
	a := &store.WebhookAttempt{IntegrationID: d.IntegrationID, DeliveryID: d.ID, Number: d.TotalAttempts,
		RequestBody: string(d.Payload)}
	log := w.log.With("delivery", d.ID, "event", d.Event, "integration", d.IntegrationID, "attempt", d.Attempts)
	out, detail := w.attempt(ctx, d, a)
	if detail != "" && detail != a.Error {
		// What the tenant does not see (addresses, resolver answers, ...).
		log = log.With("detail", detail)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := w.st.RecordWebhookAttempt(rctx, d.LeaseToken, a, out); err != nil {
		if errors.Is(err, store.ErrConflict) {
			log.Warn("webhook delivery was taken over while sending (lease expired or redelivered)")
		} else {
			// The lease will expire and the delivery be sent again.
			log.Error("record webhook attempt", "err", err)
		}
		return
	}
	switch out.Status {
	case store.DeliveryDelivered:
		log.Debug("webhook delivered", "status", a.ResponseStatus, "latency_ms", a.LatencyMS)
	case store.DeliveryFailed:
		log.Warn("webhook delivery failed for good", "status", a.ResponseStatus, "err", a.Error)
	default:
		log.Info("webhook delivery will be retried", "status", a.ResponseStatus, "err", a.Error, "at", out.RetryAt)
	}
}

// attempt sends d once, filling in a, and says what becomes of d. a.Error
// is shown to the tenant; detail, for the server log only, says more when
// that would reveal the server's network (refused or resolved addresses).
func (w *Worker) attempt(ctx context.Context, d store.WebhookDelivery, a *store.WebhookAttempt) (out store.WebhookOutcome, detail string) {
	failed := store.WebhookOutcome{Status: store.DeliveryFailed}
	if d.Attempts > w.opt.MaxAttempts {
		// Only a worker that died during the final attempt leaves this.
		a.Error = fmt.Sprintf("not sent: attempt %d of %d was the last and its worker stopped mid-send", d.Attempts-1, w.opt.MaxAttempts)
		return failed, ""
	}
	grants, err := w.st.ListWebhookGrants(ctx, d.IntegrationID)
	if err != nil {
		a.Error = "not sent: the destination policy could not be read; will retry"
		return w.retry(d, 0), err.Error()
	}
	access := w.opt.Guard.For(grantPrefixes(grants, w.log))
	u, err := access.parse(d.URL, true)
	if err != nil {
		a.Error = err.Error()
		return failed, BlockedDetail(err) // the URL will not get better by waiting
	}
	secrets, err := w.secrets(ctx, d.IntegrationID)
	if err != nil {
		a.Error = "not sent: the signing secret could not be read; will retry"
		return w.retry(d, 0), err.Error()
	}
	body := []byte(d.Payload)
	sig, err := crypto.SignWebhookDelivery(secrets, d.ID, time.Now().Unix(), body)
	if err != nil {
		a.Error = "not sent: the delivery could not be signed"
		return failed, err.Error()
	}
	// The address actually used, new connection or pooled: it decides
	// whether the response may be recorded.
	var remote atomic.Pointer[netip.Addr]
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if ap, err := netip.ParseAddrPort(ci.Conn.RemoteAddr().String()); err == nil {
			addr := ap.Addr()
			remote.Store(&addr)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		a.Error = "not sent: the request could not be built"
		return failed, err.Error()
	}
	ua := d.UserAgent
	if ua == "" {
		ua = UserAgent
	}
	h := map[string]string{
		"Content-Type":    "application/json",
		"User-Agent":      ua,
		HeaderDelivery:    d.ID,
		HeaderEvent:       d.Event,
		HeaderIntegration: d.IntegrationID,
		HeaderAttempt:     strconv.Itoa(d.TotalAttempts),
		HeaderSignature:   sig,
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	a.RequestHeaders = h

	start := time.Now()
	res, err := w.clientFor(d.IntegrationID, access).Do(req)
	if err != nil {
		a.LatencyMS = time.Since(start).Milliseconds()
		a.Error = publicError(err, w.opt.Timeout)
		detail = describe(err, w.opt.Timeout)
		if bd := BlockedDetail(err); bd != "" {
			detail = bd
		}
		switch {
		case errors.Is(err, ErrBlocked):
			return failed, detail
		case ctx.Err() != nil:
			// Shutting down: not the receiver's fault, so no backoff; the
			// next worker to poll picks it up.
			a.Error = "abandoned at shutdown: " + a.Error
			return store.WebhookOutcome{Status: store.DeliveryPending, RetryAt: time.Now()}, detail
		}
		return w.retry(d, 0), detail
	}
	// A little more than the excerpt, so a character cut at the limit is
	// dropped whole rather than shown broken.
	head, readErr := io.ReadAll(io.LimitReader(res.Body, store.MaxWebhookResponseExcerpt+utf8.UTFMax))
	_, _ = io.CopyN(io.Discard, res.Body, drainLimit)
	_ = res.Body.Close()
	a.LatencyMS = time.Since(start).Milliseconds()
	a.ResponseStatus = res.StatusCode
	if addr := remote.Load(); addr != nil {
		if v, _ := access.judge(*addr); v.shown() {
			a.ResponseBody = Excerpt(head, store.MaxWebhookResponseExcerpt)
		}
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		// The status is the receiver's answer; a body cut short after it
		// does not undo the delivery.
		return store.WebhookOutcome{Status: store.DeliveryDelivered}, ""
	}
	a.Error = "HTTP " + strconv.Itoa(res.StatusCode)
	if readErr != nil {
		a.Error += " (reading body: " + publicError(readErr, w.opt.Timeout) + ")"
		detail = describe(readErr, w.opt.Timeout)
	}
	return w.retry(d, retryAfter(res)), detail
}

// Excerpt makes the start of a response body fit for the delivery log: at
// most limit bytes of valid UTF-8 (invalid bytes become U+FFFD), with
// control and bidirectional-override characters removed and line breaks
// and tabs turned into spaces, so it cannot garble a terminal or a page. A
// character cut short at the end of b (the read stopped there) is dropped.
func Excerpt(b []byte, limit int) string {
	var sb strings.Builder
	for len(b) > 0 {
		if !utf8.FullRune(b) {
			break // a character cut by the read limit
		}
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			continue
		}
		if sb.Len()+utf8.RuneLen(r) > limit {
			break
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// retry schedules the next attempt, or fails d once its attempts are spent.
// hint is a delay the receiver asked for (Retry-After); it lengthens the
// backoff, never shortens it.
func (w *Worker) retry(d store.WebhookDelivery, hint time.Duration) store.WebhookOutcome {
	if d.Attempts >= w.opt.MaxAttempts {
		return store.WebhookOutcome{Status: store.DeliveryFailed}
	}
	delay := min(max(Backoff(d.Attempts, w.opt.BaseBackoff, w.opt.MaxBackoff), hint), w.opt.MaxBackoff)
	return store.WebhookOutcome{Status: store.DeliveryPending, RetryAt: time.Now().Add(delay)}
}

// Backoff is the delay after the n-th failed attempt (n >= 1): base ×
// 2^(n-1) with ±20 % jitter, at most limit. The jitter spreads the retries
// of many deliveries that failed together (a receiver outage) so they do
// not all hit the receiver again in the same second.
func Backoff(n int, base, limit time.Duration) time.Duration {
	d := limit
	if n >= 1 && n <= 32 && base < limit>>(n-1) {
		d = base << (n - 1)
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(d, limit)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(res *http.Response) time.Duration {
	v := res.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// describe turns a client error into log text: without the "Post <url>:"
// prefix (the URL is on the delivery) and naming timeouts. It may name
// addresses, so it is for the server log.
func describe(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("timed out after %s: %v", timeout, ue.Err)
		}
		return ue.Err.Error()
	}
	return err.Error()
}

// publicError is describe for the tenant's delivery log: the kind of
// failure without the addresses involved. Network errors name the
// server's own address and the one a host name resolved to, and DNS errors
// the server's resolver: none of that is the tenant's to learn.
func publicError(err error, timeout time.Duration) string {
	if be, ok := errors.AsType[*BlockedError](err); ok {
		return be.Error()
	}
	if ue, ok := errors.AsType[*url.Error](err); ok && ue.Timeout() {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	if de, ok := errors.AsType[*net.DNSError](err); ok {
		switch {
		case de.IsNotFound:
			return "DNS lookup of " + de.Name + " failed: no such host"
		case de.IsTimeout:
			return "DNS lookup of " + de.Name + " timed out"
		}
		return "DNS lookup of " + de.Name + " failed"
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		inner := oe.Err
		if se, ok := errors.AsType[*os.SyscallError](inner); ok {
			inner = se.Err
		}
		if inner == nil {
			return oe.Op + " failed"
		}
		return oe.Op + ": " + inner.Error()
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err.Error()
	}
	return err.Error()
}
