package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/visagehq/visage/internal/testenv"
	"github.com/visagehq/visage/internal/web/browsertest"
)

// The face-authentication page in real headless Chromium with a fake
// camera and the real engine: amy, enrolled from a still, opens the link
// of a session (French, as the client asked), takes the photo and is
// authenticated; with penny at the camera the page says to try again.
func TestFaceAuthPageInChromium(t *testing.T) {
	browsertest.RequireChromium(t)
	s := startServer(t, "", "", nil)
	key := s.newTenant("face-auth-browser")
	if r := s.do(s.multipartReq("/v1/faces", key, map[string]string{"face_id": "amy"}, [][2]string{{"image", stillPNG(t, "enrol", false, "faces", "bbt", "amy", "amy2.png")}})); r.Status != 201 {
		t.Fatalf("enrol: %d %v", r.Status, r.Body)
	}
	open := func() string {
		r := s.do(s.basicReq("POST", "/partner/authentication-info", key, map[string]any{"scanRef": "amy", "locale": "fr"}))
		u, _ := r.Body["url"].(string)
		if r.Status != 201 || u == "" {
			t.Fatalf("authentication-info: %d %v", r.Status, r.Body)
		}
		return u
	}
	shoot := func(t *testing.T, clip string) *browsertest.Browser {
		b := browsertest.Launch(t, browsertest.Options{Clip: clip})
		if err := b.Open(open()); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitStatus(10*time.Second, "in_progress"); err != nil {
			t.Fatalf("page: %v; problems %v", err, b.Problems())
		}
		if err := b.WaitVisible("#shoot:not([disabled])", 10*time.Second); err != nil {
			t.Fatalf("camera never started: %v; problems %v", err, b.Problems())
		}
		time.Sleep(800 * time.Millisecond) // let the fake camera deliver real frames
		if err := b.Click("#shoot"); err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("authenticates", func(t *testing.T) {
		clip := browsertest.Clip(t, browsertest.Segment{Image: stillPNG(t, "login", false, "faces", "bbt", "amy", "amy4.png"), Seconds: 6})
		b := shoot(t, clip)
		status, err := b.WaitStatus(30*time.Second, "completed", "failed", "expired")
		b.Screenshot("face-auth-" + status)
		if err != nil || status != "completed" {
			t.Fatalf("status %q (%v); seen %+v; problems %v", status, err, b.Seen(), b.Problems())
		}
		if title, _ := b.Text("#done-title"); title != "Vous êtes authentifié" {
			t.Fatalf("result title %q, want the French text", title)
		}
		if p := b.Problems(); len(p) > 0 {
			t.Fatalf("page problems (CSP, errors): %v", p)
		}
	})

	t.Run("someone-else-retries", func(t *testing.T) {
		clip := browsertest.Clip(t, browsertest.Segment{Image: stillPNG(t, "penny", false, "faces", "bbt", "penny", "penny5.png"), Seconds: 6})
		b := shoot(t, clip)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if fb, _ := b.Text("#feedback"); len(fb) > 0 && fb != "Vérification…" {
				if fb != "Non reconnu. Réessayez : encore 2." {
					t.Fatalf("feedback %q", fb)
				}
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("no retry feedback; seen %+v; problems %v", b.Seen(), b.Problems())
	})

	// A client's own page (another origin) loads /sdk/visage.js and opens
	// the session in a popup from a click; the person finishes (here by
	// the API, as from a phone) and the helper resolves on the client's
	// page with the result.
	t.Run("sdk-popup", func(t *testing.T) {
		r := s.do(s.basicReq("POST", "/partner/authentication-info", key, map[string]any{"scanRef": "amy"}))
		u, _ := r.Body["url"].(string)
		partner := s.partnerPage(t, `<button id="go">Log in with your face</button>`, fmt.Sprintf(`document.getElementById("go").onclick = function () {
  Visage.authenticate({url: %q}).then(function (r) { document.body.dataset.status = "sdk-" + r.status; },
    function (e) { document.body.dataset.status = "sdk-error " + e.message; });
};`, u))
		clip := browsertest.Clip(t, browsertest.Segment{Image: stillPNG(t, "sdk", false, "faces", "bbt", "amy", "amy4.png"), Seconds: 8})
		b := browsertest.Launch(t, browsertest.Options{Clip: clip})
		if err := b.Open(partner.URL); err != nil {
			t.Fatal(err)
		}
		if err := b.Click("#go"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // the popup loads its page
		if r := s.do(s.selfieReq(u, testenv.CameraFrame(t, false, "faces", "bbt", "amy", "amy4.png"))); r.Body["status"] != "completed" {
			t.Fatalf("selfie: %d %v", r.Status, r.Body)
		}
		status, err := b.WaitStatus(20*time.Second, "sdk-completed", "sdk-closed", "sdk-failed")
		if err != nil || status != "sdk-completed" {
			t.Fatalf("the client's page: %q %v; problems %v", status, err, b.Problems())
		}
	})

	// A client that keeps templates itself (seed 004): its page opens a
	// best-image session in a popup with the helper, the person takes the
	// photo there, the token comes back to the client's page, and its
	// server authenticates it against the template made at onboarding.
	t.Run("sdk-best-image", func(t *testing.T) {
		tr := s.do(s.multipartReq("/v1/templates", key, map[string]string{"user_id": "amy-001"}, [][2]string{{"image", stillPNG(t, "onboard", false, "faces", "bbt", "amy", "amy2.png")}}))
		template, _ := tr.Body["registeredTemplateRaw"].(string)
		r := s.do(s.request("POST", "/v1/tokens/best-image/sessions", key, strings.NewReader(`{"locale":"es"}`), "application/json"))
		u, _ := r.Body["url"].(string)
		if tr.Status != 201 || r.Status != 201 || u == "" {
			t.Fatalf("template %d, session %d %v", tr.Status, r.Status, r.Body)
		}
		partner := s.partnerPage(t, `<button id="go">Take a photo</button>`, fmt.Sprintf(`document.getElementById("go").onclick = function () {
  Visage.captureBestImage({url: %q}).then(function (r) { window.__token = r.bestImageToken || ""; document.body.dataset.status = "sdk-" + r.status; },
    function (e) { document.body.dataset.status = "sdk-error " + e.message; });
};`, u))
		clip := browsertest.Clip(t, browsertest.Segment{Image: stillPNG(t, "login", false, "faces", "bbt", "amy", "amy4.png"), Seconds: 10})
		b := browsertest.Launch(t, browsertest.Options{Clip: clip})
		if err := b.Open(partner.URL); err != nil {
			t.Fatal(err)
		}
		popup := chromedp.WaitNewTarget(b.Context(), func(i *target.Info) bool { return strings.Contains(i.URL, "/face-auth/") })
		if err := b.Click("#go"); err != nil {
			t.Fatal(err)
		}
		var id target.ID
		select {
		case id = <-popup:
		case <-time.After(10 * time.Second):
			t.Fatal("no popup opened")
		}
		pctx, cancel := chromedp.NewContext(b.Context(), chromedp.WithTargetID(id))
		defer cancel()
		if err := chromedp.Do(pctx, chromedp.WaitVisible(`#shoot:not([disabled])`)); err != nil {
			t.Fatalf("the popup's camera: %v", err)
		}
		time.Sleep(800 * time.Millisecond) // real frames from the fake camera
		if err := chromedp.Do(pctx, chromedp.Click("#shoot")); err != nil {
			t.Fatalf("the popup's button: %v", err)
		}
		status, err := b.WaitStatus(30*time.Second, "sdk-completed", "sdk-closed", "sdk-failed")
		if err != nil || status != "sdk-completed" {
			t.Fatalf("the client's page: %q %v; problems %v", status, err, b.Problems())
		}
		tok, err := browsertest.Eval[string](b, "window.__token")
		if err != nil || tok == "" {
			t.Fatalf("no token on the client's page: %q %v", tok, err)
		}
		body, _ := json.Marshal(map[string]any{"userId": "amy-001", "registeredTemplateRaw": template, "bestImageToken": tok, "merchantReferenceId": "web-login-1"})
		a := s.do(s.request("POST", "/services/authenticateUser/v2", key, bytes.NewReader(body), "application/json"))
		if a.Status != 200 || a.Body["serviceResultCode"] != 0.0 {
			t.Fatalf("authenticateUser with the page's token: %d %v", a.Status, a.Body)
		}
	})

	// The iFrame mode, once the integration lists the client's origin in
	// frame_origins: the page runs framed on the client's page, and the
	// helper resolves there. Before that, the page refuses framing.
	t.Run("sdk-iframe", func(t *testing.T) {
		r := s.do(s.basicReq("POST", "/partner/authentication-info", key, map[string]any{"scanRef": "amy"}))
		u, _ := r.Body["url"].(string)
		partner := s.partnerPage(t, `<div id="box"></div>`, fmt.Sprintf(`Visage.authenticate({url: %q, mode: "iframe", container: document.getElementById("box")})
  .then(function (r) { document.body.dataset.status = "sdk-" + r.status; });`, u))
		refused := s.do(s.request("GET", strings.TrimPrefix(u, s.base), "", nil, ""))
		if csp := refused.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || refused.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("framing before frame_origins: CSP %q, XFO %q", csp, refused.Header.Get("X-Frame-Options"))
		}
		s.configure(key, map[string]any{"frame_origins": []string{partner.URL}})
		allowed := s.do(s.request("GET", strings.TrimPrefix(u, s.base), "", nil, ""))
		if csp := allowed.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors "+partner.URL) || allowed.Header.Get("X-Frame-Options") != "" {
			t.Fatalf("framing after frame_origins: CSP %q, XFO %q", csp, allowed.Header.Get("X-Frame-Options"))
		}
		clip := browsertest.Clip(t, browsertest.Segment{Image: stillPNG(t, "framed", false, "faces", "bbt", "amy", "amy4.png"), Seconds: 8})
		b := browsertest.Launch(t, browsertest.Options{Clip: clip})
		if err := b.Open(partner.URL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // the frame loads its page
		if r := s.do(s.selfieReq(u, testenv.CameraFrame(t, false, "faces", "bbt", "amy", "amy4.png"))); r.Body["status"] != "completed" {
			t.Fatalf("selfie: %d %v", r.Status, r.Body)
		}
		status, err := b.WaitStatus(20*time.Second, "sdk-completed", "sdk-failed")
		if err != nil || status != "sdk-completed" {
			t.Fatalf("the client's page: %q %v; problems %v", status, err, b.Problems())
		}
		if r := s.do(s.request("PATCH", "/v1/integration", key, strings.NewReader(`{"frame_origins":["https://*.example.com"]}`), "application/json")); r.Status != 400 {
			t.Fatalf("a wildcard origin: %d %v", r.Status, r.Body)
		}
	})
}

// partnerPage serves a client's web page on its own origin: body markup,
// Visage's /sdk/visage.js, then script.
func (s *server) partnerPage(t *testing.T, body, script string) *httptest.Server {
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body data-status="partner">%s
<script src="%s/sdk/visage.js"></script>
<script>%s</script></body></html>`, body, s.base, script)
	}))
	t.Cleanup(p.Close)
	return p
}
