package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/testenv"
	"github.com/visagehq/visage/internal/webhook"
)

var secret = []byte("whsec_test-secret")

func secrets(context.Context, string) ([][]byte, error) { return [][]byte{secret}, nil }

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	return openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "visage.db"))
}

func openStore(t *testing.T, url string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// loopbackOnly is the guard of these tests: the httptest receivers listen
// on loopback, which may be granted (newIntegration does), and nothing
// else is reachable.
func loopbackOnly(t *testing.T) *webhook.Guard {
	g, err := webhook.NewGuard(false, "127.0.0.0/8,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// fast are options that make retries take milliseconds.
func fast(t *testing.T) webhook.Options {
	return webhook.Options{Guard: loopbackOnly(t), Poll: 20 * time.Millisecond, Timeout: 2 * time.Second,
		BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxAttempts: 4, ShutdownGrace: time.Second}
}

// newIntegration creates an integration granted loopback, where the
// receivers of these tests listen.
func newIntegration(t *testing.T, st store.Store, hooks map[string][]string) *store.Integration {
	t.Helper()
	in := newUngranted(t, st, hooks)
	grant(t, st, in.ID, "127.0.0.0/8", "::1/128")
	return in
}

// newUngranted creates an integration without grants: public addresses
// only.
func newUngranted(t *testing.T, st store.Store, hooks map[string][]string) *store.Integration {
	t.Helper()
	in := &store.Integration{Name: "acme", WebhookURLs: hooks,
		Policy: store.Policy{MatchThreshold: 70, LivenessThreshold: 0.5, MaxAttempts: 3, RetentionDays: 30}}
	if err := st.CreateIntegration(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return in
}

func grant(t *testing.T, st store.Store, integrationID string, prefixes ...string) {
	t.Helper()
	for _, p := range prefixes {
		if err := st.PutWebhookGrant(context.Background(), &store.WebhookGrant{IntegrationID: integrationID, Prefix: p}); err != nil {
			t.Fatal(err)
		}
	}
}

func enqueue(t *testing.T, st store.Store, in *store.Integration, event string, payload any) []string {
	t.Helper()
	var ids []string
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		ids, err = webhook.Enqueue(context.Background(), tx, in, event, payload)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// runWorker runs w until the test ends (or stop is called) and reports
// whether Run returned.
func runWorker(t *testing.T, w *webhook.Worker) (stop func() time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	var once sync.Once
	var took time.Duration
	stop = func() time.Duration {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Error("worker did not stop")
			}
			took = time.Since(start)
		})
		return took
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitStatus polls until the delivery reaches status.
func waitStatus(t *testing.T, st store.Store, integrationID, id, status string) *store.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := st.GetWebhookDelivery(context.Background(), integrationID, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == status {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is %s (attempts %d, last error %q), want %s", id, d.Status, d.Attempts, d.LastError, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func attempts(t *testing.T, st store.Store, integrationID, id string) []store.WebhookAttempt {
	t.Helper()
	atts, err := st.ListWebhookAttempts(context.Background(), integrationID, id)
	if err != nil {
		t.Fatal(err)
	}
	return atts
}

// receiver is an httptest server that records requests and answers with
// the status its reply function picks.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []received
	reply func(n int) int // n: 1-based request number
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, reply func(n int) int) *receiver {
	rc := &receiver{reply: reply}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{r.Header.Clone(), body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		code := rc.reply(n)
		w.WriteHeader(code)
		fmt.Fprintf(w, "reply %d to request %d", code, n)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func ok(int) int { return http.StatusOK }

func TestDeliverSigned(t *testing.T) {
	st := openSQLite(t)
	rc := newReceiver(t, ok)
	in := newIntegration(t, st, map[string][]string{"images_stored": {rc.URL + "/a"}, "*": {rc.URL + "/all"}})
	runWorker(t, webhook.NewWorker(st, secrets, fast(t)))
	ids := enqueue(t, st, in, "images_stored", map[string]any{"face_id": "user-1", "images": 2})
	if len(ids) != 2 {
		t.Fatalf("enqueued %v, want one delivery per URL (event + wildcard)", ids)
	}
	for _, id := range ids {
		d := waitStatus(t, st, in.ID, id, store.DeliveryDelivered)
		if d.DeliveredAt == nil || d.LastStatus != 200 || d.Attempts != 1 {
			t.Fatalf("delivered row: %+v", d)
		}
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	var deliveryIDs []string
	for _, r := range reqs {
		h := r.header
		deliveryID := h.Get("X-Visage-Delivery")
		if err := crypto.VerifyWebhook(secret, h.Get("X-Visage-Signature"), r.body, time.Now(), 0); err != nil {
			t.Fatalf("v1 signature does not verify: %v", err)
		}
		if err := crypto.VerifyWebhookDelivery(secret, h.Get("X-Visage-Signature"), deliveryID, r.body, time.Now(), 0); err != nil {
			t.Fatalf("v2 signature does not verify: %v", err)
		}
		if err := crypto.VerifyWebhook([]byte("other"), h.Get("X-Visage-Signature"), r.body, time.Now(), 0); err == nil {
			t.Fatal("signature verifies with another secret")
		}
		if h.Get("User-Agent") != "Visage/1.0" || h.Get("Content-Type") != "application/json" ||
			h.Get("X-Visage-Event") != "images_stored" || h.Get("X-Visage-Attempt") != "1" {
			t.Fatalf("headers: %v", h)
		}
		// A native event carries its delivery id in the body too, first.
		if want := `{"deliveryId":"` + deliveryID + `","face_id":"user-1","images":2}`; h.Get("X-Visage-Integration") != in.ID || string(r.body) != want {
			t.Fatalf("body %s with headers %v: want %s", r.body, h, want)
		}
		deliveryIDs = append(deliveryIDs, deliveryID)
		atts := attempts(t, st, in.ID, deliveryID)
		if len(atts) != 1 || atts[0].ResponseStatus != 200 || atts[0].RequestHeaders["X-Visage-Signature"] != h.Get("X-Visage-Signature") ||
			atts[0].RequestBody != string(r.body) || !strings.Contains(atts[0].ResponseBody, "reply 200") {
			t.Fatalf("attempt log: %+v", atts)
		}
	}
	// Each destination has its own delivery id.
	if deliveryIDs[0] == deliveryIDs[1] {
		t.Fatalf("two destinations share a delivery id: %v", deliveryIDs)
	}
}

func TestEnqueueNothingWithoutURLs(t *testing.T) {
	st := openSQLite(t)
	in := newIntegration(t, st, map[string][]string{"other": {"https://example.com/h"}})
	if ids := enqueue(t, st, in, "images_stored", nil); len(ids) != 0 {
		t.Fatalf("enqueued %v with no URL for the event", ids)
	}
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		_, err := webhook.Enqueue(context.Background(), tx, in, "*", nil)
		return err
	})
	if !errors.Is(err, webhook.ErrInvalid) {
		t.Fatalf("enqueue of the wildcard itself: %v, want ErrInvalid", err)
	}
	page, err := st.ListWebhookDeliveries(context.Background(), in.ID, "", "", 0)
	if err != nil || len(page.Deliveries) != 0 {
		t.Fatalf("deliveries: %+v (%v)", page.Deliveries, err)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	st := openSQLite(t)
	rc := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	runWorker(t, webhook.NewWorker(st, secrets, fast(t)))
	id := enqueue(t, st, in, "ping", nil)[0]
	d := waitStatus(t, st, in.ID, id, store.DeliveryDelivered)
	if d.Attempts != 3 || d.LastStatus != 204 {
		t.Fatalf("delivered after %d attempts, last status %d; want 3, 204", d.Attempts, d.LastStatus)
	}
	atts := attempts(t, st, in.ID, id)
	if len(atts) != 3 {
		t.Fatalf("%d attempts logged, want 3", len(atts))
	}
	for i, want := range []int{500, 500, 204} {
		a := atts[i]
		if a.Number != i+1 || a.ResponseStatus != want || a.RequestHeaders["X-Visage-Delivery"] != id {
			t.Fatalf("attempt %d: %+v", i+1, a)
		}
		if want == 500 && (a.Error != "HTTP 500" || !strings.Contains(a.ResponseBody, "reply 500")) {
			t.Fatalf("failed attempt not described: %+v", a)
		}
	}
	// Every attempt carries the same delivery id, so receivers can dedupe.
	for _, r := range rc.requests() {
		if r.header.Get("X-Visage-Delivery") != id {
			t.Fatalf("attempt sent with delivery id %q, want %q", r.header.Get("X-Visage-Delivery"), id)
		}
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	st := openSQLite(t)
	rc := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	opts := fast(t)
	opts.MaxAttempts = 3
	runWorker(t, webhook.NewWorker(st, secrets, opts))
	id := enqueue(t, st, in, "ping", nil)[0]
	d := waitStatus(t, st, in.ID, id, store.DeliveryFailed)
	if d.Attempts != 3 || d.LastStatus != 503 || d.LastError != "HTTP 503" {
		t.Fatalf("failed row: %+v", d)
	}
	time.Sleep(100 * time.Millisecond) // several polls: nothing more is sent
	if n := len(rc.requests()); n != 3 {
		t.Fatalf("receiver got %d requests, want exactly 3", n)
	}
	if n := len(attempts(t, st, in.ID, id)); n != 3 {
		t.Fatalf("%d attempts logged, want 3", n)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	st := openSQLite(t)
	target := newReceiver(t, ok)
	rc := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	t.Cleanup(rc.Close)
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	opts := fast(t)
	opts.MaxAttempts = 1
	runWorker(t, webhook.NewWorker(st, secrets, opts))
	id := enqueue(t, st, in, "ping", nil)[0]
	d := waitStatus(t, st, in.ID, id, store.DeliveryFailed)
	if d.LastStatus != http.StatusFound || len(target.requests()) != 0 {
		t.Fatalf("redirect: status %d, redirect target got %d requests", d.LastStatus, len(target.requests()))
	}
}

func TestSSRFRefused(t *testing.T) {
	rc := newReceiver(t, ok)
	port := strconv.Itoa(rc.Listener.Addr().(*net.TCPAddr).Port)

	t.Run("loopback-not-allowed", func(t *testing.T) {
		st := openSQLite(t)
		// Enqueued directly: configuration-time validation would refuse
		// these, and the point is the dial-time check (as after DNS
		// rebinding, or a guard tightened since).
		in := newIntegration(t, st, map[string][]string{"*": {rc.URL, "http://localhost:" + port + "/by-name"}})
		strict, _ := webhook.NewGuard(false, "")
		opts := fast(t)
		opts.Guard = strict
		runWorker(t, webhook.NewWorker(st, secrets, opts))
		for _, id := range enqueue(t, st, in, "ping", nil) {
			d := waitStatus(t, st, in.ID, id, store.DeliveryFailed)
			if d.Attempts != 1 || !strings.Contains(d.LastError, "SSRF guard") || d.LastStatus != 0 {
				t.Fatalf("refused delivery %s: %+v (refusals are permanent, no retries)", d.URL, d)
			}
		}
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("receiver on loopback got %d requests through a strict guard", n)
		}
	})

	t.Run("private-with-loopback-allowed", func(t *testing.T) {
		st := openSQLite(t)
		// Nothing listens at these addresses in the test: a connection
		// attempt would hang to the timeout or fail with another error.
		urls := []string{"http://10.255.255.1:" + port + "/", "http://169.254.169.254/latest/meta-data/",
			"http://192.168.254.254/", "http://[::ffff:10.1.1.1]:81/", "http://100.64.1.1/"}
		in := newIntegration(t, st, map[string][]string{"*": urls})
		runWorker(t, webhook.NewWorker(st, secrets, fast(t)))
		ids := enqueue(t, st, in, "ping", nil)
		if len(ids) != len(urls) {
			t.Fatalf("enqueued %d, want %d", len(ids), len(urls))
		}
		for _, id := range ids {
			d := waitStatus(t, st, in.ID, id, store.DeliveryFailed)
			atts := attempts(t, st, in.ID, id)
			if len(atts) != 1 || !strings.Contains(atts[0].Error, "SSRF guard") || atts[0].LatencyMS > 500 {
				t.Fatalf("%s: attempts %+v; want one refusal at dial time", d.URL, atts)
			}
		}
	})
}

func TestNotifySendsWithoutWaitingForPoll(t *testing.T) {
	st := openSQLite(t)
	rc := newReceiver(t, ok)
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	opts := fast(t)
	opts.Poll = time.Hour
	w := webhook.NewWorker(st, secrets, opts)
	runWorker(t, w)
	time.Sleep(50 * time.Millisecond) // let the first, empty claim pass
	start := time.Now()
	id := enqueue(t, st, in, "ping", nil)[0]
	w.Notify()
	waitStatus(t, st, in.ID, id, store.DeliveryDelivered)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("notified delivery took %s", el)
	}
}

// blockingReceiver holds every request until release is closed (or the
// client goes away), after signalling arrived.
func blockingReceiver(t *testing.T) (rc *httptest.Server, arrived chan string, release chan struct{}) {
	arrived = make(chan string, 10)
	release = make(chan struct{})
	rc = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.Header.Get("X-Visage-Delivery")
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		rc.Close()
	})
	return rc, arrived, release
}

func TestShutdownAbandonsInFlight(t *testing.T) {
	st := openSQLite(t)
	rc, arrived, _ := blockingReceiver(t)
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	opts := fast(t)
	opts.Timeout = 10 * time.Second
	opts.ShutdownGrace = 200 * time.Millisecond
	stop := runWorker(t, webhook.NewWorker(st, secrets, opts))
	id := enqueue(t, st, in, "ping", nil)[0]
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("delivery never arrived")
	}
	took := stop()
	if took > 3*time.Second {
		t.Fatalf("shutdown took %s with a %s grace", took, opts.ShutdownGrace)
	}
	// The abandoned send is recorded and due again at once, for the next
	// worker, without waiting for its lease to expire.
	d := waitStatus(t, st, in.ID, id, store.DeliveryPending)
	atts := attempts(t, st, in.ID, id)
	if len(atts) != 1 || !strings.Contains(atts[0].Error, "abandoned at shutdown") || d.NextAttemptAt.After(time.Now()) {
		t.Fatalf("abandoned delivery: %+v, attempts %+v", d, atts)
	}
}

func TestShutdownFinishesInFlightWithinGrace(t *testing.T) {
	st := openSQLite(t)
	rc, arrived, release := blockingReceiver(t)
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	opts := fast(t)
	opts.ShutdownGrace = 5 * time.Second
	stop := runWorker(t, webhook.NewWorker(st, secrets, opts))
	id := enqueue(t, st, in, "ping", nil)[0]
	<-arrived
	stopped := make(chan time.Duration)
	go func() { stopped <- stop() }()
	time.Sleep(100 * time.Millisecond)
	close(release) // the receiver answers during the grace period
	if took := <-stopped; took > 3*time.Second {
		t.Fatalf("shutdown took %s", took)
	}
	waitStatus(t, st, in.ID, id, store.DeliveryDelivered)
}

// TestLeaseExpiryResends: a delivery claimed by a worker that then died
// (claimed here by hand and never recorded) is sent by another worker once
// the lease expires, with the same delivery id.
func TestLeaseExpiryResends(t *testing.T) {
	st := openSQLite(t)
	rc := newReceiver(t, ok)
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	id := enqueue(t, st, in, "ping", nil)[0]
	dead, err := st.ClaimWebhooks(context.Background(), store.WebhookClaim{Lease: 500 * time.Millisecond, Limit: 10})
	if err != nil || len(dead) != 1 {
		t.Fatalf("claim: %v %v", dead, err)
	}
	start := time.Now()
	runWorker(t, webhook.NewWorker(st, secrets, fast(t)))
	d := waitStatus(t, st, in.ID, id, store.DeliveryDelivered)
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("resent after %s, before the lease expired", el)
	}
	reqs := rc.requests()
	if len(reqs) != 1 || reqs[0].header.Get("X-Visage-Delivery") != id || reqs[0].header.Get("X-Visage-Attempt") != "2" ||
		d.TotalAttempts != 2 {
		t.Fatalf("resend: %d requests, row %+v", len(reqs), d)
	}
}

// TestManyWorkersSendOnce: workers sharing a store (several nodes) send
// every delivery exactly once between them.
func TestManyWorkersSendOnce(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var url string
			if backend == "sqlite" {
				url = "sqlite://" + filepath.Join(t.TempDir(), "visage.db")
			} else {
				url = testenv.FreshPostgres(t, testenv.PostgresAdmin(t))
			}
			var mu sync.Mutex
			seen := map[string]int{}
			var concurrent, peak int
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[r.Header.Get("X-Visage-Delivery")]++
				concurrent++
				peak = max(peak, concurrent)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				mu.Lock()
				concurrent--
				mu.Unlock()
			}))
			t.Cleanup(rc.Close)
			st := openStore(t, url)
			in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
			const n = 40
			var ids []string
			for range n {
				ids = append(ids, enqueue(t, st, in, "ping", nil)...)
			}
			for range 3 {
				// Each node has its own connection pool, as separate
				// processes would.
				runWorker(t, webhook.NewWorker(openStore(t, url), secrets, fast(t)))
			}
			for _, id := range ids {
				waitStatus(t, st, in.ID, id, store.DeliveryDelivered)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if seen[id] != 1 {
					t.Fatalf("delivery %s sent %d times", id, seen[id])
				}
			}
			if peak < 2 {
				t.Logf("note: peak concurrency %d", peak)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	base, limit := 10*time.Second, time.Hour
	for n := 1; n <= 40; n++ {
		want := limit
		if n <= 9 {
			want = min(base<<(n-1), limit)
		}
		for range 20 {
			d := webhook.Backoff(n, base, limit)
			lo, hi := time.Duration(float64(want)*0.8), min(time.Duration(float64(want)*1.2), limit)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: backoff %s outside [%s, %s]", n, d, lo, hi)
			}
		}
	}
}

// TestDiedDuringFinalAttempt: a worker that died during the last allowed
// attempt leaves a lease; the next worker marks the delivery failed
// without sending it an extra time.
func TestDiedDuringFinalAttempt(t *testing.T) {
	st := openSQLite(t)
	rc := newReceiver(t, ok)
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	id := enqueue(t, st, in, "ping", nil)[0]
	if _, err := st.ClaimWebhooks(context.Background(), store.WebhookClaim{Lease: 100 * time.Millisecond, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	opts := fast(t)
	opts.MaxAttempts = 1
	runWorker(t, webhook.NewWorker(st, secrets, opts))
	d := waitStatus(t, st, in.ID, id, store.DeliveryFailed)
	if len(rc.requests()) != 0 || !strings.Contains(d.LastError, "was the last") {
		t.Fatalf("sent %d times beyond the limit; row %+v", len(rc.requests()), d)
	}
}

func TestValidateURLs(t *testing.T) {
	g := loopbackOnly(t)
	got, err := webhook.ValidateURLs(g, map[string][]string{
		" ping ": {"https://a.example/h", " https://a.example/h "},
		"*":      {"https://b.example/h"},
		"empty":  {},
	})
	if err != nil || len(got) != 2 || len(got["ping"]) != 1 || got["*"][0] != "https://b.example/h" {
		t.Fatalf("ValidateURLs: %v %v", got, err)
	}
	many := make([]string, webhook.MaxURLsPerEvent+1)
	for i := range many {
		many[i] = fmt.Sprintf("https://h%d.example/", i)
	}
	for _, bad := range []map[string][]string{
		{"*": many},
		{"pi ng": {"https://a.example/"}},
		{"9ping": {"https://a.example/"}},
		{"": {"https://a.example/"}},
		{"ping": {"http://10.0.0.1/"}},
	} {
		if _, err := webhook.ValidateURLs(g, bad); err == nil {
			t.Errorf("ValidateURLs accepted %v", bad)
		}
	}
	dest := webhook.Destinations(map[string][]string{"e": {"u1", "u2"}, "*": {"u2", "u3"}}, "e")
	if fmt.Sprint(dest) != "[u1 u2 u3]" {
		t.Fatalf("destinations %v", dest)
	}
}
