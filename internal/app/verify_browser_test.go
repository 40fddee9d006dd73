package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/web/browsertest"
)

// The Identity Verification API's hosted page against the real server, in
// real headless Chromium: a fake camera shows amy turning her head, the ID
// photo is the specimen passport with her face; she is verified, the
// partner's webhook arrives and the page never saw the API key.
func TestVerifyPageInChromium(t *testing.T) {
	browsertest.RequireChromium(t)
	s, key, hooks := verifyServer(t)
	front := stillPNG(t, "front", false, amyFrontal...)
	right := stillPNG(t, "right", false, amyTurn...)
	left := stillPNG(t, "left", true, amyTurn...)
	clip := browsertest.Clip(t, browsertest.Segment{Image: front, Seconds: 2, EdgeFill: true},
		browsertest.Segment{Image: right, Seconds: 1.5, EdgeFill: true}, browsertest.Segment{Image: left, Seconds: 1.5, EdgeFill: true})
	doc := filepath.Join(t.TempDir(), "passport.jpg")
	if err := os.WriteFile(doc, passportOf(t, amyPhoto), 0o600); err != nil {
		t.Fatal(err)
	}
	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
	if err := b.Open(s.base + "/verif/?api_key=" + key + "&user_identifier=browser-user&user_email=amy%40example.com"); err != nil {
		t.Fatal(err)
	}
	if got := walkVerifyPage(t, b, key, doc); got != "verified" {
		t.Fatalf("outcome %q; console %q", got, b.Console())
	}
	d := hooks.wait(t, "verification.completed", func(m map[string]any) bool { return m["user_identifier"] == "browser-user" })
	if vr := d.body["verification_result"].(map[string]any); vr["status"] != "verified" {
		t.Fatalf("webhook: %v", d.body)
	}
	list := s.do(s.request("GET", "/v1/verifications?status=Approved", key, nil, ""))
	var found map[string]any
	for _, v := range list.Body["verifications"].([]any) {
		if m := v.(map[string]any); m["unique_identifier"] == "browser-user" {
			found = m
		}
	}
	if found == nil || found["email"] != "amy@example.com" || found["source"] != "ivapi" || len(found["files"].([]any)) != 2 {
		t.Fatalf("the case: %v", found)
	}
	for _, p := range b.Problems() {
		t.Error(p)
	}
}

// walkVerifyPage goes through the hosted verification page as a person
// would: consent, record the selfie video, upload the document, and returns
// the outcome the page shows.
func walkVerifyPage(t *testing.T, b *browsertest.Browser, key, doc string) string {
	t.Helper()
	step := func(timeout time.Duration, status string) {
		t.Helper()
		if _, err := b.WaitStatus(timeout, status); err != nil {
			t.Fatalf("%v; seen %+v; console %q", err, b.Seen(), b.Console())
		}
	}
	click := func(sel string) {
		t.Helper()
		if err := b.Click(sel); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	step(10*time.Second, "intro")
	if html, _ := browsertest.Eval[string](b, `document.documentElement.outerHTML`); strings.Contains(html, key) {
		t.Fatal("the page carries the API key")
	}
	b.Screenshot("e2e-verify-intro")
	click("#consent")
	click("#start")
	step(10*time.Second, "selfie")
	if err := b.WaitVisible("#record", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	click("#record")
	step(20*time.Second, "selfie_review")
	b.Screenshot("e2e-verify-selfie-review")
	click("#selfie-use")
	step(5*time.Second, "document")
	if err := b.ChooseFile("#doc-upload", 10*time.Second, doc); err != nil {
		t.Fatal(err)
	}
	step(5*time.Second, "document_review")
	click("#doc-use")
	got, err := b.WaitStatus(90*time.Second, "verified", "rejected", "review", "error")
	b.Screenshot("e2e-verify-outcome")
	if err != nil {
		t.Fatalf("outcome %q %v; console %q", got, err, b.Console())
	}
	return got
}

// The native hosted flow: a case opened through /v1, the person follows
// its request_url in Chromium, the case is approved, and the page sends
// them to the integration's callback URL with the placeholders filled.
func TestNativeVerifyLinkInChromium(t *testing.T) {
	browsertest.RequireChromium(t)
	s, key, hooks := verifyServer(t)
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><title>done</title><p>back at the partner")
	}))
	t.Cleanup(landing.Close)
	s.configure(key, map[string]any{"callback_url_template": landing.URL + "/done?u=[user_id]&s=[status]&e=[email]"})
	r := s.do(s.request("POST", "/v1/verifications", key, strings.NewReader(
		`{"unique_identifier":"amy f","first_name":"Anna Maria","last_name":"Eriksson","email":"amy+1@example.com","document_type":"Passport"}`), "application/json"))
	if r.Status != 201 {
		t.Fatalf("create: %d %v", r.Status, r.Body)
	}
	id := r.Body["id"].(string)
	front := stillPNG(t, "front", false, amyFrontal...)
	right := stillPNG(t, "right", false, amyTurn...)
	left := stillPNG(t, "left", true, amyTurn...)
	clip := browsertest.Clip(t, browsertest.Segment{Image: front, Seconds: 2, EdgeFill: true},
		browsertest.Segment{Image: right, Seconds: 1.5, EdgeFill: true}, browsertest.Segment{Image: left, Seconds: 1.5, EdgeFill: true})
	doc := filepath.Join(t.TempDir(), "passport.jpg")
	if err := os.WriteFile(doc, passportOf(t, amyPhoto), 0o600); err != nil {
		t.Fatal(err)
	}
	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
	if err := b.Open(r.Body["request_url"].(string)); err != nil {
		t.Fatal(err)
	}
	if got := walkVerifyPage(t, b, key, doc); got != "verified" {
		t.Fatalf("outcome %q; console %q", got, b.Console())
	}
	want := landing.URL + "/done?u=amy+f&s=Approved&e=amy%2B1%40example.com"
	deadline := time.Now().Add(15 * time.Second)
	for {
		loc, _ := b.Location()
		if loc == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page is at %q, want the callback %q", loc, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := s.do(s.request("GET", "/v1/verifications/"+id, key, nil, ""))
	if c.Body["status"] != "Approved" || c.Body["started_at"] == nil || len(c.Body["files"].([]any)) != 2 {
		t.Fatalf("the case: %v", c.Body)
	}
	hooks.wait(t, "decision", func(m map[string]any) bool { return m["id"] == id && m["status"] == "Approved" })
	// The link is spent: opening it again says so instead of a new capture.
	if res, err := http.Get(r.Body["request_url"].(string)); err != nil || res.StatusCode == 200 {
		t.Fatalf("a decided case's link: %v %v", err, res)
	} else {
		res.Body.Close()
	}
}
