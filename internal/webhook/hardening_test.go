package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/webhook"
)

// genericSendRefusal is what a tenant reads about a destination refused
// when sending: no address, whatever the host resolved to.
const genericSendRefusal = "webhook destination refused by the SSRF guard: it points to a private or reserved address"

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	return strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
}

// TestGrantIsPerIntegration: the operator's ceiling allows loopback, and
// only the integration granted it reaches a real receiver on 127.0.0.1;
// the other is refused when configuring and when sending, even while the
// first one's connection to the receiver sits in the pool.
func TestGrantIsPerIntegration(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	rc := newReceiver(t, ok)
	svc := webhook.NewService(st, loopbackOnly(t), nil)
	a, b := newUngranted(t, st, nil), newUngranted(t, st, nil)

	// The ceiling alone opens nothing.
	if _, err := svc.SetURLs(ctx, a.ID, map[string][]string{"*": {rc.URL + "/a"}}); !fault.Is(err, fault.BadRequest) ||
		strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "private or reserved") {
		t.Fatalf("URL of an ungranted integration: %v", err)
	}
	g, err := svc.GrantPrefix(ctx, a.ID, "127.0.0.0/8", "the audit service")
	if err != nil || g.Prefix != "127.0.0.0/8" || g.CreatedAt.IsZero() {
		t.Fatalf("grant: %+v %v", g, err)
	}
	if _, err := svc.GrantPrefix(ctx, a.ID, "10.0.0.0/8", ""); !fault.Is(err, fault.BadRequest) {
		t.Fatalf("grant outside the ceiling: %v", err)
	}
	if _, err := svc.GrantPrefix(ctx, "int_nope", "127.0.0.1", ""); !fault.Is(err, fault.NotFound) {
		t.Fatalf("grant to a missing integration: %v", err)
	}
	if gs, err := svc.Grants(ctx, a.ID); err != nil || len(gs) != 1 || gs[0].Note != "the audit service" {
		t.Fatalf("A's grants: %+v %v", gs, err)
	}
	if gs, err := svc.Grants(ctx, b.ID); err != nil || len(gs) != 0 {
		t.Fatalf("B's grants: %+v %v", gs, err)
	}
	if _, err := svc.SetURLs(ctx, a.ID, map[string][]string{"*": {rc.URL + "/a"}}); err != nil {
		t.Fatalf("A's URL inside its grant: %v", err)
	}
	if _, err := svc.SetURLs(ctx, b.ID, map[string][]string{"*": {rc.URL + "/b"}}); !fault.Is(err, fault.BadRequest) {
		t.Fatalf("B configures A's granted range: %v", err)
	}
	// B's URLs written past the service (as if validated under an older
	// policy): the sends are refused too, by address and by name.
	b.WebhookURLs = map[string][]string{"*": {rc.URL + "/b", "http://localhost:" + port(t, rc.Server) + "/b"}}
	if err := st.UpdateIntegration(ctx, b); err != nil {
		t.Fatal(err)
	}

	runWorker(t, webhook.NewWorker(st, secrets, fast(t)))
	ping := func(in *store.Integration) []string {
		t.Helper()
		ids, err := svc.Ping(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for round := range 2 {
		idA := ping(a)[0]
		waitStatus(t, st, a.ID, idA, store.DeliveryDelivered)
		if atts := attempts(t, st, a.ID, idA); !strings.Contains(atts[0].ResponseBody, "reply 200") {
			t.Fatalf("round %d: A's attempt %+v: the response of a granted target is recorded", round, atts[0])
		}
		for _, id := range ping(b) {
			d := waitStatus(t, st, b.ID, id, store.DeliveryFailed)
			if d.LastError != genericSendRefusal || d.LastStatus != 0 {
				t.Fatalf("round %d: B's delivery to %s: %+v", round, d.URL, d)
			}
		}
	}
	if n := len(rc.requests()); n != 2 {
		t.Fatalf("receiver got %d requests, want A's 2 only", n)
	}

	// Withdrawing the grant closes the range for A too.
	if err := svc.RevokePrefix(ctx, a.ID, "127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokePrefix(ctx, a.ID, "127.0.0.0/8"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	d := waitStatus(t, st, a.ID, ping(a)[0], store.DeliveryFailed)
	if d.LastError != genericSendRefusal {
		t.Fatalf("A after the revocation: %+v", d)
	}
}

// loopbackName is a host name other than localhost that /etc/hosts maps
// to a loopback address, or "localhost" when there is none.
func loopbackName(t *testing.T) string {
	f, err := os.Open("/etc/hosts")
	if err != nil {
		return "localhost"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "127.") {
			continue
		}
		for _, name := range fields[1:] {
			if name != "localhost" && !strings.HasSuffix(name, ".localhost") && !strings.Contains(name, "localhost") {
				return name
			}
		}
	}
	return "localhost"
}

// lockedBuffer is a log sink safe for the worker's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRefusedNameGivesGenericMessage: a host name resolving to 127.0.0.1
// is refused at send time with a message that does not say what it
// resolved to; the server log says.
func TestRefusedNameGivesGenericMessage(t *testing.T) {
	st := openSQLite(t)
	rc := newReceiver(t, ok)
	name := loopbackName(t)
	t.Logf("host name resolving to loopback: %s", name)
	strict, _ := webhook.NewGuard(false, "")
	var logs lockedBuffer
	opts := fast(t)
	opts.Guard = strict
	opts.Log = slog.New(slog.NewTextHandler(&logs, nil))
	in := newUngranted(t, st, map[string][]string{"*": {"http://" + name + ":" + port(t, rc.Server) + "/hook"}})
	runWorker(t, webhook.NewWorker(st, secrets, opts))
	id := enqueue(t, st, in, "ping", nil)[0]
	d := waitStatus(t, st, in.ID, id, store.DeliveryFailed)
	atts := attempts(t, st, in.ID, id)
	if d.LastError != genericSendRefusal || len(atts) != 1 || atts[0].Error != genericSendRefusal {
		t.Fatalf("refusal shown to the tenant: %q / %+v", d.LastError, atts)
	}
	if len(rc.requests()) != 0 {
		t.Fatal("the refused receiver got a request")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "127.0.0.1") {
		if time.Now().After(deadline) {
			t.Fatalf("the server log does not name the refused address:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Configuring it: the same generic answer.
	svc := webhook.NewService(st, strict, nil, webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for _, u := range []string{"http://localhost:8080/", "http://127.0.0.1/", "http://2130706433/"} {
		_, err := svc.SetURLs(context.Background(), in.ID, map[string][]string{"*": {u}})
		if !fault.Is(err, fault.BadRequest) || strings.Contains(err.Error(), "127.0.0.1") ||
			!strings.HasSuffix(err.Error(), "webhook URL is not allowed: it points to a private or reserved address") {
			t.Errorf("configuring %s: %v", u, err)
		}
	}
}

// TestResponseExcerpt: the delivery log keeps a short, cleaned excerpt of
// a granted target's response, and nothing of a target reachable only
// because the development switch lifts the guard.
func TestResponseExcerpt(t *testing.T) {
	st := openSQLite(t)
	body := "\x1b[31mred\x1b[0m\r\nline2\t\u202eevil\x00\x7f" + strings.Repeat("é", 300)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(rc.Close)

	opts := fast(t)
	opts.MaxAttempts = 1
	runWorker(t, webhook.NewWorker(st, secrets, opts))
	granted := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	id := enqueue(t, st, granted, "ping", nil)[0]
	waitStatus(t, st, granted.ID, id, store.DeliveryFailed)
	got := attempts(t, st, granted.ID, id)[0].ResponseBody
	// The first bytes of the body, cleaned: what was removed is not
	// made up from further on.
	if !strings.HasPrefix(got, "[31mred[0m  line2 evilé") || len(got) > store.MaxWebhookResponseExcerpt ||
		len(got) < store.MaxWebhookResponseExcerpt-10 || !utf8.ValidString(got) || strings.Trim(got[22:], "é") != "" ||
		strings.ContainsFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) {
		t.Fatalf("excerpt %q (%d bytes)", got, len(got))
	}

	// VISAGE_WEBHOOK_ALLOW_PRIVATE lets an ungranted integration reach the
	// receiver, but not read its answers.
	open, _ := webhook.NewGuard(true, "")
	st2 := openSQLite(t)
	opts.Guard = open
	runWorker(t, webhook.NewWorker(st2, secrets, opts))
	dev := newUngranted(t, st2, map[string][]string{"*": {rc.URL}})
	id = enqueue(t, st2, dev, "ping", nil)[0]
	d := waitStatus(t, st2, dev.ID, id, store.DeliveryFailed)
	if atts := attempts(t, st2, dev.ID, id); d.LastStatus != 500 || atts[0].ResponseBody != "" || atts[0].Error != "HTTP 500" {
		t.Fatalf("ungranted private target: %+v / %+v", d, atts)
	}
}

// TestDeliveryIDSigned: the v2 signature covers the delivery id, so a body
// replayed under another id fails; native bodies carry the id, vendor
// bodies stay exactly as their document defines them.
func TestDeliveryIDSigned(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	rc := newReceiver(t, ok)
	in := newIntegration(t, st, map[string][]string{"*": {rc.URL}})
	runWorker(t, webhook.NewWorker(st, secrets, fast(t)))
	native := enqueue(t, st, in, "ping", map[string]string{"event": "ping"})[0]
	vendorBody := `{"status": "images_stored", "result": {}}`
	var vendor string
	err := st.InTx(ctx, func(tx store.Tx) error {
		ids, err := webhook.EnqueueMessage(ctx, tx, in, webhook.Message{Event: "images_stored", Body: []byte(vendorBody)})
		if err == nil {
			vendor = ids[0]
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, st, in.ID, native, store.DeliveryDelivered)
	waitStatus(t, st, in.ID, vendor, store.DeliveryDelivered)
	for _, r := range rc.requests() {
		id, sig := r.header.Get("X-Visage-Delivery"), r.header.Get("X-Visage-Signature")
		if err := crypto.VerifyWebhookDelivery(secret, sig, id, r.body, time.Now(), 0); err != nil {
			t.Fatalf("%s: v2 signature: %v", id, err)
		}
		if err := crypto.VerifyWebhook(secret, sig, r.body, time.Now(), 0); err != nil {
			t.Fatalf("%s: v1 signature (existing receivers): %v", id, err)
		}
		// A replay of the same body under a fresh id, as a receiver that
		// dedupes on the id would otherwise process twice.
		if err := crypto.VerifyWebhookDelivery(secret, sig, store.NewID("whd_"), r.body, time.Now(), 0); !errors.Is(err, crypto.ErrSignatureMismatch) {
			t.Fatalf("%s: replay under a new id: %v, want ErrSignatureMismatch", id, err)
		}
		// ... nor by stripping the v2 entries.
		var v1Only []string
		for part := range strings.SplitSeq(sig, ",") {
			if !strings.HasPrefix(part, "v2=") {
				v1Only = append(v1Only, part)
			}
		}
		if err := crypto.VerifyWebhookDelivery(secret, strings.Join(v1Only, ","), id, r.body, time.Now(), 0); !errors.Is(err, crypto.ErrSignatureMalformed) {
			t.Fatalf("%s: header without v2: %v", id, err)
		}
		switch id {
		case native:
			if want := `{"deliveryId":"` + native + `","event":"ping"}`; string(r.body) != want {
				t.Fatalf("native body %s, want %s", r.body, want)
			}
		case vendor:
			if string(r.body) != vendorBody {
				t.Fatalf("vendor body %s, want it byte for byte: %s", r.body, vendorBody)
			}
		default:
			t.Fatalf("unexpected delivery %s", id)
		}
	}
	for _, body := range []string{`[1]`, `"x"`, `{"deliveryId": "mine"}`} {
		err := st.InTx(ctx, func(tx store.Tx) error {
			_, err := webhook.EnqueueMessage(ctx, tx, in, webhook.Message{Event: "ping", Body: []byte(body),
				DeliveryIDField: webhook.NativeDeliveryIDField})
			return err
		})
		if !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("native body %s: %v, want ErrInvalid", body, err)
		}
	}
}

// TestSecretRotation: after a rotation deliveries are signed with the new
// secret and, for the overlap window, the old one; then the old one alone
// fails. Overlap 0 retires every earlier secret at once.
func TestSecretRotation(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	kr, err := crypto.NewKeyring(crypto.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, crypto.SecretSize)})
	if err != nil {
		t.Fatal(err)
	}
	ad := func(id string) []byte { return []byte("test/" + id + "/webhook-secret") }
	seal := func(id string, s []byte) ([]byte, error) { return kr.Seal(s, ad(id)) }
	open := func(in *store.Integration) ([]byte, []byte, error) {
		s, err := kr.Open(in.SealedWebhookSecret, ad(in.ID))
		return nil, s, err
	}
	rc := newReceiver(t, ok)
	first := []byte("whsec_first")
	in := &store.Integration{ID: store.NewID("int_"), Name: "rotating", WebhookURLs: map[string][]string{"*": {rc.URL}},
		Policy: store.Policy{MaxAttempts: 3}}
	if in.SealedWebhookSecret, err = seal(in.ID, first); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	grant(t, st, in.ID, "127.0.0.0/8", "::1/128")
	svc := webhook.NewService(st, loopbackOnly(t), nil, webhook.WithSealer(seal))
	runWorker(t, webhook.NewWorker(st, webhook.StoreSecrets(st, open), fast(t)))

	send := func() received {
		t.Helper()
		ids, err := svc.Ping(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, st, in.ID, ids[0], store.DeliveryDelivered)
		for _, r := range rc.requests() {
			if r.header.Get("X-Visage-Delivery") == ids[0] {
				return r
			}
		}
		t.Fatalf("delivery %s not received", ids[0])
		return received{}
	}
	verifies := func(r received, secret []byte) bool {
		sig, id := r.header.Get("X-Visage-Signature"), r.header.Get("X-Visage-Delivery")
		v1 := crypto.VerifyWebhook(secret, sig, r.body, time.Now(), 0) == nil
		v2 := crypto.VerifyWebhookDelivery(secret, sig, id, r.body, time.Now(), 0) == nil
		if v1 != v2 {
			t.Fatalf("v1 and v2 disagree for one secret: %v, %v (%s)", v1, v2, sig)
		}
		return v1
	}
	entries := func(r received) int { return strings.Count(r.header.Get("X-Visage-Signature"), "=") - 1 }

	if r := send(); !verifies(r, first) || entries(r) != 2 {
		t.Fatalf("before rotation: %s", r.header.Get("X-Visage-Signature"))
	}
	rot, err := svc.RotateSecret(ctx, in.ID, 700*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	second := []byte(rot.Secret)
	if !strings.HasPrefix(rot.Secret, "whsec_") || len(rot.Secret) < 40 || rot.PreviousValidUntil == nil ||
		rot.PreviousValidUntil.Sub(rot.RotatedAt) != 700*time.Millisecond {
		t.Fatalf("rotation: %+v", rot)
	}
	r := send()
	if !verifies(r, second) || !verifies(r, first) || entries(r) != 4 {
		t.Fatalf("during the overlap: %s", r.header.Get("X-Visage-Signature"))
	}
	// The current secret's v1 comes first, in the header's old form.
	ts, _, _ := strings.Cut(strings.TrimPrefix(r.header.Get("X-Visage-Signature"), "t="), ",")
	n, _ := strconv.ParseInt(ts, 10, 64)
	if !strings.HasPrefix(r.header.Get("X-Visage-Signature"), crypto.SignWebhook(second, n, r.body)+",") {
		t.Fatalf("header %s does not start with the current secret's v1", r.header.Get("X-Visage-Signature"))
	}
	time.Sleep(time.Until(*rot.PreviousValidUntil) + 50*time.Millisecond)
	if r := send(); !verifies(r, second) || verifies(r, first) || entries(r) != 2 {
		t.Fatalf("after the overlap: %s", r.header.Get("X-Visage-Signature"))
	}

	rot3, err := svc.RotateSecret(ctx, in.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := send(); !verifies(r, []byte(rot3.Secret)) || !verifies(r, second) {
		t.Fatal("a one-hour overlap")
	}
	// A leak: retire everything now.
	rot4, err := svc.RotateSecret(ctx, in.ID, 0)
	if err != nil || rot4.PreviousValidUntil != nil {
		t.Fatalf("rotation without overlap: %+v %v", rot4, err)
	}
	if r := send(); !verifies(r, []byte(rot4.Secret)) || verifies(r, []byte(rot3.Secret)) || verifies(r, second) || entries(r) != 2 {
		t.Fatalf("after a rotation without overlap: %s", r.header.Get("X-Visage-Signature"))
	}

	for _, bad := range []time.Duration{-time.Second, webhook.MaxSecretOverlap + time.Second} {
		if _, err := svc.RotateSecret(ctx, in.ID, bad); !fault.Is(err, fault.BadRequest) {
			t.Errorf("overlap %s: %v", bad, err)
		}
	}
	if _, err := svc.RotateSecret(ctx, "int_nope", time.Hour); !fault.Is(err, fault.NotFound) {
		t.Errorf("missing integration: %v", err)
	}
	if _, err := webhook.NewService(st, nil, nil).RotateSecret(ctx, in.ID, time.Hour); !fault.Is(err, fault.Unavailable) {
		t.Errorf("without a sealer: %v", err)
	}
}

func TestExcerptFunc(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"ok", 10, "ok"},
		{"a\x00b\x1bc\u0085d", 10, "abcd"},
		{"a\r\nb", 10, "a  b"},
		{"\xff\xfe", 10, "\uFFFD\uFFFD"},
		{"ééé", 5, "éé"},
		{"é\xc3", 10, "é"}, // cut by the read limit
		{"\u2066x\u2069", 10, "x"},
	} {
		if got := webhook.Excerpt([]byte(c.in), c.limit); got != c.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}
