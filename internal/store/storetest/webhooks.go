package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// testWebhooks runs the outbox cases. Claims are cross-tenant in
// production; here every claim is limited to the case's own integration
// (WebhookClaim.IntegrationID) so the cases can run in parallel without
// taking each other's rows.
func testWebhooks(t *testing.T, s store.Store) {
	t.Run("cases", func(t *testing.T) {
		for _, c := range []struct {
			name string
			fn   func(*testing.T, store.Store)
		}{
			{"enqueue", testWebhookEnqueue},
			{"enqueue-rollback", testWebhookRollback},
			{"claim-lease", testWebhookClaimLease},
			{"claim-concurrent", testWebhookClaimConcurrent},
			{"retry-and-finish", testWebhookOutcomes},
			{"redeliver", testWebhookRedeliver},
			{"isolation", testWebhookIsolation},
			{"list", testWebhookList},
			{"grants", testWebhookGrants},
			{"secret-rotation", testWebhookSecretRotation},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.fn(t, s)
			})
		}
	})
	// Pruning is global, so it runs after the cases above have finished
	// (no other case of the suite creates deliveries).
	t.Run("prune", func(t *testing.T) { testWebhookPrune(t, s) })
}

func newDelivery(t *testing.T, s store.Data, integrationID, event string, due time.Time) *store.WebhookDelivery {
	t.Helper()
	d := &store.WebhookDelivery{
		IntegrationID: integrationID, Event: event, URL: "https://example.com/hook/" + unique("u"),
		Payload: json.RawMessage(fmt.Sprintf(`{"event": %q, "n": %d}`, event, seq.Add(1))), NextAttemptAt: due,
	}
	noErr(t, "enqueue", s.EnqueueWebhook(ctx(t), d))
	return d
}

func claim(t *testing.T, s store.Data, integrationID string, at time.Time, lease time.Duration, limit int) []store.WebhookDelivery {
	t.Helper()
	got, err := s.ClaimWebhooks(ctx(t), store.WebhookClaim{Now: at, Lease: lease, Limit: limit, IntegrationID: integrationID})
	noErr(t, "claim", err)
	return got
}

func ids(ds []store.WebhookDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func attempt(d store.WebhookDelivery, status int, errText string) *store.WebhookAttempt {
	return &store.WebhookAttempt{
		IntegrationID: d.IntegrationID, DeliveryID: d.ID, Number: d.TotalAttempts,
		RequestHeaders: map[string]string{"X-Visage-Delivery": d.ID},
		RequestBody:    string(d.Payload), ResponseStatus: status, LatencyMS: 12, Error: errText,
	}
}

func testWebhookEnqueue(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	// Key order and spacing are kept byte for byte: the body is signed.
	payload := json.RawMessage(`{"z": 1,  "a": {"é": "\u00e9"}}`)
	d := &store.WebhookDelivery{IntegrationID: in.ID, Event: "images_stored", URL: "https://example.com/h", Payload: payload, UserAgent: "Vendor/2.0"}
	noErr(t, "enqueue", s.EnqueueWebhook(ctx(t), d))
	// Other cases share the database, so only a lower bound holds.
	if counts, err := s.CountWebhooks(ctx(t)); err != nil || counts[store.DeliveryPending] < 1 {
		t.Fatalf("pending count %v (%v)", counts, err)
	}
	if !strings.HasPrefix(d.ID, "whd_") || d.Status != store.DeliveryPending || d.CreatedAt.IsZero() ||
		!d.NextAttemptAt.Equal(d.CreatedAt) {
		t.Fatalf("enqueue did not fill id, status and times: %+v", d)
	}
	got, err := s.GetWebhookDelivery(ctx(t), in.ID, d.ID)
	noErr(t, "get", err)
	if string(got.Payload) != string(payload) {
		t.Fatalf("payload changed: %s, want %s", got.Payload, payload)
	}
	equal(t, "get", got, d)

	for _, bad := range []*store.WebhookDelivery{
		{IntegrationID: in.ID, Event: "e", URL: "https://x", Payload: json.RawMessage(`{`)},
		{IntegrationID: in.ID, Event: "e", URL: "https://x"},
		{IntegrationID: in.ID, URL: "https://x", Payload: json.RawMessage(`{}`)},
	} {
		wantErr(t, "invalid delivery", s.EnqueueWebhook(ctx(t), bad), store.ErrInvalid)
	}
	orphan := &store.WebhookDelivery{IntegrationID: "int_missing", Event: "e", URL: "https://x", Payload: json.RawMessage(`{}`)}
	wantErr(t, "unknown integration", s.EnqueueWebhook(ctx(t), orphan), store.ErrNotFound)
	dup := &store.WebhookDelivery{ID: d.ID, IntegrationID: in.ID, Event: "e", URL: "https://x", Payload: json.RawMessage(`{}`)}
	wantErr(t, "duplicate id", s.EnqueueWebhook(ctx(t), dup), store.ErrConflict)
	_, err = s.GetWebhookDelivery(ctx(t), in.ID, "whd_missing")
	wantErr(t, "get missing", err, store.ErrNotFound)
}

// testWebhookRollback: an event enqueued in a transaction that rolls back
// leaves nothing to send, so no webhook reports a change that never
// happened.
func testWebhookRollback(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	var d *store.WebhookDelivery
	err := s.InTx(ctx(t), func(tx store.Tx) error {
		d = newDelivery(t, tx, in.ID, "rolled_back", time.Time{})
		if _, err := tx.GetWebhookDelivery(ctx(t), in.ID, d.ID); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return errBoom
	})
	wantErr(t, "InTx error", err, errBoom)
	_, err = s.GetWebhookDelivery(ctx(t), in.ID, d.ID)
	wantErr(t, "rolled-back delivery", err, store.ErrNotFound)
	if got := claim(t, s, in.ID, time.Now().Add(time.Hour), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed rolled-back deliveries: %v", ids(got))
	}
	page, err := s.ListWebhookDeliveries(ctx(t), in.ID, "", "", 0)
	noErr(t, "list", err)
	if len(page.Deliveries) != 0 {
		t.Fatalf("rolled-back deliveries listed: %v", ids(page.Deliveries))
	}

	// The same in a committed transaction is there.
	noErr(t, "commit", s.InTx(ctx(t), func(tx store.Tx) error {
		d = newDelivery(t, tx, in.ID, "committed", time.Time{})
		return nil
	}))
	_, err = s.GetWebhookDelivery(ctx(t), in.ID, d.ID)
	noErr(t, "committed delivery", err)
}

func testWebhookClaimLease(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	t0 := time.Now().UTC()
	a := newDelivery(t, s, in.ID, "a", t0.Add(-time.Second))
	b := newDelivery(t, s, in.ID, "b", t0)
	newDelivery(t, s, in.ID, "later", t0.Add(time.Hour)) // not due: never claimed below

	const lease = time.Minute
	got := claim(t, s, in.ID, t0, lease, 10)
	if fmt.Sprint(ids(got)) != fmt.Sprint([]string{a.ID, b.ID}) {
		t.Fatalf("claimed %v, want the two due deliveries oldest first [%s %s]", ids(got), a.ID, b.ID)
	}
	for _, d := range got {
		if d.Status != store.DeliveryDelivering || d.Attempts != 1 || d.TotalAttempts != 1 ||
			d.LeaseToken == "" || d.LockedUntil == nil || !d.LockedUntil.Equal(t0.Add(lease).Truncate(time.Microsecond)) {
			t.Fatalf("claimed row not leased: %+v", d)
		}
	}
	// Leased rows are not due again while the lease holds...
	if again := claim(t, s, in.ID, t0.Add(lease-time.Second), lease, 10); len(again) != 0 {
		t.Fatalf("claimed leased rows again: %v", ids(again))
	}
	// ...and are once it expires (the worker died mid-send): same ids,
	// another attempt, a new lease token.
	again := claim(t, s, in.ID, t0.Add(lease+time.Second), lease, 1)
	if len(again) != 1 || again[0].ID != a.ID || again[0].Attempts != 2 || again[0].LeaseToken == got[0].LeaseToken {
		t.Fatalf("after lease expiry claimed %+v, want %s at attempt 2 with a new lease", again, a.ID)
	}
	// The first worker comes back late: its attempt is logged, but it no
	// longer owns the delivery.
	err := s.RecordWebhookAttempt(ctx(t), got[0].LeaseToken, attempt(got[0], 0, "timeout"),
		store.WebhookOutcome{Status: store.DeliveryDelivered})
	wantErr(t, "record with a lost lease", err, store.ErrConflict)
	cur, err := s.GetWebhookDelivery(ctx(t), in.ID, a.ID)
	noErr(t, "get", err)
	if cur.Status != store.DeliveryDelivering {
		t.Fatalf("stale lease changed the delivery: %+v", cur)
	}
	atts, err := s.ListWebhookAttempts(ctx(t), in.ID, a.ID)
	noErr(t, "attempts", err)
	if len(atts) != 1 || atts[0].Error != "timeout" {
		t.Fatalf("stale attempt not logged: %+v", atts)
	}
	// The current holder records normally.
	noErr(t, "record", s.RecordWebhookAttempt(ctx(t), again[0].LeaseToken, attempt(again[0], 200, ""),
		store.WebhookOutcome{Status: store.DeliveryDelivered}))

	if _, err := s.ClaimWebhooks(ctx(t), store.WebhookClaim{IntegrationID: in.ID}); err == nil {
		t.Fatal("claim without a lease succeeded")
	}
}

// testWebhookClaimConcurrent: claimers racing over the same due rows (as
// several server nodes do) each get different rows, and all rows are
// handed out.
func testWebhookClaimConcurrent(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	const n, claimers = 60, 8
	want := map[string]bool{}
	for range n {
		want[newDelivery(t, s, in.ID, "race", time.Time{}).ID] = true
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	at := time.Now().Add(time.Second)
	for range claimers {
		wg.Go(func() {
			for {
				got, err := s.ClaimWebhooks(ctx(t), store.WebhookClaim{Now: at, Lease: time.Hour, Limit: 3, IntegrationID: in.ID})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent claim: %v", err)
	}
	if len(seen) != n {
		t.Fatalf("claimed %d distinct rows, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 || !want[id] {
			t.Fatalf("row %s claimed %d times (ours: %v)", id, c, want[id])
		}
	}
}

func testWebhookOutcomes(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	d := newDelivery(t, s, in.ID, "outcomes", time.Time{})
	t0 := time.Now().Add(time.Second)

	// Attempt 1 fails with a 500: retry in a minute.
	c := claim(t, s, in.ID, t0, time.Minute, 1)
	retryAt := t0.Add(time.Minute)
	a1 := attempt(c[0], 500, "HTTP 500")
	a1.ResponseBody = strings.Repeat("x", 5000) + "\x00\xff" // long, NUL, invalid UTF-8
	noErr(t, "record retry", s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, a1,
		store.WebhookOutcome{Status: store.DeliveryPending, RetryAt: retryAt}))
	got, err := s.GetWebhookDelivery(ctx(t), in.ID, d.ID)
	noErr(t, "get", err)
	if got.Status != store.DeliveryPending || got.Attempts != 1 || got.LastStatus != 500 || got.LastError != "HTTP 500" ||
		got.LockedUntil != nil || !got.NextAttemptAt.Equal(retryAt.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("after retry: %+v", got)
	}
	if early := claim(t, s, in.ID, retryAt.Add(-time.Second), time.Minute, 1); len(early) != 0 {
		t.Fatal("claimed before the retry time")
	}

	// Attempt 2 succeeds.
	c = claim(t, s, in.ID, retryAt, time.Minute, 1)
	if len(c) != 1 || c[0].Attempts != 2 {
		t.Fatalf("retry claim: %+v", c)
	}
	noErr(t, "record delivered", s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, attempt(c[0], 204, ""),
		store.WebhookOutcome{Status: store.DeliveryDelivered}))
	got, err = s.GetWebhookDelivery(ctx(t), in.ID, d.ID)
	noErr(t, "get", err)
	if got.Status != store.DeliveryDelivered || got.DeliveredAt == nil || got.LastStatus != 204 || got.LastError != "" {
		t.Fatalf("after delivery: %+v", got)
	}
	if more := claim(t, s, in.ID, t0.Add(24*time.Hour), time.Minute, 10); len(more) != 0 {
		t.Fatalf("claimed a delivered row: %v", ids(more))
	}
	atts, err := s.ListWebhookAttempts(ctx(t), in.ID, d.ID)
	noErr(t, "attempts", err)
	if len(atts) != 2 || atts[0].Number != 1 || atts[1].Number != 2 || atts[0].ResponseStatus != 500 ||
		atts[1].ResponseStatus != 204 || atts[0].RequestHeaders["X-Visage-Delivery"] != d.ID ||
		atts[0].RequestBody != string(d.Payload) || atts[0].LatencyMS != 12 || !strings.HasPrefix(atts[0].ID, "wha_") {
		t.Fatalf("attempts log: %+v", atts)
	}
	if n := len(atts[0].ResponseBody); n > store.MaxWebhookResponseExcerpt || n < store.MaxWebhookResponseExcerpt-4 {
		t.Fatalf("response excerpt is %d bytes, want about %d", n, store.MaxWebhookResponseExcerpt)
	}

	// Another delivery gives up: failed, never claimed again.
	f := newDelivery(t, s, in.ID, "gives_up", time.Time{})
	c = claim(t, s, in.ID, t0, time.Minute, 1)
	if len(c) != 1 || c[0].ID != f.ID {
		t.Fatalf("claim: %+v", c)
	}
	noErr(t, "record failed", s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, attempt(c[0], 0, "connection refused"),
		store.WebhookOutcome{Status: store.DeliveryFailed}))
	got, err = s.GetWebhookDelivery(ctx(t), in.ID, f.ID)
	noErr(t, "get", err)
	if got.Status != store.DeliveryFailed || got.LastError != "connection refused" {
		t.Fatalf("after giving up: %+v", got)
	}
	if more := claim(t, s, in.ID, t0.Add(24*time.Hour), time.Minute, 10); len(more) != 0 {
		t.Fatalf("claimed a failed row: %v", ids(more))
	}
	err = s.RecordWebhookAttempt(ctx(t), "lse_x", attempt(c[0], 0, ""), store.WebhookOutcome{Status: "bogus"})
	wantErr(t, "unknown outcome", err, store.ErrInvalid)
}

func testWebhookRedeliver(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	d := newDelivery(t, s, in.ID, "redeliver", time.Time{})
	t0 := time.Now()
	c := claim(t, s, in.ID, t0, time.Hour, 1)

	// While a worker holds the lease, a redelivery would send concurrently.
	_, err := s.RedeliverWebhook(ctx(t), in.ID, d.ID)
	wantErr(t, "redeliver in flight", err, store.ErrConflict)

	noErr(t, "record failed", s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, attempt(c[0], 410, "HTTP 410"),
		store.WebhookOutcome{Status: store.DeliveryFailed}))
	got, err := s.RedeliverWebhook(ctx(t), in.ID, d.ID)
	noErr(t, "redeliver", err)
	if got.ID != d.ID || got.Status != store.DeliveryPending || got.Attempts != 0 || got.TotalAttempts != 1 ||
		got.LockedUntil != nil || got.DeliveredAt != nil || got.NextAttemptAt.After(time.Now()) {
		t.Fatalf("after redeliver: %+v", got)
	}
	c = claim(t, s, in.ID, time.Now(), time.Minute, 1)
	if len(c) != 1 || c[0].ID != d.ID || c[0].Attempts != 1 || c[0].TotalAttempts != 2 {
		t.Fatalf("claim after redeliver: %+v", c)
	}
	noErr(t, "record delivered", s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, attempt(c[0], 200, ""),
		store.WebhookOutcome{Status: store.DeliveryDelivered}))
	// A delivered one can be sent again too (the receiver lost it).
	got, err = s.RedeliverWebhook(ctx(t), in.ID, d.ID)
	noErr(t, "redeliver delivered", err)
	if got.Status != store.DeliveryPending || got.DeliveredAt != nil {
		t.Fatalf("after redelivering a delivered row: %+v", got)
	}
	// An expired lease (dead worker) does not block a redelivery.
	c = claim(t, s, in.ID, time.Now(), time.Millisecond, 1)
	if len(c) != 1 {
		t.Fatalf("claim: %+v", c)
	}
	time.Sleep(5 * time.Millisecond)
	_, err = s.RedeliverWebhook(ctx(t), in.ID, d.ID)
	noErr(t, "redeliver after an expired lease", err)
	_, err = s.RedeliverWebhook(ctx(t), in.ID, "whd_missing")
	wantErr(t, "redeliver missing", err, store.ErrNotFound)
}

func testWebhookIsolation(t *testing.T, s store.Store) {
	a, b := newIntegration(t, s), newIntegration(t, s)
	d := newDelivery(t, s, a.ID, "mine", time.Time{})
	_, err := s.GetWebhookDelivery(ctx(t), b.ID, d.ID)
	wantErr(t, "get other's", err, store.ErrNotFound)
	_, err = s.RedeliverWebhook(ctx(t), b.ID, d.ID)
	wantErr(t, "redeliver other's", err, store.ErrNotFound)
	page, err := s.ListWebhookDeliveries(ctx(t), b.ID, "", "", 0)
	noErr(t, "list other", err)
	if len(page.Deliveries) != 0 {
		t.Fatalf("b lists a's deliveries: %v", ids(page.Deliveries))
	}
	if got := claim(t, s, b.ID, time.Now().Add(time.Minute), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claim limited to b took %v", ids(got))
	}

	c := claim(t, s, a.ID, time.Now().Add(time.Second), time.Minute, 1)
	// An attempt filed under another integration cannot point at a's row.
	forged := attempt(c[0], 200, "")
	forged.IntegrationID = b.ID
	err = s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, forged, store.WebhookOutcome{Status: store.DeliveryDelivered})
	wantErr(t, "attempt across integrations", err, store.ErrNotFound)
	noErr(t, "record", s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, attempt(c[0], 200, ""),
		store.WebhookOutcome{Status: store.DeliveryDelivered}))
	atts, err := s.ListWebhookAttempts(ctx(t), b.ID, d.ID)
	noErr(t, "attempts as b", err)
	if len(atts) != 0 {
		t.Fatalf("b sees a's attempts: %+v", atts)
	}

	// Deleting the integration takes its outbox with it.
	_, err = s.DeleteIntegration(ctx(t), a.ID)
	noErr(t, "delete integration", err)
	_, err = s.GetWebhookDelivery(ctx(t), a.ID, d.ID)
	wantErr(t, "delivery of a deleted integration", err, store.ErrNotFound)
	atts, err = s.ListWebhookAttempts(ctx(t), a.ID, d.ID)
	noErr(t, "attempts of a deleted integration", err)
	if len(atts) != 0 {
		t.Fatalf("attempts survive their integration: %+v", atts)
	}
}

func testWebhookList(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	var all []string
	for i := range 7 {
		d := newDelivery(t, s, in.ID, fmt.Sprintf("e%d", i), time.Now().Add(time.Hour))
		all = append([]string{d.ID}, all...) // newest first
		time.Sleep(time.Millisecond)         // distinct created_at on every platform
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := s.ListWebhookDeliveries(ctx(t), in.ID, "", cursor, 3)
		noErr(t, "list", err)
		if len(p.Deliveries) > 3 || pages > 3 {
			t.Fatalf("page of %d after %d pages", len(p.Deliveries), pages)
		}
		got = append(got, ids(p.Deliveries)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(all) {
		t.Fatalf("pages %v, want newest first %v", got, all)
	}

	// Status filter: make the newest one delivering.
	c, err := s.ClaimWebhooks(ctx(t), store.WebhookClaim{Now: time.Now().Add(2 * time.Hour), Lease: time.Hour, Limit: 1, IntegrationID: in.ID})
	noErr(t, "claim", err)
	p, err := s.ListWebhookDeliveries(ctx(t), in.ID, store.DeliveryDelivering, "", 0)
	noErr(t, "list delivering", err)
	if len(p.Deliveries) != 1 || p.Deliveries[0].ID != c[0].ID || p.Next != "" {
		t.Fatalf("delivering: %v, want [%s]", ids(p.Deliveries), c[0].ID)
	}
	p, err = s.ListWebhookDeliveries(ctx(t), in.ID, store.DeliveryPending, "", 0)
	noErr(t, "list pending", err)
	if len(p.Deliveries) != 6 {
		t.Fatalf("pending: %d deliveries, want 6", len(p.Deliveries))
	}
	_, err = s.ListWebhookDeliveries(ctx(t), in.ID, "bogus", "", 0)
	wantErr(t, "unknown status", err, store.ErrInvalid)
	_, err = s.ListWebhookDeliveries(ctx(t), in.ID, "", "not-a-cursor!", 0)
	wantErr(t, "bad cursor", err, store.ErrInvalid)
}

func testWebhookPrune(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	done := newDelivery(t, s, in.ID, "done", time.Time{})
	open := newDelivery(t, s, in.ID, "open", time.Now().Add(time.Hour))
	c := claim(t, s, in.ID, time.Now().Add(time.Second), time.Minute, 10)
	if len(c) != 1 || c[0].ID != done.ID {
		t.Fatalf("claim: %+v", c)
	}
	noErr(t, "record", s.RecordWebhookAttempt(ctx(t), c[0].LeaseToken, attempt(c[0], 200, ""),
		store.WebhookOutcome{Status: store.DeliveryDelivered}))

	n, err := s.PruneWebhooks(ctx(t), time.Now().Add(-time.Hour))
	noErr(t, "prune nothing old", err)
	if _, err := s.GetWebhookDelivery(ctx(t), in.ID, done.ID); err != nil {
		t.Fatalf("pruned a recent delivery (%d rows): %v", n, err)
	}
	n, err = s.PruneWebhooks(ctx(t), time.Now().Add(time.Second))
	noErr(t, "prune", err)
	if n < 1 {
		t.Fatalf("pruned %d rows, want at least 1", n)
	}
	_, err = s.GetWebhookDelivery(ctx(t), in.ID, done.ID)
	wantErr(t, "pruned delivery", err, store.ErrNotFound)
	_, err = s.GetWebhookDelivery(ctx(t), in.ID, open.ID)
	noErr(t, "pending delivery survives pruning", err)
}

func testWebhookGrants(t *testing.T, s store.Store) {
	in, other := newIntegration(t, s), newIntegration(t, s)
	g := &store.WebhookGrant{IntegrationID: in.ID, Prefix: "10.20.0.0/16", Note: "audit\x00 service"}
	noErr(t, "grant", s.PutWebhookGrant(ctx(t), g))
	first := g.CreatedAt
	if first.IsZero() || g.Note != "audit\uFFFD service" {
		t.Fatalf("grant: %+v", g)
	}
	// Granting again updates the note and keeps the first time.
	again := &store.WebhookGrant{IntegrationID: in.ID, Prefix: "10.20.0.0/16", Note: "audit", CreatedAt: first.Add(time.Hour)}
	noErr(t, "grant again", s.PutWebhookGrant(ctx(t), again))
	if !again.CreatedAt.Equal(first) {
		t.Fatalf("re-grant moved the time: %v, want %v", again.CreatedAt, first)
	}
	noErr(t, "grant v6", s.PutWebhookGrant(ctx(t), &store.WebhookGrant{IntegrationID: in.ID, Prefix: "fd00:1::/64"}))
	noErr(t, "grant loopback", s.PutWebhookGrant(ctx(t), &store.WebhookGrant{IntegrationID: in.ID, Prefix: "127.0.0.1/32"}))
	for _, bad := range []string{"10.20.0.1/16", "10.20.0.0", "::ffff:10.0.0.0/104", "nonsense", ""} {
		wantErr(t, "grant "+bad, s.PutWebhookGrant(ctx(t), &store.WebhookGrant{IntegrationID: in.ID, Prefix: bad}), store.ErrInvalid)
	}
	wantErr(t, "grant to a missing integration",
		s.PutWebhookGrant(ctx(t), &store.WebhookGrant{IntegrationID: "int_missing", Prefix: "10.0.0.0/8"}), store.ErrNotFound)

	got, err := s.ListWebhookGrants(ctx(t), in.ID)
	noErr(t, "list", err)
	var prefixes []string
	for _, g := range got {
		prefixes = append(prefixes, g.Prefix)
	}
	if fmt.Sprint(prefixes) != "[10.20.0.0/16 127.0.0.1/32 fd00:1::/64]" || got[0].Note != "audit" || !got[0].CreatedAt.Equal(first) {
		t.Fatalf("grants: %+v", got)
	}
	if others, err := s.ListWebhookGrants(ctx(t), other.ID); err != nil || len(others) != 0 {
		t.Fatalf("another integration's grants: %+v %v", others, err)
	}
	wantErr(t, "withdraw another's grant", s.DeleteWebhookGrant(ctx(t), other.ID, "10.20.0.0/16"), store.ErrNotFound)
	noErr(t, "withdraw", s.DeleteWebhookGrant(ctx(t), in.ID, "10.20.0.0/16"))
	wantErr(t, "withdraw twice", s.DeleteWebhookGrant(ctx(t), in.ID, "10.20.0.0/16"), store.ErrNotFound)

	// Grants go with their integration.
	_, err = s.DeleteIntegration(ctx(t), in.ID)
	noErr(t, "delete integration", err)
	if left, err := s.ListWebhookGrants(ctx(t), in.ID); err != nil || len(left) != 0 {
		t.Fatalf("grants after the integration was deleted: %+v %v", left, err)
	}
}

func testWebhookSecretRotation(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	t0 := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	rotate := func(cur, next string, at time.Time, keep time.Duration) error {
		r := store.WebhookSecretRotation{IntegrationID: in.ID, Next: []byte(next), At: at}
		if cur != "" {
			r.Current = []byte(cur)
		}
		if keep > 0 {
			r.KeepUntil = at.Add(keep)
		}
		return s.RotateWebhookSecret(ctx(t), r)
	}
	current := func() string {
		got, err := s.GetIntegration(ctx(t), in.ID)
		noErr(t, "get", err)
		return string(got.SealedWebhookSecret)
	}
	retired := func(at time.Time) string {
		rs, err := s.ListRetiredWebhookSecrets(ctx(t), in.ID, at)
		noErr(t, "list retired", err)
		var out []string
		for _, r := range rs {
			if r.IntegrationID != in.ID || !strings.HasPrefix(r.ID, "whs_") || !r.ExpiresAt.After(r.RetiredAt) {
				t.Fatalf("retired secret: %+v", r)
			}
			out = append(out, string(r.Sealed))
		}
		return strings.Join(out, ",")
	}

	// An integration without a secret gets one; nothing is retired.
	noErr(t, "first secret", rotate("", "s1", t0, time.Hour))
	if current() != "s1" || retired(t0) != "" {
		t.Fatalf("after the first secret: %q, retired %q", current(), retired(t0))
	}
	noErr(t, "rotate", rotate("s1", "s2", t0, time.Hour))
	if current() != "s2" || retired(t0) != "s1" || retired(t0.Add(time.Hour)) != "" {
		t.Fatalf("after a rotation: %q, retired %q / %q", current(), retired(t0), retired(t0.Add(time.Hour)))
	}
	// A stale caller loses; a missing integration is not found.
	wantErr(t, "stale rotation", rotate("s1", "x", t0, time.Hour), store.ErrConflict)
	wantErr(t, "missing integration", s.RotateWebhookSecret(ctx(t),
		store.WebhookSecretRotation{IntegrationID: "int_missing", Current: []byte("a"), Next: []byte("b")}), store.ErrNotFound)
	wantErr(t, "no new secret", s.RotateWebhookSecret(ctx(t),
		store.WebhookSecretRotation{IntegrationID: in.ID, Current: []byte("s2")}), store.ErrInvalid)
	if current() != "s2" {
		t.Fatalf("a refused rotation changed the secret to %q", current())
	}
	// Rotating again within the window keeps the newest two retired ones.
	noErr(t, "rotate 3", rotate("s2", "s3", t0.Add(time.Minute), 2*time.Hour))
	noErr(t, "rotate 4", rotate("s3", "s4", t0.Add(2*time.Minute), 3*time.Hour))
	if got := retired(t0.Add(2 * time.Minute)); got != "s3,s2" || store.MaxRetiredWebhookSecrets != 2 {
		t.Fatalf("retired after three rotations: %q, want newest first, two at most", got)
	}
	if got := retired(t0.Add(time.Minute + 2*time.Hour + time.Second)); got != "s3" {
		t.Fatalf("retired once s2 expired: %q", got)
	}
	// No overlap: every retired secret goes at once.
	noErr(t, "rotate without overlap", rotate("s4", "s5", t0.Add(3*time.Minute), 0))
	if current() != "s5" || retired(t0.Add(3*time.Minute)) != "" {
		t.Fatalf("after a rotation without overlap: %q, retired %q", current(), retired(t0.Add(3*time.Minute)))
	}
	// Expired ones are pruned.
	noErr(t, "rotate 6", rotate("s5", "s6", t0.Add(4*time.Minute), time.Hour))
	n, err := s.PruneRetiredWebhookSecrets(ctx(t), t0.Add(4*time.Minute+time.Hour))
	noErr(t, "prune", err)
	if n < 1 || retired(t0) != "" {
		t.Fatalf("pruned %d, left %q", n, retired(t0))
	}
	if !bytes.Equal([]byte(current()), []byte("s6")) {
		t.Fatalf("prune touched the current secret: %q", current())
	}
}
