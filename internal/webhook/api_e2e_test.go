package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
	"github.com/visagehq/visage/internal/webhook"
)

// TestAPIEndToEnd drives /v1/webhooks on a real `visage serve`: validation,
// ping, the delivery log with its attempts, redelivery, and isolation
// between integrations.
func TestAPIEndToEnd(t *testing.T) {
	bin, addr, dataDir, env := testenv.ServeEnv(t, "VISAGE_RATE_LIMIT=0",
		// Loopback only, as an operator would allow one internal range:
		// private and link-local addresses stay refused, and loopback is
		// reachable only by the integration granted it below.
		"VISAGE_WEBHOOK_ALLOW_PRIVATE=false", "VISAGE_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8",
		"VISAGE_WEBHOOK_POLL=0.1", "VISAGE_WEBHOOK_TIMEOUT=2")

	var mu sync.Mutex
	var got []string // delivery ids in arrival order
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("X-Visage-Delivery"))
		n := len(got)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "first one fails")
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(receiver.Close)

	testenv.StartServe(t, bin, env)
	a, b := testenv.CreateIntegration(t, bin, env, "a"), testenv.CreateIntegration(t, bin, env, "b")
	keyA, keyB := a.APIKey.Token, b.APIKey.Token
	// The operator grants A the receiver's range (what `visage webhooks
	// grant` does), through the server's database.
	st := openStore(t, "sqlite://"+filepath.Join(dataDir, "visage.db"))
	if _, err := webhook.NewService(st, nil, nil).GrantPrefix(t.Context(), a.Integration.ID, "127.0.0.0/8", ""); err == nil {
		t.Fatal("a grant outside the (nil guard's empty) ceiling was accepted")
	}
	ceiling, _ := webhook.NewGuard(false, "127.0.0.0/8")
	if _, err := webhook.NewService(st, ceiling, nil).GrantPrefix(t.Context(), a.Integration.ID, "127.0.0.0/8", "e2e receiver"); err != nil {
		t.Fatal(err)
	}

	type reply struct {
		code int
		body map[string]any
		raw  string
	}
	call := func(key, method, path, body string) reply {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return reply{res.StatusCode, m, string(b)}
	}
	errCode := func(r reply) string {
		e, _ := r.body["error"].(map[string]any)
		c, _ := e["code"].(string)
		return c
	}

	if r := call("", "GET", "/v1/webhooks", ""); r.code != 401 {
		t.Fatalf("unauthenticated: %d %s", r.code, r.raw)
	}
	if r := call(keyA, "GET", "/v1/webhooks", ""); r.code != 200 || r.raw != "{\"urls\":{}}\n" {
		t.Fatalf("GET empty: %d %s", r.code, r.raw)
	}
	for _, c := range []struct{ body, code string }{
		{`{"urls": {"*": ["ftp://example.com/x"]}}`, "bad_request"},
		{`{"urls": {"*": ["http://10.0.0.1/x"]}}`, "bad_request"},
		{`{"urls": {"*": ["http://169.254.169.254/latest"]}}`, "bad_request"},
		{`{"urls": {"*": ["https://user:pw@example.com/x"]}}`, "bad_request"},
		{`{"urls": {"Bad Event": ["https://example.com/x"]}}`, "bad_request"},
		{`{"url": {"*": ["https://example.com/x"]}}`, "invalid_json"},
		{`{}`, "missing_field"},
		{`{"urls": `, "invalid_json"},
	} {
		if r := call(keyA, "PUT", "/v1/webhooks", c.body); r.code != 400 || errCode(r) != c.code {
			t.Errorf("PUT %s: %d %s, want 400 %s", c.body, r.code, r.raw, c.code)
		}
	}
	conf := fmt.Sprintf(`{"urls": {"images_stored": [%q], "*": [%q, %q]}}`,
		receiver.URL+"/images", receiver.URL+"/all", receiver.URL+"/all")
	r := call(keyA, "PUT", "/v1/webhooks", conf)
	want := fmt.Sprintf(`{"urls":{"*":[%q],"images_stored":[%q]}}`+"\n", receiver.URL+"/all", receiver.URL+"/images")
	if r.code != 200 || r.raw != want {
		t.Fatalf("PUT: %d %s, want %s", r.code, r.raw, want)
	}
	if r := call(keyA, "GET", "/v1/webhooks", ""); r.raw != want {
		t.Fatalf("GET after PUT: %s", r.raw)
	}

	// B has no grant: the receiver's range is closed to it.
	if r := call(keyB, "PUT", "/v1/webhooks", conf); r.code != 400 || strings.Contains(r.raw, "127.0.0.1") {
		t.Fatalf("B configures a range granted to A only: %d %s", r.code, r.raw)
	}
	// B has no URL: its ping is refused, and it sees none of A's.
	if r := call(keyB, "POST", "/v1/webhooks/ping", ""); r.code != 400 {
		t.Fatalf("ping without URLs: %d %s", r.code, r.raw)
	}
	r = call(keyA, "POST", "/v1/webhooks/ping", "")
	ids, _ := r.body["delivery_ids"].([]any)
	if r.code != 202 || len(ids) != 1 {
		t.Fatalf("ping: %d %s (want one delivery: the wildcard URL)", r.code, r.raw)
	}
	id := ids[0].(string)

	delivery := func(key string) reply { return call(key, "GET", "/v1/webhooks/deliveries/"+id, "") }
	waitDelivered := func(attempts int) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			r := delivery(keyA)
			log, _ := r.body["attempt_log"].([]any)
			if r.body["status"] == "delivered" && len(log) == attempts {
				return r.body
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery %s not delivered after %d attempts: %s", id, attempts, r.raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The first send gets a 500; the retry (after ~10 s backoff by
	// default) is not awaited: a redelivery is the operator's shortcut.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := delivery(keyA)
		if r.body["status"] == "pending" && r.body["total_attempts"] == 1.0 {
			log := r.body["attempt_log"].([]any)
			a := log[0].(map[string]any)
			if a["response_status"] != 500.0 || a["response_body"] != "first one fails" || a["error"] != "HTTP 500" {
				t.Fatalf("first attempt: %s", r.raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first attempt never logged: %s", r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := call(keyB, "POST", "/v1/webhooks/deliveries/"+id+"/redeliver", ""); r.code != 404 {
		t.Fatalf("B redelivers A's delivery: %d %s", r.code, r.raw)
	}
	if r := delivery(keyB); r.code != 404 {
		t.Fatalf("B reads A's delivery: %d %s", r.code, r.raw)
	}
	r = call(keyA, "POST", "/v1/webhooks/deliveries/"+id+"/redeliver", "")
	if r.code != 202 || r.body["id"] != id {
		t.Fatalf("redeliver: %d %s", r.code, r.raw)
	}
	d := waitDelivered(2)
	if d["attempts"] != 1.0 || d["total_attempts"] != 2.0 {
		t.Fatalf("after redelivery: %v", d)
	}
	mu.Lock()
	if len(got) != 2 || got[0] != id || got[1] != id {
		t.Fatalf("receiver got %v, want %s twice", got, id)
	}
	mu.Unlock()

	r = call(keyA, "GET", "/v1/webhooks/deliveries?status=delivered&limit=10", "")
	list, _ := r.body["deliveries"].([]any)
	if r.code != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("list delivered: %d %s", r.code, r.raw)
	}
	if r := call(keyB, "GET", "/v1/webhooks/deliveries", ""); r.code != 200 || r.raw != "{\"deliveries\":[]}\n" {
		t.Fatalf("B's list: %d %s", r.code, r.raw)
	}
	for _, q := range []string{"status=bogus", "limit=0", "limit=abc", "cursor=%21%21"} {
		if r := call(keyA, "GET", "/v1/webhooks/deliveries?"+q, ""); r.code != 400 {
			t.Errorf("list ?%s: %d %s, want 400", q, r.code, r.raw)
		}
	}
	if r := call(keyA, "GET", "/v1/webhooks/deliveries/whd_nope", ""); r.code != 404 {
		t.Fatalf("missing delivery: %d %s", r.code, r.raw)
	}
	// Clearing the configuration.
	if r := call(keyA, "PUT", "/v1/webhooks", `{"urls": {}}`); r.code != 200 || r.raw != "{\"urls\":{}}\n" {
		t.Fatalf("clear: %d %s", r.code, r.raw)
	}
}
