package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/testenv"
)

// TestCrashMidDelivery is the outbox's end-to-end promise: a real `visage
// serve` is killed (SIGKILL, no shutdown code runs) while its webhook
// request is in flight; after a restart the receiver gets the event again,
// with the same delivery id and a valid signature.
func TestCrashMidDelivery(t *testing.T) {
	bin, addr, _, env := testenv.ServeEnv(t,
		"VISAGE_WEBHOOK_ALLOW_PRIVATE=true", // the receiver is on loopback
		"VISAGE_WEBHOOK_POLL=0.2",
		// A short request timeout allows a short lease (at least timeout
		// + 2 s): the restarted server resends within seconds.
		"VISAGE_WEBHOOK_TIMEOUT=2",
		"VISAGE_WEBHOOK_LEASE=4",
	)

	// The receiver holds the first request open (the server dies during
	// it) and accepts the next ones.
	type got struct {
		delivery, signature string
		body                []byte
	}
	arrived := make(chan got, 10)
	var mu sync.Mutex
	first := true
	hold := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		arrived <- got{r.Header.Get("X-Visage-Delivery"), r.Header.Get("X-Visage-Signature"), body}
		mu.Lock()
		block := first
		first = false
		mu.Unlock()
		if block {
			select {
			case <-hold:
			case <-r.Context().Done(): // the sender died
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer func() { close(hold); receiver.Close() }()

	srv := testenv.StartServe(t, bin, env)
	created := testenv.CreateIntegration(t, bin, env, "crash")
	api := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("x-api-key", created.APIKey.Token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, b := api("PUT", "/v1/webhooks", fmt.Sprintf(`{"urls": {"*": [%q]}}`, receiver.URL+"/hook")); code != 200 {
		t.Fatalf("PUT /v1/webhooks: %d %s", code, b)
	}
	code, b := api("POST", "/v1/webhooks/ping", "")
	var ping struct {
		DeliveryIDs []string `json:"delivery_ids"`
	}
	if code != 202 || json.Unmarshal(b, &ping) != nil || len(ping.DeliveryIDs) != 1 {
		t.Fatalf("POST /v1/webhooks/ping: %d %s", code, b)
	}
	id := ping.DeliveryIDs[0]

	var g1 got
	select {
	case g1 = <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatalf("the first send never arrived; server log:\n%s", srv.Log())
	}
	if g1.delivery != id {
		t.Fatalf("first send has delivery id %q, want %q", g1.delivery, id)
	}
	srv.Kill(t) // mid-request: the row stays leased, nothing is recorded

	srv = testenv.StartServe(t, bin, env)
	var g2 got
	select {
	case g2 = <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("no resend after the restart; server log:\n%s", srv.Log())
	}
	if g2.delivery != id {
		t.Fatalf("resend has delivery id %q, want the same %q", g2.delivery, id)
	}
	if !bytes.Equal(g2.body, g1.body) {
		t.Fatalf("resent body differs:\n%s\n%s", g1.body, g2.body)
	}
	if err := crypto.VerifyWebhook([]byte(created.WebhookSecret), g2.signature, g2.body, time.Now(), 0); err != nil {
		t.Fatalf("resend signature: %v", err)
	}

	// The log shows it delivered on the second send; the first, cut off
	// by the kill, was never recorded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, b := api("GET", "/v1/webhooks/deliveries/"+id, "")
		var d struct {
			Status        string
			TotalAttempts int `json:"total_attempts"`
			AttemptLog    []struct {
				Number         int
				ResponseStatus int `json:"response_status"`
			} `json:"attempt_log"`
		}
		if code != 200 || json.Unmarshal(b, &d) != nil {
			t.Fatalf("GET delivery: %d %s", code, b)
		}
		if d.Status == "delivered" {
			if d.TotalAttempts != 2 || len(d.AttemptLog) != 1 || d.AttemptLog[0].Number != 2 || d.AttemptLog[0].ResponseStatus != 204 {
				t.Fatalf("delivery after the crash: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery not marked delivered: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMain removes the visage binary the end-to-end tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}
