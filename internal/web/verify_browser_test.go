package web_test

// Browser tests of the verification page: the real page in headless
// Chromium with a fake camera playing fixture clips, against a submit
// handler that records what arrives and answers as each vendor does.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/testenv"
	"github.com/visagehq/visage/internal/web"
	"github.com/visagehq/visage/internal/web/browsertest"
)

// submitted is one multipart submission as the server saw it.
type submitted struct {
	fields map[string]string
	files  map[string]submittedFile
}

type submittedFile struct {
	filename, ctype string
	data            []byte
}

// reply is one scripted answer of the submit handler; status -1 drops the
// connection without answering (a browser may retry that on its own, so
// tests set the answer for a whole try with setReply).
type reply struct {
	status int
	body   string
}

type verifyBackend struct {
	mu      sync.Mutex
	got     []submitted
	replies []reply // in turn; the last one repeats
	hold    chan struct{}
	bad     []string
}

func (v *verifyBackend) submit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		v.mu.Lock()
		v.bad = append(v.bad, "multipart: "+err.Error())
		v.mu.Unlock()
		http.Error(w, err.Error(), 400)
		return
	}
	s := submitted{fields: map[string]string{}, files: map[string]submittedFile{}}
	for k, vs := range r.MultipartForm.Value {
		s.fields[k] = strings.Join(vs, "|")
	}
	for k, fhs := range r.MultipartForm.File {
		f, err := fhs[0].Open()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		data, _ := io.ReadAll(f)
		f.Close()
		s.files[k] = submittedFile{filename: fhs[0].Filename, ctype: fhs[0].Header.Get("Content-Type"), data: data}
	}
	v.mu.Lock()
	v.got = append(v.got, s)
	n := len(v.got)
	rp := v.replies[min(n, len(v.replies))-1]
	hold := v.hold
	v.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if rp.status < 0 {
		panic(http.ErrAbortHandler) // the connection is closed unanswered
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rp.status)
	_, _ = io.WriteString(w, rp.body)
}

func (v *verifyBackend) setReply(r reply) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.replies = []reply{r}
}

func (v *verifyBackend) submissions() []submitted {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.got)
}

// verifyFlows are the page shapes the tests open, by ?flow=.
func verifyFlow(r *http.Request, logo string) web.PageConfig {
	q := r.URL.Query()
	maxPhoto, _ := strconv.ParseInt(q.Get("max"), 10, 64)
	switch q.Get("flow") {
	case "native":
		// A verification's requestUrl: selfie photo, front and back.
		return web.PageConfig{
			Theme:       faceauth.Theme{Name: "Acme Bank", LogoURL: logo, PrimaryColor: "#0f766e"},
			SubmitURL:   "/verif/submit",
			Fields:      map[string]string{"token": "vrf_tok_1"},
			SelfieField: "selfie",
			PhotoFields: []web.DocumentSide{{Field: "document_front", Side: web.SideFront}, {Field: "document_back", Side: web.SideBack, Optional: true}},
			AssetPath:   "/verif/assets/",
		}
	case "docs":
		return web.PageConfig{
			Theme:         faceauth.Theme{Name: "Acme Bank", PrimaryColor: "#0f766e"},
			SubmitURL:     "/verif/submit",
			Fields:        map[string]string{"token": "vrf_tok_2"},
			PhotoFields:   []web.DocumentSide{{Field: "document_front", Side: web.SideFront}, {Field: "document_back", Side: web.SideBack, Optional: true}},
			MaxPhotoBytes: maxPhoto,
			Locale:        q.Get("lang"),
			AssetPath:     "/verif/assets/",
		}
	}
	// The Identity Verification API: GET /verif/?api_key=…&user_identifier=…
	fields := map[string]string{}
	for _, k := range []string{"api_key", "user_identifier", "user_email", "user_phone"} {
		if v := q.Get(k); v != "" {
			fields[k] = v
		}
	}
	if v := q.Get("user_id"); v != "" && fields["user_identifier"] == "" {
		fields["user_identifier"] = v
	}
	secs, _ := strconv.Atoi(q.Get("seconds"))
	return web.PageConfig{
		Theme:        faceauth.Theme{Name: "Acme Bank", LogoURL: logo, PrimaryColor: "#0f766e"},
		SubmitURL:    "/verif/submit",
		Fields:       fields,
		VideoField:   "selfie_video",
		PhotoFields:  []web.DocumentSide{{Field: "id_photo", Label: "ID document"}},
		VideoSeconds: secs,
		Locale:       q.Get("lang"),
		AssetPath:    "/verif/assets/",
	}
}

// verifySite serves the page at /verif/, its assets, the submit handler,
// a landing page for redirects (/done) and a logo on a second origin.
func verifySite(t *testing.T, backend *verifyBackend) string {
	t.Helper()
	logo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 32"><rect width="32" height="32" rx="7" fill="#0f766e"/><path d="M8 24 16 8 24 24" fill="none" stroke="#fff" stroke-width="3.5" stroke-linejoin="round"/><text x="40" y="23" font-family="Arial, sans-serif" font-size="19" font-weight="700" fill="#0f3d3a">Acme Bank</text></svg>`)
	}))
	t.Cleanup(logo.Close)
	page := web.NewVerifyPage(slog.New(slog.DiscardHandler))
	e := edge.New(edge.Config{Log: slog.New(slog.DiscardHandler)})
	e.Mount(edge.Surface{Name: "verif", Renderer: kindRenderer{}, Routes: []edge.Route{
		{Pattern: "GET /verif/{$}", Handler: func(w http.ResponseWriter, r *http.Request) {
			page.Serve(w, r, verifyFlow(r, logo.URL+"/logo.svg"))
		}, Undocumented: true},
		{Pattern: "GET /verif/assets/{name}", Handler: func(w http.ResponseWriter, r *http.Request) { page.Asset(w, r, r.PathValue("name")) }, Undocumented: true},
		{Pattern: "POST /verif/submit", Handler: backend.submit, MaxBody: 64 << 20, Undocumented: true},
	}})
	mux := http.NewServeMux()
	mux.Handle("/verif/", e.Handler())
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>back</title><body data-landing=%q>Back at the integration</body>", r.URL.Query().Get("status"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

const seed002Verified = `{"success":true,"check_id":"0d7c1b8e-3f7a-4f59-9d37-2b1f0e6c9a11","result":{"sessionId":"0d7c1b8e-3f7a-4f59-9d37-2b1f0e6c9a11",
"timestamp":"2024-01-15T10:30:00.000Z","files":{"selfieVideo":{"url":"https://storage.example/s.webm","fileName":"s.webm"},"idPhoto":{"url":"https://storage.example/i.jpg","fileName":"i.jpg"}},
"faceComparison":{"isIdentical":true,"confidence":0.85,"similarityScore":85,"method":"visage"},
"verificationAssessment":{"overallScore":85,"verificationStatus":"verified","confidenceLevel":"high","summary":"Verification completed successfully"},"status":"verified"}}`

func idFixture(t *testing.T) string {
	t.Helper()
	return testenv.Fixture(t, "documents", "100_id-usa.jpg")
}

func sha(b []byte) string { s := sha256.Sum256(b); return fmt.Sprintf("%x", s[:8]) }

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha(b)
}

func ffprobe(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
			t.Fatalf("REQUIRED BUT MISSING: ffprobe (run scripts/setup-system.sh)")
		}
		t.Skipf("SKIPPED, MISSING: ffprobe (run scripts/setup-system.sh)")
	}
	return p
}

type videoProbe struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		NbReadFrames string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
	} `json:"format"`
}

// probeVideo runs ffprobe (counting frames by decoding them) and a full
// decode with ffmpeg, which must report no error.
func probeVideo(t *testing.T, path string) videoProbe {
	t.Helper()
	out, err := exec.Command(ffprobe(t), "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,codec_name,width,height,nb_read_frames:format=format_name", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var p videoProbe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v: %s", err, out)
	}
	ff, err := browsertest.FFmpeg()
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(ff, "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(bytes.TrimSpace(msg)) > 0 {
		t.Errorf("decoding the video: %v: %s", err, msg)
	}
	return p
}

// videoSpan is the time from the first to the last video packet, plus one
// frame's duration at the camera's rate.
func videoSpan(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command(ffprobe(t), "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe packets: %v", err)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.Trim(f, ","), 64)
		if err != nil {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi < lo {
		t.Fatalf("no video packets in %s", path)
	}
	return hi - lo + 1.0/browsertest.ClipFPS
}

// grayFrame decodes one frame (at second ss) of any video ffmpeg reads as
// 640×480 8-bit grey.
func grayFrame(t *testing.T, path string, ss float64) []byte {
	t.Helper()
	ff, err := browsertest.FFmpeg()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ff, "-v", "error", "-i", path, "-ss", strconv.FormatFloat(ss, 'f', 2, 64), "-frames:v", "1",
		"-vf", "scale=640:480", "-pix_fmt", "gray", "-f", "rawvideo", "-").Output()
	if err != nil || len(out) != 640*480 {
		t.Fatalf("frame of %s at %.1fs: %v (%d bytes)", path, ss, err, len(out))
	}
	return out
}

func grayOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != 640 || b.Dy() != 480 {
		t.Fatalf("image %v, want 640×480", b.Size())
	}
	out := make([]byte, 0, 640*480)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, uint8((0.299*float64(r)+0.587*float64(g)+0.114*float64(bl))/257+0.5))
		}
	}
	return out
}

// meanAbsDiff of two grey frames, in levels (0–255).
func meanAbsDiff(a, b []byte) float64 {
	var sum float64
	for i := range a {
		sum += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return sum / float64(len(a))
}

func waitStatus(t *testing.T, b *browsertest.Browser, timeout time.Duration, statuses ...string) string {
	t.Helper()
	got, err := b.WaitStatus(timeout, statuses...)
	if err != nil {
		t.Fatalf("%v; seen %+v; console %q", err, b.Seen(), b.Console())
	}
	return got
}

func click(t *testing.T, b *browsertest.Browser, sel string) {
	t.Helper()
	if err := b.Click(sel); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func wantText(t *testing.T, b *browsertest.Browser, sel, want string) {
	t.Helper()
	if got, _ := b.Text(sel); got != want {
		t.Errorf("%s = %q, want %q", sel, got, want)
	}
}

func wantVisible(t *testing.T, b *browsertest.Browser, sel string, want bool) {
	t.Helper()
	if got, _ := b.Visible(sel); got != want {
		t.Errorf("%s visible = %v, want %v", sel, got, want)
	}
}

func focused(b *browsertest.Browser) string {
	id, _ := browsertest.Eval[string](b, `document.activeElement ? document.activeElement.id : ''`)
	return id
}

// consentAndStart ticks the consent box and starts.
func consentAndStart(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	waitStatus(t, b, 10*time.Second, "intro")
	click(t, b, "#consent")
	click(t, b, "#start")
}

// uploadDoc picks a file through the page's Upload button.
func uploadDoc(t *testing.T, b *browsertest.Browser, path string) {
	t.Helper()
	if err := b.ChooseFile("#doc-upload", 10*time.Second, path); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserVerifySeed002Flow(t *testing.T) {
	browsertest.RequireChromium(t)
	ffprobe(t)
	clip := faceClip(t)
	id := idFixture(t)
	backend := &verifyBackend{replies: []reply{{200, seed002Verified}}, hold: make(chan struct{})}
	site := verifySite(t, backend)

	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
	if err := b.Open(site + "/verif/?api_key=k_live_123&user_identifier=user123&user_email=user%40example.com&user_phone=%2B15550100&seconds=3"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 10*time.Second, "intro")
	wantText(t, b, "#intro-title", "Verify your identity")
	if w, _ := browsertest.Eval[int](b, `document.getElementById('logo').naturalWidth`); w == 0 {
		t.Error("theme logo from its own origin did not load")
	}
	steps, _ := browsertest.Eval[[]string](b, `[...document.querySelectorAll('.plan li')].map(e => e.textContent.trim())`)
	if !slices.Equal(steps, []string{"Record a 3-second selfie video while following a few prompts on the screen.",
		"ID document: take a photo with your camera or upload a file."}) {
		t.Errorf("plan %q", steps)
	}
	b.Screenshot("verify-intro-mobile")

	// Consent first: Start without it says so and goes nowhere.
	click(t, b, "#start")
	wantVisible(t, b, "#consent-error", true)
	if f := focused(b); f != "consent" {
		t.Errorf("focus on %q after refused start, want the consent box", f)
	}
	b.Screenshot("verify-intro-consent-required-mobile")
	if s, _ := b.Attr("body", "data-status"); s != "intro" {
		t.Fatalf("status %q without consent", s)
	}
	click(t, b, "#consent")
	wantVisible(t, b, "#consent-error", false)
	click(t, b, "#start")

	// The selfie video.
	waitStatus(t, b, 10*time.Second, "selfie")
	if err := b.WaitVisible("#record", 10*time.Second); err != nil {
		t.Fatalf("#record: %v (seen %+v)", err, b.Seen())
	}
	if cam, _ := b.Attr("body", "data-camera"); cam != "on" {
		t.Errorf("camera %q", cam)
	}
	wantText(t, b, "#step-count", "Step 1 of 2")
	if tr, _ := browsertest.Eval[string](b, `getComputedStyle(document.getElementById('face-video')).transform`); tr != "matrix(-1, 0, 0, 1, 0, 0)" {
		t.Errorf("selfie preview transform %q, want a mirror", tr)
	}
	b.Screenshot("verify-selfie-ready-mobile")
	click(t, b, "#record")
	waitStatus(t, b, 5*time.Second, "selfie_countdown")
	b.Screenshot("verify-selfie-countdown-mobile")
	waitStatus(t, b, 6*time.Second, "selfie_recording")
	waitFor(t, 5*time.Second, "the turn-left prompt", func() bool {
		s, _ := b.Text("#instruction")
		return s == "Slowly turn your head to the left…"
	})
	b.Screenshot("verify-selfie-recording-mobile")
	waitStatus(t, b, 10*time.Second, "selfie_review")
	if cam, _ := b.Attr("body", "data-camera"); cam != "off" {
		t.Errorf("camera %q while reviewing, want off", cam)
	}
	waitFor(t, 5*time.Second, "the review video to play", func() bool {
		ok, _ := browsertest.Eval[bool](b, `(() => { const v = document.getElementById('face-review'); return v.readyState >= 2 && v.videoWidth > 0; })()`)
		return ok
	})
	b.Screenshot("verify-selfie-review-mobile")
	prompts := b.Seen().Instructions
	var order []string
	for _, p := range prompts {
		if strings.HasPrefix(p, "Slowly") || strings.HasPrefix(p, "…now") || p == "Blink twice" {
			order = append(order, p)
		}
	}
	if !slices.Equal(order, []string{"Slowly turn your head to the left…", "…now slowly to the right", "Blink twice"}) {
		t.Errorf("prompts in order %q (all %q)", order, prompts)
	}
	click(t, b, "#selfie-use")

	// The ID photo, uploaded through the chooser.
	waitStatus(t, b, 5*time.Second, "document")
	wantText(t, b, "#doc-title", "ID document")
	wantText(t, b, "#step-count", "Step 2 of 2")
	wantText(t, b, "#file-hint", "JPEG or PNG, up to 10\u00a0MB.")
	wantVisible(t, b, "#doc-skip", false)
	if f := focused(b); f != "doc-title" {
		t.Errorf("focus on %q on the document screen, want its heading", f)
	}
	b.Screenshot("verify-document-choose-mobile")
	uploadDoc(t, b, id)
	waitStatus(t, b, 5*time.Second, "document_review")
	if w, _ := browsertest.Eval[int](b, `document.getElementById('doc-preview').naturalWidth`); w != 570 {
		t.Errorf("preview width %d, want the fixture's 570", w)
	}
	b.Screenshot("verify-document-review-mobile")
	click(t, b, "#doc-use")

	// Sending, held by the server until the screenshot.
	waitStatus(t, b, 10*time.Second, "checking")
	wantText(t, b, "#submit-title", "Checking your documents…")
	b.Screenshot("verify-checking-mobile")
	close(backend.hold)
	waitStatus(t, b, 10*time.Second, "verified")
	wantText(t, b, "#outcome-title", "You're verified")
	wantText(t, b, "#redirect-note", "You can close this page.")
	wantVisible(t, b, "#redirect-link", false)
	if f := focused(b); f != "outcome-title" {
		t.Errorf("focus on %q on the outcome, want its heading", f)
	}
	b.Screenshot("verify-verified-mobile")

	// What the server got.
	subs := backend.submissions()
	if len(subs) != 1 {
		t.Fatalf("%d submissions", len(subs))
	}
	s := subs[0]
	wantFields := map[string]string{"api_key": "k_live_123", "user_identifier": "user123", "user_email": "user@example.com", "user_phone": "+15550100"}
	if fmt.Sprint(s.fields) != fmt.Sprint(wantFields) {
		t.Errorf("fields %v, want %v", s.fields, wantFields)
	}
	if len(s.files) != 2 {
		t.Errorf("files %d, want selfie_video and id_photo", len(s.files))
	}
	ph := s.files["id_photo"]
	if sha(ph.data) != fileSHA(t, id) || ph.ctype != "image/jpeg" || ph.filename != "id_photo.jpg" {
		t.Errorf("id_photo: %d bytes %s %q %q; want the fixture's bytes", len(ph.data), sha(ph.data), ph.ctype, ph.filename)
	}
	vid := s.files["selfie_video"]
	if !strings.HasPrefix(vid.ctype, "video/webm") && !strings.HasPrefix(vid.ctype, "video/mp4") {
		t.Errorf("selfie_video content type %q", vid.ctype)
	}
	// Kept beside the screenshots, to look at.
	path := filepath.Join(browsertest.ScreenshotDir(t), "verify-"+vid.filename)
	if err := os.WriteFile(path, vid.data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := probeVideo(t, path)
	if len(p.Streams) != 1 || p.Streams[0].CodecType != "video" {
		t.Fatalf("streams %+v", p.Streams)
	}
	st := p.Streams[0]
	frames, _ := strconv.Atoi(st.NbReadFrames)
	t.Logf("selfie_video: %s, %s %s %dx%d, %d frames over %.2f s, %d bytes", vid.filename, p.Format.FormatName, st.CodecName,
		st.Width, st.Height, frames, videoSpan(t, path), len(vid.data))
	if !slices.Contains([]string{"vp8", "vp9", "h264"}, st.CodecName) || st.Width != 640 || st.Height != 480 {
		t.Errorf("video %s %dx%d", st.CodecName, st.Width, st.Height)
	}
	// 3 s of a 10 fps camera. A loaded machine (this one is shared) drops
	// frames, at the ends too: allow 2.2 s of packets.
	if span := videoSpan(t, path); span < 2.2 || span > 4 || frames < 8 || frames > 60 {
		t.Errorf("%d frames over %.2f s in a 3 s recording of a 10 fps camera", frames, span)
	}
	// And it shows what the camera showed.
	want := grayFrame(t, clip, 0.5)
	if d := meanAbsDiff(grayFrame(t, path, 1.0), want); d > 12 {
		t.Errorf("recorded frame differs from the camera's by %.1f levels", d)
	}
	for _, v := range backend.bad {
		t.Error(v)
	}
	checkNoProblems(t, b)
}

func TestBrowserVerifyNativeFlow(t *testing.T) {
	browsertest.RequireChromium(t)
	card := idFixture(t)
	back := testenv.Fixture(t, "documents", "0_id-esp.png")
	clip := browsertest.Clip(t, browsertest.Segment{Image: card, Seconds: 2})
	backend := &verifyBackend{}
	site := verifySite(t, backend)
	backend.replies = []reply{{200, `{"status":"Submitted","redirect_url":"` + site + `/done?status=submitted"}`}}

	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
	if err := b.Open(site + "/verif/?flow=native"); err != nil {
		t.Fatal(err)
	}
	consentAndStart(t, b)

	// A selfie photo.
	waitStatus(t, b, 10*time.Second, "selfie")
	if err := b.WaitVisible("#selfie-take", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wantText(t, b, "#selfie-title", "Selfie")
	wantText(t, b, "#step-count", "Step 1 of 3")
	click(t, b, "#selfie-take")
	waitStatus(t, b, 5*time.Second, "selfie_review")
	b.Screenshot("verify-selfie-photo-review-mobile")
	click(t, b, "#selfie-use")

	// Front: the camera, with the frame guide.
	waitStatus(t, b, 5*time.Second, "document")
	wantText(t, b, "#doc-title", "Front of your ID document")
	click(t, b, "#doc-camera")
	waitStatus(t, b, 5*time.Second, "document_camera")
	waitFor(t, 10*time.Second, "the document camera", func() bool {
		cam, _ := b.Attr("body", "data-camera")
		ok, _ := browsertest.Eval[bool](b, `!document.getElementById('doc-capture').disabled`)
		return cam == "on" && ok
	})
	if tr, _ := browsertest.Eval[string](b, `getComputedStyle(document.getElementById('doc-video')).transform`); tr != "none" {
		t.Errorf("document preview transform %q, want none (text must read the right way)", tr)
	}
	b.Screenshot("verify-document-camera-mobile")
	click(t, b, "#doc-capture")
	waitStatus(t, b, 5*time.Second, "document_review")
	wantText(t, b, "#doc-retake", "Take again")
	b.Screenshot("verify-document-camera-review-mobile")
	click(t, b, "#doc-use")

	// Back: optional; a PNG file.
	waitFor(t, 5*time.Second, "the back side", func() bool { s, _ := b.Attr("body", "data-side"); return s == "1" })
	wantText(t, b, "#doc-title", "Back of your ID document")
	wantText(t, b, "#step-count", "Step 3 of 3")
	wantVisible(t, b, "#doc-skip", true)
	uploadDoc(t, b, back)
	waitStatus(t, b, 5*time.Second, "document_review")
	wantText(t, b, "#doc-retake", "Choose another")
	click(t, b, "#doc-use")

	waitStatus(t, b, 15*time.Second, "review")
	wantText(t, b, "#outcome-title", "Thank you, we have your documents")
	host := strings.TrimPrefix(site, "http://")
	wantText(t, b, "#redirect-note", "Taking you back to "+host+"…")
	if href, _ := b.Attr("#redirect-link", "href"); href != site+"/done?status=submitted" {
		t.Errorf("continue link %q", href)
	}
	b.Screenshot("verify-review-redirect-mobile")
	waitFor(t, 8*time.Second, "the redirect", func() bool {
		loc, _ := b.Location()
		return strings.HasSuffix(loc, "/done?status=submitted")
	})

	subs := backend.submissions()
	if len(subs) != 1 {
		t.Fatalf("%d submissions", len(subs))
	}
	s := subs[0]
	if fmt.Sprint(s.fields) != "map[token:vrf_tok_1]" {
		t.Errorf("fields %v", s.fields)
	}
	want := grayFrame(t, clip, 0.5)
	for _, f := range []string{"selfie", "document_front"} {
		got := s.files[f]
		img, err := jpeg.Decode(bytes.NewReader(got.data))
		if err != nil {
			t.Errorf("%s: not a JPEG: %v", f, err)
			continue
		}
		if got.ctype != "image/jpeg" || got.filename != f+".jpg" {
			t.Errorf("%s: %q %q", f, got.ctype, got.filename)
		}
		// The camera's picture, not mirrored.
		if d := meanAbsDiff(grayOf(t, img), want); d > 8 {
			t.Errorf("%s differs from the camera's frame by %.1f levels", f, d)
		}
	}
	bk := s.files["document_back"]
	if sha(bk.data) != fileSHA(t, back) || bk.ctype != "image/png" || bk.filename != "document_back.png" {
		t.Errorf("document_back: %d bytes %q %q, want the fixture", len(bk.data), bk.ctype, bk.filename)
	}
	checkNoProblems(t, b)
}

func TestBrowserVerifyCameraProblems(t *testing.T) {
	browsertest.RequireChromium(t)
	id := idFixture(t)
	for _, c := range []struct {
		camera browsertest.Camera
		kind   string
		text   string
	}{
		{browsertest.CameraDenied, "denied", "Camera access was blocked. The selfie needs your camera"},
		{browsertest.CameraNone, "missing", "No camera was found. The selfie needs a camera"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			backend := &verifyBackend{replies: []reply{{200, seed002Verified}}}
			site := verifySite(t, backend)
			b := browsertest.Launch(t, browsertest.Options{Camera: c.camera})

			// The video needs the camera: a clear message and Try again.
			if err := b.Open(site + "/verif/?api_key=k&user_identifier=u"); err != nil {
				t.Fatal(err)
			}
			consentAndStart(t, b)
			if err := b.WaitVisible("#camera-error", 10*time.Second); err != nil {
				t.Fatalf("#camera-error: %v (seen %+v)", err, b.Seen())
			}
			if got, _ := b.Attr("body", "data-camera"); got != c.kind {
				t.Errorf("data-camera %q, want %q", got, c.kind)
			}
			if got, _ := b.Text("#camera-error-text"); !strings.HasPrefix(got, c.text) {
				t.Errorf("#camera-error-text = %q, want %q…", got, c.text)
			}
			wantVisible(t, b, "#record", false)
			wantVisible(t, b, "#camera-retry", true)
			if f := focused(b); f != "camera-retry" {
				t.Errorf("focus on %q, want Try again", f)
			}
			b.Screenshot("verify-camera-" + c.kind + "-video-mobile")
			click(t, b, "#camera-retry")
			waitFor(t, 10*time.Second, "retry", func() bool {
				cams := b.Seen().Cameras
				return len(cams) >= 3 && cams[len(cams)-1] == c.kind
			})

			// A document can still be uploaded.
			if err := b.Open(site + "/verif/?flow=docs"); err != nil {
				t.Fatal(err)
			}
			consentAndStart(t, b)
			waitStatus(t, b, 5*time.Second, "document")
			click(t, b, "#doc-camera")
			if err := b.WaitVisible("#doc-notice", 10*time.Second); err != nil {
				t.Fatal(err)
			}
			wantText(t, b, "#doc-notice", "The camera is not available. You can upload a photo of your document instead.")
			wantVisible(t, b, "#doc-camera", false)
			if f := focused(b); f != "doc-upload" {
				t.Errorf("focus on %q after the camera failed, want Upload", f)
			}
			b.Screenshot("verify-camera-" + c.kind + "-document-mobile")
			uploadDoc(t, b, id)
			waitStatus(t, b, 5*time.Second, "document_review")
			click(t, b, "#doc-use")
			waitFor(t, 5*time.Second, "the back side", func() bool { s, _ := b.Attr("body", "data-side"); return s == "1" })
			wantVisible(t, b, "#doc-camera", false)
			click(t, b, "#doc-skip")
			waitStatus(t, b, 10*time.Second, "verified")
			subs := backend.submissions()
			if len(subs) != 1 || len(subs[0].files) != 1 || sha(subs[0].files["document_front"].data) != fileSHA(t, id) {
				t.Errorf("submissions: %d", len(subs))
			} else if _, ok := subs[0].files["document_back"]; ok {
				t.Error("a skipped side was sent")
			}
			checkNoProblems(t, b)
		})
	}
}

// badFiles writes files a person might pick by mistake.
func badFiles(t *testing.T) (truncatedPNG, textAsPNG string) {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(testenv.Fixture(t, "documents", "0_id-esp.png"))
	if err != nil {
		t.Fatal(err)
	}
	truncatedPNG = filepath.Join(dir, "cut.png")
	textAsPNG = filepath.Join(dir, "notes.png")
	if err := os.WriteFile(truncatedPNG, src[:200], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(textAsPNG, []byte("these are not the pixels you are looking for\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return truncatedPNG, textAsPNG
}

func TestBrowserVerifyFileChecks(t *testing.T) {
	browsertest.RequireChromium(t)
	big := testenv.Fixture(t, "documents", "62_pass-aus.png")                 // 1.7 MB
	webp := testenv.Fixture(t, "faces", "deepface", "id02_img8", "img47.jpg") // WebP inside
	id := idFixture(t)
	cut, text := badFiles(t)
	backend := &verifyBackend{replies: []reply{{200, seed002Verified}}}
	site := verifySite(t, backend)
	b := browsertest.Launch(t, browsertest.Options{})
	if err := b.Open(site + "/verif/?flow=docs&max=1048576"); err != nil {
		t.Fatal(err)
	}
	consentAndStart(t, b)
	waitStatus(t, b, 5*time.Second, "document")
	wantText(t, b, "#file-hint", "JPEG or PNG, up to 1\u00a0MB.")
	for _, c := range []struct{ file, want string }{
		{big, "This file is too large (1.7\u00a0MB). The limit is 1\u00a0MB."},
		{webp, "This file is not a JPEG or PNG photo. Please choose a JPEG or PNG file."},
		{text, "This file is not a JPEG or PNG photo. Please choose a JPEG or PNG file."},
		{cut, "This picture could not be opened. Please choose another file."},
	} {
		uploadDoc(t, b, c.file)
		waitFor(t, 5*time.Second, "the refusal of "+filepath.Base(c.file), func() bool {
			s, _ := b.Text("#doc-error")
			return s == c.want
		})
		wantVisible(t, b, "#doc-error", true)
		if s, _ := b.Attr("body", "data-status"); s != "document" {
			t.Errorf("%s: status %q, want document", filepath.Base(c.file), s)
		}
		if c.file == big {
			b.Screenshot("verify-document-too-large-mobile")
		}
	}
	// A good file clears the message.
	uploadDoc(t, b, id)
	waitStatus(t, b, 5*time.Second, "document_review")
	wantVisible(t, b, "#doc-error", false)
	if n := len(backend.submissions()); n != 0 {
		t.Errorf("%d submissions while choosing files", n)
	}
	checkNoProblems(t, b)
}

func TestBrowserVerifyServerErrors(t *testing.T) {
	browsertest.RequireChromium(t)
	id := idFixture(t)
	steps := []struct {
		reply reply
		title string
		text  string
		retry bool
	}{
		{reply{-1, ""}, "We couldn't send your documents", "The connection was lost. Check your connection and try again.", true},
		{reply{400, `{"error":"Both selfie video and ID photo are required"}`}, "We couldn't send your documents", "Both selfie video and ID photo are required.", true},
		{reply{500, `{"success":false,"error":"Verification processing failed"}`}, "We couldn't send your documents", "Verification processing failed.", true},
		{reply{422, `{"error":{"code":"no_face","message":"No face found: look at the camera."}}`}, "We couldn't send your documents", "No face found: look at the camera.", true},
		{reply{400, `{"statusCode":400,"message":"Face not found","error":"Bad Request"}`}, "We couldn't send your documents", "Face not found.", true},
		{reply{500, `{"error":"internal_error"}`}, "We couldn't send your documents", "Something went wrong on our side. Please try again in a moment.", true},
		{reply{503, `<html><body>Service Unavailable</body></html>`}, "We couldn't send your documents", "The service is busy right now. Please try again in a moment.", true},
		{reply{200, `{"success":false,"error":"INVALID_REQUEST"}`}, "We couldn't send your documents", "The files were not accepted. Please start again.", true},
		{reply{401, `{"error":"Invalid API key"}`}, "This link is not valid", "Invalid API key.", false},
	}
	backend := &verifyBackend{replies: []reply{steps[0].reply}}
	site := verifySite(t, backend)
	b := browsertest.Launch(t, browsertest.Options{})
	if err := b.Open(site + "/verif/?flow=docs"); err != nil {
		t.Fatal(err)
	}
	consentAndStart(t, b)
	waitStatus(t, b, 5*time.Second, "document")
	uploadDoc(t, b, id)
	waitStatus(t, b, 5*time.Second, "document_review")
	click(t, b, "#doc-use")
	click(t, b, "#doc-skip")
	for i, s := range steps {
		waitFor(t, 10*time.Second, fmt.Sprintf("answer %d", i+1), func() bool {
			st, _ := b.Attr("body", "data-status")
			txt, _ := b.Text("#error-text")
			return st == "error" && txt == s.text && len(backend.submissions()) >= i+1
		})
		wantText(t, b, "#error-title", s.title)
		wantVisible(t, b, "#error-retry", s.retry)
		wantVisible(t, b, "#error-restart", s.retry)
		if f := focused(b); f != "error-title" {
			t.Errorf("answer %d: focus on %q", i+1, f)
		}
		if i == 3 {
			b.Screenshot("verify-error-mobile")
		}
		if !s.retry {
			b.Screenshot("verify-error-link-mobile")
			break
		}
		backend.setReply(steps[i+1].reply)
		click(t, b, "#error-retry")
	}
	// Every try sent the same files.
	for i, s := range backend.submissions() {
		if sha(s.files["document_front"].data) != fileSHA(t, id) || s.fields["token"] != "vrf_tok_2" {
			t.Errorf("try %d sent %d bytes, fields %v", i+1, len(s.files["document_front"].data), s.fields)
		}
	}
	checkNoProblems(t, b)
}

func TestBrowserVerifyOutcomes(t *testing.T) {
	browsertest.RequireChromium(t)
	id := idFixture(t)
	backend := &verifyBackend{}
	site := verifySite(t, backend)
	b := browsertest.Launch(t, browsertest.Options{})
	for _, c := range []struct {
		name, body, status, title string
	}{
		{"seed-002 rejected", strings.ReplaceAll(seed002Verified, `"verified"`, `"rejected"`), "rejected", "We couldn't verify your identity"},
		{"seed-002 manual review", strings.ReplaceAll(seed002Verified, `"verified"`, `"manual_review"`), "review", "Thank you, we have your documents"},
		{"seed-002 status only", `{"success":true,"check_id":"c","result":{"status":"verified"}}`, "verified", "You're verified"},
		{"native declined", `{"status":"Declined"}`, "rejected", "We couldn't verify your identity"},
		{"native approved", `{"status":"Approved"}`, "verified", "You're verified"},
		{"native under review", `{"status":"Under Review"}`, "review", "Thank you, we have your documents"},
		{"native expired", `{"status":"Expired"}`, "expired", "This link has expired"},
		{"unsafe redirect", `{"status":"Approved","redirect_url":"javascript:alert(1)"}`, "verified", "You're verified"},
	} {
		t.Run(c.name, func(t *testing.T) {
			backend.mu.Lock()
			backend.replies = []reply{{200, c.body}}
			backend.got = nil
			backend.mu.Unlock()
			if err := b.Open(site + "/verif/?flow=docs"); err != nil {
				t.Fatal(err)
			}
			consentAndStart(t, b)
			waitStatus(t, b, 5*time.Second, "document")
			uploadDoc(t, b, id)
			waitStatus(t, b, 5*time.Second, "document_review")
			click(t, b, "#doc-use")
			click(t, b, "#doc-skip")
			waitStatus(t, b, 10*time.Second, c.status)
			wantText(t, b, "#outcome-title", c.title)
			wantText(t, b, "#redirect-note", "You can close this page.")
			if c.status == "rejected" || c.status == "expired" {
				b.Screenshot("verify-" + c.status + "-mobile")
			}
		})
	}
	checkNoProblems(t, b)
}

func TestBrowserVerifyFrench(t *testing.T) {
	browsertest.RequireChromium(t)
	big := testenv.Fixture(t, "documents", "62_pass-aus.png")
	id := idFixture(t)
	backend := &verifyBackend{}
	site := verifySite(t, backend)
	backend.replies = []reply{{200, `{"status":"Approved","redirect_url":"` + site + `/done?status=approved"}`}}
	b := browsertest.Launch(t, browsertest.Options{})
	if err := b.Open(site + "/verif/?flow=docs&lang=fr&max=1048576"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 10*time.Second, "intro")
	if lang, _ := b.Attr("html", "lang"); lang != "fr" {
		t.Errorf("lang %q", lang)
	}
	wantText(t, b, "#intro-title", "Vérifiez votre identité")
	click(t, b, "#start")
	wantText(t, b, "#consent-error", "Cochez la case pour donner votre accord avant de commencer.")
	b.Screenshot("verify-fr-intro-mobile")
	click(t, b, "#consent")
	click(t, b, "#start")
	waitStatus(t, b, 5*time.Second, "document")
	wantText(t, b, "#doc-title", "Recto de votre pièce d'identité")
	wantText(t, b, "#step-count", "Étape 1 sur 2")
	wantText(t, b, "#file-hint", "JPEG ou PNG, 1\u00a0Mo au maximum.")
	uploadDoc(t, b, big)
	waitFor(t, 5*time.Second, "the French refusal", func() bool {
		s, _ := b.Text("#doc-error")
		return s == "Ce fichier est trop volumineux (1,7\u00a0Mo). La limite est de 1\u00a0Mo."
	})
	b.Screenshot("verify-fr-too-large-mobile")
	uploadDoc(t, b, id)
	waitStatus(t, b, 5*time.Second, "document_review")
	wantText(t, b, "#doc-use", "Utiliser cette photo")
	click(t, b, "#doc-use")
	click(t, b, "#doc-skip")
	waitStatus(t, b, 10*time.Second, "verified")
	wantText(t, b, "#outcome-title", "Votre identité est vérifiée")
	wantText(t, b, "#redirect-note", "Retour vers "+strings.TrimPrefix(site, "http://")+"…")
	b.Screenshot("verify-fr-verified-mobile")
	waitFor(t, 8*time.Second, "the redirect", func() bool {
		loc, _ := b.Location()
		return strings.HasSuffix(loc, "/done?status=approved")
	})
	checkNoProblems(t, b)
}

// TestBrowserVerifyDesktop: the intro and the selfie screen on a laptop
// screen, for the screenshots and the layout.
func TestBrowserVerifyDesktop(t *testing.T) {
	browsertest.RequireChromium(t)
	site := verifySite(t, &verifyBackend{replies: []reply{{200, seed002Verified}}})
	b := browsertest.Launch(t, browsertest.Options{Clip: faceClip(t), Width: 1280, Height: 800})
	if err := b.Open(site + "/verif/?api_key=k&user_identifier=u"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 10*time.Second, "intro")
	b.Screenshot("verify-intro-desktop")
	consentAndStart(t, b)
	if err := b.WaitVisible("#record", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The selfie screen fits without scrolling.
	if h, _ := browsertest.Eval[float64](b, `document.documentElement.scrollHeight`); h > 800 {
		t.Errorf("selfie screen is %.0f px tall on an 800 px window", h)
	}
	if bottom, _ := browsertest.Eval[float64](b, `document.getElementById('record').getBoundingClientRect().bottom`); bottom > 800 {
		t.Errorf("Start recording ends at %.0f px, below the 800 px window", bottom)
	}
	b.Screenshot("verify-selfie-desktop")
	checkNoProblems(t, b)
}

// TestBrowserVerifyCameraPhotoLimit: a camera photo over the server's
// limit is re-encoded smaller rather than refused.
func TestBrowserVerifyCameraPhotoLimit(t *testing.T) {
	browsertest.RequireChromium(t)
	clip := browsertest.Clip(t, browsertest.Segment{Image: idFixture(t), Seconds: 2})
	backend := &verifyBackend{replies: []reply{{200, `{"status":"Approved"}`}}}
	site := verifySite(t, backend)
	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
	shoot := func(max int) []byte {
		t.Helper()
		if err := b.Open(site + "/verif/?flow=docs&max=" + strconv.Itoa(max)); err != nil {
			t.Fatal(err)
		}
		consentAndStart(t, b)
		waitStatus(t, b, 5*time.Second, "document")
		click(t, b, "#doc-camera")
		waitFor(t, 10*time.Second, "the document camera", func() bool {
			ok, _ := browsertest.Eval[bool](b, `document.body.dataset.camera === 'on' && !document.getElementById('doc-capture').disabled`)
			return ok
		})
		click(t, b, "#doc-capture")
		waitStatus(t, b, 5*time.Second, "document_review")
		click(t, b, "#doc-use")
		click(t, b, "#doc-skip")
		waitStatus(t, b, 10*time.Second, "verified")
		subs := backend.submissions()
		return subs[len(subs)-1].files["document_front"].data
	}
	full := shoot(10 << 20)
	limit := len(full) * 3 / 4
	small := shoot(limit)
	t.Logf("camera photo: %d bytes at full quality, %d under a %d-byte limit", len(full), len(small), limit)
	if len(small) > limit || len(small) == 0 {
		t.Errorf("photo of %d bytes over the %d-byte limit", len(small), limit)
	}
	if _, err := jpeg.Decode(bytes.NewReader(small)); err != nil {
		t.Errorf("re-encoded photo: %v", err)
	}
	checkNoProblems(t, b)
}
