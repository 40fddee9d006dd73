package web_test

// Browser tests: the real page in headless Chromium with a fake camera,
// against a fake CaptureService. They prove the page's side of the
// contract; the end-to-end run with the real engine lives elsewhere.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/testenv"
	"github.com/visagehq/visage/internal/web"
	"github.com/visagehq/visage/internal/web/browsertest"
)

// flowCapture is a scripted capture session: each challenge is met on its
// framesPerStep-th frame, and the frames before get feedback codes.
type flowCapture struct {
	mu            sync.Mutex
	token, nonce  string
	order         []faceauth.Challenge
	done          []bool
	current       int
	inStep        int
	framesPerStep int
	status        string
	reason        string
	redirect      string
	theme         faceauth.Theme
	failAfter     int // total frames after which the session fails (0: never)
	holdAt        int // step index where frames are answered but never met until release is closed (-1: none)
	release       chan struct{}

	total       int
	inFlight    int
	maxInFlight int
	starts      []time.Time
	sizes       []image.Point
	bad         []string // contract violations seen by the fake
	firstFrame  image.Image
	earlyCodes  []string
}

func newFlow(token string, order ...faceauth.Challenge) *flowCapture {
	return &flowCapture{token: token, nonce: "nonce-" + token, order: order, done: make([]bool, len(order)),
		framesPerStep: 3, status: faceauth.CaptureInProgress, holdAt: -1, release: make(chan struct{}),
		earlyCodes: []string{faceauth.FeedbackMoveCloser, faceauth.FeedbackTooDark, faceauth.FeedbackBlurry, faceauth.FeedbackMultipleFaces}}
}

func (f *flowCapture) steps() []faceauth.CaptureStep {
	out := make([]faceauth.CaptureStep, len(f.order))
	for i, c := range f.order {
		out[i] = faceauth.CaptureStep{Challenge: c, Done: f.done[i]}
	}
	return out
}

func (f *flowCapture) State(_ context.Context, token string) (*faceauth.CaptureState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token != f.token {
		return nil, fault.New(fault.NotFound, "no such session")
	}
	st := &faceauth.CaptureState{Status: f.status, Steps: f.steps(), Current: f.current, Nonce: f.nonce,
		ExpiresAt: time.Now().Add(30 * time.Minute), Reason: f.reason, Theme: f.theme}
	if f.status != faceauth.CaptureInProgress {
		st.RedirectURL = f.redirect
	}
	return st, nil
}

func hintFor(c faceauth.Challenge) string {
	switch c {
	case faceauth.ChallengeSmile:
		return faceauth.FeedbackSmile
	case faceauth.ChallengeBlink:
		return faceauth.FeedbackBlinkNow
	case faceauth.ChallengeLeft:
		return faceauth.FeedbackTurnLeft
	default:
		return faceauth.FeedbackTurnRight
	}
}

func (f *flowCapture) Frame(_ context.Context, token string, ch faceauth.Challenge, nonce string, data []byte) (*faceauth.FrameResult, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.starts = append(f.starts, time.Now())
	f.mu.Unlock()
	time.Sleep(40 * time.Millisecond) // the engine's work; lets overlapping uploads show
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight--

	if token != f.token {
		return nil, fault.New(fault.NotFound, "no such session")
	}
	if nonce != f.nonce {
		f.bad = append(f.bad, "nonce "+nonce)
		return nil, fault.New(fault.BadRequest, "bad nonce")
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		f.bad = append(f.bad, "frame is not a JPEG: "+err.Error())
		return nil, fault.New(fault.BadRequest, "%v", err)
	}
	if f.firstFrame == nil {
		f.firstFrame = img
	}
	f.sizes = append(f.sizes, img.Bounds().Size())
	res := &faceauth.FrameResult{Challenge: ch}
	finish := func() *faceauth.FrameResult {
		res.Status, res.Steps, res.Current, res.Reason = f.status, f.steps(), f.current, f.reason
		if f.status != faceauth.CaptureInProgress {
			res.RedirectURL = f.redirect
		}
		return res
	}
	if f.status != faceauth.CaptureInProgress {
		res.Feedback = f.status
		return finish(), nil
	}
	if ch != f.order[f.current] {
		f.bad = append(f.bad, fmt.Sprintf("frame for %s while %s is current", ch, f.order[f.current]))
		return nil, fault.New(fault.BadRequest, "the current challenge is %s", f.order[f.current])
	}
	f.total++
	if f.failAfter > 0 && f.total >= f.failAfter {
		f.status, f.reason = faceauth.CaptureFailed, faceauth.FeedbackSpoof
		res.Feedback, res.Message = faceauth.FeedbackFailed, "Face check failed"
		return finish(), nil
	}
	if f.current == f.holdAt {
		select {
		case <-f.release:
		default:
			res.Feedback, res.Message = hintFor(ch), "held"
			return finish(), nil
		}
	}
	f.inStep++
	switch {
	case f.inStep < f.framesPerStep-1:
		res.Feedback = f.earlyCodes[f.current%len(f.earlyCodes)]
	case f.inStep < f.framesPerStep:
		res.Feedback = hintFor(ch)
	default:
		res.Met, res.Feedback = true, faceauth.FeedbackMet
		f.done[f.current] = true
		f.current++
		f.inStep = 0
		if f.current == len(f.order) {
			f.status = faceauth.CaptureCompleted
			res.Feedback = faceauth.FeedbackCompleted
		}
	}
	res.Message = "english text for " + res.Feedback
	return finish(), nil
}

func (f *flowCapture) snapshot() (total, maxInFlight int, starts []time.Time, sizes []image.Point, bad []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total, f.maxInFlight, slices.Clone(f.starts), slices.Clone(f.sizes), slices.Clone(f.bad)
}

// serve mounts the page for capture, a landing page for redirects (/done)
// and a logo on a second origin.
func serve(t *testing.T, capture web.CaptureService) (site, logoOrigin string) {
	t.Helper()
	logo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 32"><rect width="32" height="32" rx="7" fill="#0f766e"/><path d="M8 24 16 8 24 24" fill="none" stroke="#fff" stroke-width="3.5" stroke-linejoin="round"/><text x="40" y="23" font-family="Arial, sans-serif" font-size="19" font-weight="700" fill="#0f3d3a">Acme</text></svg>`)
	}))
	t.Cleanup(logo.Close)
	mux := http.NewServeMux()
	e := edge.New(edge.Config{Log: slog.New(slog.DiscardHandler)})
	e.Mount(web.New(capture, slog.New(slog.DiscardHandler)).Surface())
	mux.Handle(web.Prefix, e.Handler())
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>back</title><body data-landing=%q>Back at the integration</body>", r.URL.Query().Get("status"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, logo.URL
}

func faceClip(t *testing.T) string {
	t.Helper()
	return browsertest.Clip(t, browsertest.Segment{Image: testenv.Fixture(t, "faces", "bbt", "amy", "amy1.png"), Seconds: 2})
}

func checkNoProblems(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	for _, p := range b.Problems() {
		t.Errorf("browser: %s", p)
	}
}

func TestBrowserCaptureCompletes(t *testing.T) {
	browsertest.RequireChromium(t)
	clip := faceClip(t)
	order := []faceauth.Challenge{faceauth.ChallengeRight, faceauth.ChallengeSmile, faceauth.ChallengeLeft, faceauth.ChallengeBlink}
	fake := newFlow("cap_walk", order...)
	fake.holdAt = 1 // pause on step 2 for a screenshot mid-challenge
	site, logoOrigin := serve(t, fake)
	fake.redirect = site + "/done?status=completed"
	fake.theme = faceauth.Theme{Name: "Acme Bank", LogoURL: logoOrigin + "/logo.svg", PrimaryColor: "#0f766e",
		Texts: map[string]string{faceauth.FeedbackBlurry: "Keep still, please"}}

	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
	if err := b.Open(site + "/capture/cap_walk"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitStatus(10*time.Second, "in_progress"); err != nil {
		t.Fatal(err)
	}
	// Hold on the second step until its hint shows, then take a picture.
	waitFor(t, 15*time.Second, "step 2 hint", func() bool {
		fb, _ := b.Text("#feedback")
		ch, _ := b.Attr("body", "data-challenge")
		return ch == string(order[1]) && fb == "Smile!"
	})
	if got, _ := b.Text("#progress"); !strings.Contains(got, "Step 2 of 4") {
		t.Errorf("#progress = %q, want Step 2 of 4", got)
	}
	if got, _ := b.Text("#instruction"); got != "Smile!" {
		t.Errorf("#instruction = %q", got)
	}
	states, _ := browsertest.Eval[[]string](b, `[...document.querySelectorAll('[data-step]')].map(e => e.dataset.state)`)
	if !slices.Equal(states, []string{"done", "active", "pending", "pending"}) {
		t.Errorf("step dots %v", states)
	}
	if tr, _ := browsertest.Eval[string](b, `getComputedStyle(document.getElementById('video')).transform`); tr != "matrix(-1, 0, 0, 1, 0, 0)" {
		t.Errorf("video transform %q, want a mirror", tr)
	}
	if w, _ := browsertest.Eval[int](b, `document.getElementById('logo').naturalWidth`); w == 0 {
		t.Error("theme logo from its own origin did not load")
	}
	if c, _ := browsertest.Eval[string](b, `getComputedStyle(document.querySelector('.step.done')).backgroundColor`); c != "rgb(15, 118, 110)" {
		t.Errorf("done dot colour %q, want the theme's primary", c)
	}
	b.Screenshot("capture-active-mobile")
	close(fake.release)

	status, err := b.WaitStatus(30*time.Second, "completed", "failed", "expired")
	if err != nil || status != "completed" {
		t.Fatalf("status %q: %v; seen %+v", status, err, b.Seen())
	}
	if ok, _ := b.Visible("#success"); !ok {
		t.Error("#success not visible")
	}
	if ok, _ := b.Visible("#failure"); ok {
		t.Error("#failure visible on success")
	}
	if txt, _ := b.Text("#success"); !strings.Contains(txt, "Taking you back to 127.0.0.1") {
		t.Errorf("#success = %q, want the redirect notice", txt)
	}
	if cam, _ := b.Attr("body", "data-camera"); cam != "off" {
		t.Errorf("camera %q after completion, want off", cam)
	}
	b.Screenshot("capture-success-mobile")
	seen := b.Seen()

	// The person is sent back after ~2 s.
	waitFor(t, 6*time.Second, "redirect", func() bool {
		loc, _ := b.Location()
		return strings.HasSuffix(loc, "/done?status=completed")
	})

	total, maxInFlight, starts, sizes, bad := fake.snapshot()
	t.Logf("%d frames; feedback seen %q; instructions %q; challenges %q", total, seen.Feedback, seen.Instructions, seen.Challenges)
	for _, v := range bad {
		t.Errorf("contract: %s", v)
	}
	if maxInFlight != 1 {
		t.Errorf("%d uploads in flight at once, want 1", maxInFlight)
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 250*time.Millisecond {
			t.Errorf("frames %d and %d only %v apart", i-1, i, gap)
		}
	}
	for _, s := range sizes {
		if s != (image.Point{X: 640, Y: 480}) {
			t.Errorf("frame size %v, want 640×480", s)
			break
		}
	}
	if !slices.Equal(seen.Challenges, []string{"turn_right", "smile", "turn_left", "blink"}) {
		t.Errorf("challenges seen %q, want the server's order", seen.Challenges)
	}
	for _, want := range []string{"Turn your head to your right", "Smile!", "Turn your head to your left", "Blink your eyes"} {
		if !slices.Contains(seen.Instructions, want) {
			t.Errorf("instruction %q never shown; seen %q", want, seen.Instructions)
		}
	}
	for _, want := range []string{"Move closer", "Too dark — find more light", "Keep still, please", "Only one face, please",
		"Turn your head right", "Smile!", "Turn your head left", "Blink now", "Great — done!"} {
		if !slices.Contains(seen.Feedback, want) {
			t.Errorf("feedback %q never shown; seen %q", want, seen.Feedback)
		}
	}
	if slices.Contains(seen.Feedback, "Hold still") {
		t.Error("the theme's text for hold_still was not used")
	}
	if !slices.Equal(seen.Statuses, []string{"loading", "in_progress", "completed"}) {
		t.Errorf("statuses %q", seen.Statuses)
	}
	checkNoProblems(t, b)
}

func TestBrowserCaptureFails(t *testing.T) {
	browsertest.RequireChromium(t)
	clip := faceClip(t)
	fake := newFlow("cap_fail", faceauth.ChallengeSmile, faceauth.ChallengeLeft, faceauth.ChallengeRight, faceauth.ChallengeBlink)
	fake.failAfter = 5
	site, _ := serve(t, fake)
	fake.redirect = site + "/done?status=failed"

	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
	if err := b.Open(site + "/capture/cap_fail"); err != nil {
		t.Fatal(err)
	}
	status, err := b.WaitStatus(30*time.Second, "completed", "failed", "expired")
	if err != nil || status != "failed" {
		t.Fatalf("status %q: %v", status, err)
	}
	if ok, _ := b.Visible("#failure"); !ok {
		t.Error("#failure not visible")
	}
	if ok, _ := b.Visible("#success"); ok {
		t.Error("#success visible on failure")
	}
	txt, _ := b.Text("#failure")
	if !strings.Contains(txt, "Photo or screen detected") || !strings.Contains(txt, "Taking you back to") {
		t.Errorf("#failure = %q, want the reason and the redirect notice", txt)
	}
	b.Screenshot("capture-failure-mobile")
	waitFor(t, 6*time.Second, "redirect", func() bool {
		loc, _ := b.Location()
		return strings.HasSuffix(loc, "/done?status=failed")
	})
	if total, _, _, _, _ := fake.snapshot(); total != 5 {
		t.Errorf("%d frames after the session failed on the 5th", total)
	}
	checkNoProblems(t, b)
}

// expiredCapture answers every token as expired.
type expiredCapture struct{}

func (expiredCapture) State(context.Context, string) (*faceauth.CaptureState, error) {
	return nil, fault.New(fault.Expired, "expired")
}

func (expiredCapture) Frame(context.Context, string, faceauth.Challenge, string, []byte) (*faceauth.FrameResult, error) {
	return nil, fault.New(fault.Expired, "expired")
}

func TestBrowserBadLinks(t *testing.T) {
	browsertest.RequireChromium(t)
	site, _ := serve(t, newFlow("cap_real", faceauth.ChallengeSmile))
	expired, _ := serve(t, expiredCapture{})
	b := browsertest.Launch(t, browsertest.Options{})

	for _, c := range []struct{ url, status, title string }{
		{site + "/capture/cap_unknown", "not_found", "This link is not valid"},
		{expired + "/capture/cap_old", "expired", "This link has expired"},
	} {
		if err := b.Open(c.url); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitStatus(10*time.Second, c.status); err != nil {
			t.Fatal(err)
		}
		if ok, _ := b.Visible("#failure"); !ok {
			t.Errorf("%s: #failure not visible", c.status)
		}
		if got, _ := b.Text("#failure-title"); got != c.title {
			t.Errorf("%s: title %q, want %q", c.status, got, c.title)
		}
		if cam := b.Seen().Cameras; len(cam) > 0 {
			t.Errorf("%s: camera touched: %q", c.status, cam)
		}
	}
	b.Screenshot("capture-expired-mobile")
}

func TestBrowserCameraProblems(t *testing.T) {
	browsertest.RequireChromium(t)
	for _, c := range []struct {
		camera browsertest.Camera
		kind   string
		text   string
	}{
		{browsertest.CameraDenied, "denied", "Camera access was blocked"},
		{browsertest.CameraNone, "missing", "No camera was found"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			fake := newFlow("cap_cam", faceauth.ChallengeSmile)
			site, _ := serve(t, fake)
			b := browsertest.Launch(t, browsertest.Options{Camera: c.camera})
			if err := b.Open(site + "/capture/cap_cam"); err != nil {
				t.Fatal(err)
			}
			if err := b.WaitVisible("#camera-error", 10*time.Second); err != nil {
				t.Fatalf("#camera-error: %v (seen %+v)", err, b.Seen())
			}
			if got, _ := b.Attr("body", "data-camera"); got != c.kind {
				t.Errorf("data-camera %q, want %q", got, c.kind)
			}
			if got, _ := b.Text("#camera-error"); !strings.Contains(got, c.text) {
				t.Errorf("#camera-error = %q, want %q", got, c.text)
			}
			if ok, _ := b.Visible("#retry"); !ok {
				t.Error("no retry button")
			}
			if c.kind == "denied" {
				b.Screenshot("capture-camera-denied-mobile")
			}
			// Retrying asks again and lands on the same message.
			if err := b.Click("#retry"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "retry", func() bool {
				cams := b.Seen().Cameras
				return len(cams) >= 3 && cams[len(cams)-1] == c.kind
			})
			if ok, _ := b.Visible("#camera-error"); !ok {
				t.Error("#camera-error gone after a failed retry")
			}
			if total, _, _, _, _ := fake.snapshot(); total != 0 {
				t.Errorf("%d frames sent without a camera", total)
			}
			checkNoProblems(t, b)
		})
	}
}

// TestBrowserFramesNotMirrored: the preview is mirrored, the uploads are
// not. The clip's left half is dark and its right half bright.
func TestBrowserFramesNotMirrored(t *testing.T) {
	browsertest.RequireChromium(t)
	img := image.NewGray(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			v := uint8(40)
			if x >= 320 {
				v = 220
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	src := filepath.Join(t.TempDir(), "left-dark.png")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	clip := browsertest.Clip(t, browsertest.Segment{Image: src, Seconds: 1})

	fake := newFlow("cap_orient", faceauth.ChallengeLeft)
	fake.framesPerStep = 1000
	site, _ := serve(t, fake)
	b := browsertest.Launch(t, browsertest.Options{Clip: clip, Width: 1280, Height: 800})
	if err := b.Open(site + "/capture/cap_orient"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "a frame", func() bool { n, _, _, _, _ := fake.snapshot(); return n >= 2 })
	fake.mu.Lock()
	frame := fake.firstFrame
	fake.mu.Unlock()
	left, right := meanLuma(frame, 0, 320), meanLuma(frame, 320, 640)
	if !(left < 100 && right > 160) {
		t.Errorf("uploaded frame: left half %.0f, right half %.0f; want dark left, bright right (not mirrored)", left, right)
	}
	// And the preview is the mirror image: bright on the left of the stage.
	pv, err := browsertest.Eval[[]float64](b, `(() => {
		const v = document.getElementById('video'), r = v.getBoundingClientRect();
		return [r.left + r.width * 0.3, r.left + r.width * 0.7, r.top + r.height * 0.46];
	})()`)
	if err != nil || len(pv) != 3 {
		t.Fatalf("stage box: %v %v", pv, err)
	}
	shot := b.Screenshot("capture-orientation-desktop")
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	screen, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	luma := func(x, y float64) float64 {
		r, g, bl, _ := screen.At(int(x), int(y)).RGBA()
		return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
	}
	if l, r := luma(pv[0], pv[2]), luma(pv[1], pv[2]); !(l > r+60) {
		t.Errorf("preview: left of stage %.0f, right %.0f; want bright left (a mirror)", l, r)
	}
	checkNoProblems(t, b)
}

func meanLuma(img image.Image, x0, x1 int) float64 {
	var sum, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X + x0; x < b.Min.X+x1; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			n++
		}
	}
	return sum / n
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserCSPEnforced: the page's policy really blocks inline script and
// foreign images, and the harness reports it.
func TestBrowserCSPEnforced(t *testing.T) {
	browsertest.RequireChromium(t)
	site, _ := serve(t, newFlow("cap_csp", faceauth.ChallengeSmile))
	b := browsertest.Launch(t, browsertest.Options{})
	if err := b.Open(site + "/capture/cap_csp"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitStatus(10*time.Second, "in_progress"); err != nil {
		t.Fatal(err)
	}
	if p := b.Problems(); len(p) != 0 {
		t.Fatalf("problems before the probe: %q", p)
	}
	ran, err := browsertest.Eval[bool](b, `(() => {
		window.__inlineRan = false;
		const s = document.createElement('script');
		s.textContent = 'window.__inlineRan = true';
		document.body.appendChild(s);
		const img = new Image();
		img.src = 'http://203.0.113.9/pixel.png';
		document.body.appendChild(img);
		return window.__inlineRan;
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("inline script ran despite the CSP")
	}
	waitFor(t, 5*time.Second, "CSP reports", func() bool { return len(b.Problems()) >= 2 })
	t.Logf("reported: %q", b.Problems())
	joined := strings.Join(b.Problems(), "\n")
	if !strings.Contains(joined, "script-src") || !strings.Contains(joined, "img-src") {
		t.Errorf("problems %q, want script-src and img-src violations", joined)
	}
}
