package app

import (
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
	if err != nil || got != "verified" {
		t.Fatalf("outcome %q %v; console %q", got, err, b.Console())
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
