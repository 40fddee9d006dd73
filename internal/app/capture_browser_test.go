package app

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
	"github.com/visagehq/visage/internal/web/browsertest"
)

// stillPNG writes a fixture photo as a 640×480 camera frame (the same
// composition the service tests use) for a fake-camera clip.
func stillPNG(t *testing.T, name string, mirror bool, parts ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, testenv.CameraImage(t, mirror, parts...).ToRGBA()); err != nil {
		t.Fatal(err)
	}
	return p
}

// captureLink opens a capture session through the native API.
func (s *server) captureLink(key, faceID string) string {
	b, _ := json.Marshal(map[string]string{"face_id": faceID})
	r := s.do(s.request("POST", "/v1/capture-sessions", key, bytes.NewReader(b), "application/json"))
	u, _ := r.Body["url"].(string)
	if r.Status != 201 || u == "" {
		s.t.Fatalf("capture session: %d %v", r.Status, r.Body)
	}
	return u
}

func containsAny(seen []string, subs ...string) bool {
	for _, s := range seen {
		for _, sub := range subs {
			if strings.Contains(strings.ToLower(s), sub) {
				return true
			}
		}
	}
	return false
}

// The hosted page, the real engine and a fake camera in real headless
// Chromium: a clip of one person smiling, turning to her right and to her
// left registers her; a printed photo and a clip without a head turn do not.
func TestCapturePageInChromium(t *testing.T) {
	browsertest.RequireChromium(t)
	s := startServer(t, "", "", nil)
	key := s.newTenant("browser")
	// No fixture shows a blink: this tenant requires the other three.
	s.setChallenges(key, "smile", "turn_left", "turn_right")

	smile := stillPNG(t, "smile", false, "faces", "bbt", "amy", "amy2.png")
	right := stillPNG(t, "right", false, "faces", "bbt", "amy", "amy1.png")
	left := stillPNG(t, "left", true, "faces", "bbt", "amy", "amy1.png")
	neutral := stillPNG(t, "neutral", false, "faces", "bbt", "amy", "amy4.png")

	t.Run("registers", func(t *testing.T) {
		// The integration's callback receives the person after success,
		// and its theme dresses the page.
		back := make(chan string, 1)
		cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case back <- r.URL.RawQuery:
			default:
			}
			w.Write([]byte("<html><body>back at the client</body></html>"))
		}))
		defer cb.Close()
		s.configure(key, map[string]any{"callback_url_template": cb.URL + "/done?user=[user_id]&status=[status]",
			"theme": map[string]any{"name": "Acme Bank", "primary_color": "#7a1fa2"}})
		clip := browsertest.Clip(t,
			browsertest.Segment{Image: neutral, Seconds: 1.5}, browsertest.Segment{Image: smile, Seconds: 2},
			browsertest.Segment{Image: right, Seconds: 2}, browsertest.Segment{Image: left, Seconds: 2})
		b := browsertest.Launch(t, browsertest.Options{Clip: clip})
		if err := b.Open(s.captureLink(key, "amy")); err != nil {
			t.Fatal(err)
		}
		b.WaitStatus(5*time.Second, "in_progress")
		time.Sleep(1500 * time.Millisecond)
		b.Screenshot("e2e-capture-in-progress")
		status, err := b.WaitStatus(90*time.Second, "completed", "failed", "expired")
		b.Screenshot("e2e-capture-" + status)
		seen := b.Seen()
		t.Logf("feedback seen: %v", seen.Feedback)
		if err != nil || status != "completed" {
			t.Fatalf("status %q (%v); seen %+v; problems %v", status, err, seen, b.Problems())
		}
		if ok, _ := b.Visible("#success"); !ok {
			t.Fatal("#success not shown")
		}
		if !containsAny(seen.Feedback, "smile", "turn", "head") {
			t.Errorf("no challenge feedback shown: %v", seen.Feedback)
		}
		select {
		case q := <-back:
			if q != "user=amy&status=completed" {
				t.Errorf("callback query %q", q)
			}
		case <-time.After(10 * time.Second):
			t.Error("the page did not follow the callback URL")
		}
		r := s.do(s.request("GET", "/v1/faces/amy", key, nil, ""))
		if r.Body["enabled"] != true || len(r.Body["images"].([]any)) != 3 {
			t.Fatalf("face after capture: %v", r.Body)
		}
		v := s.do(s.multipartReq("/v1/faces/amy/verify", key, nil, [][2]string{{"image", stillPNG(t, "login", false, "faces", "bbt", "amy", "amy5.png")}}))
		if v.Body["match"] != true {
			t.Fatalf("login selfie after registration: %v", v.Body)
		}
	})

	t.Run("printed-photo-refused", func(t *testing.T) {
		clip := browsertest.Clip(t, browsertest.Segment{Image: testenv.Fixture(t, "liveness", "spoof", "minivision_F1_print.jpg"), Seconds: 3})
		b := browsertest.Launch(t, browsertest.Options{Clip: clip})
		if err := b.Open(s.captureLink(key, "spoofer")); err != nil {
			t.Fatal(err)
		}
		status, _ := b.WaitStatus(60*time.Second, "completed", "failed")
		b.Screenshot("e2e-capture-spoof-" + status)
		if status != "failed" {
			t.Fatalf("printed photo: status %q, seen %v", status, b.Seen().Feedback)
		}
		if ok, _ := b.Visible("#failure"); !ok {
			t.Fatal("#failure not shown")
		}
		if !containsAny(b.Seen().Feedback, "photo or screen") {
			t.Errorf("spoof feedback not shown: %v", b.Seen().Feedback)
		}
		if r := s.do(s.request("GET", "/v1/faces/spoofer", key, nil, "")); len(r.Body["images"].([]any)) != 0 {
			t.Fatalf("spoof session stored images: %v", r.Body)
		}
	})

	t.Run("no-turn-never-completes", func(t *testing.T) {
		clip := browsertest.Clip(t, browsertest.Segment{Image: smile, Seconds: 3})
		b := browsertest.Launch(t, browsertest.Options{Clip: clip})
		if err := b.Open(s.captureLink(key, "statue")); err != nil {
			t.Fatal(err)
		}
		status, _ := b.WaitStatus(12*time.Second, "completed", "failed")
		b.Screenshot("e2e-capture-no-turn")
		if status == "completed" {
			t.Fatal("completed without turning the head")
		}
		if !containsAny(b.Seen().Feedback, "turn") {
			t.Errorf("turn instruction not shown: %v", b.Seen().Feedback)
		}
		if r := s.do(s.request("GET", "/v1/faces/statue", key, nil, "")); r.Body["templates"] != float64(0) || len(r.Body["images"].([]any)) != 0 {
			t.Fatalf("face after an incomplete capture: %v", r.Body)
		}
	})
}
