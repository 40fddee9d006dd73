package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/web"
)

// The face service is what production mounts.
var _ web.CaptureService = (*faceauth.Service)(nil)

// stubCapture answers from fixed tables and records the frames it gets.
type stubCapture struct {
	mu     sync.Mutex
	states map[string]*faceauth.CaptureState
	errs   map[string]error // per token, for State and Frame
	frames []stubFrame
	calls  int
}

type stubFrame struct {
	token, nonce string
	challenge    faceauth.Challenge
	jpeg         []byte
}

func (s *stubCapture) State(_ context.Context, token string) (*faceauth.CaptureState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.errs[token]; err != nil {
		return nil, err
	}
	st, ok := s.states[token]
	if !ok {
		return nil, fault.New(fault.NotFound, "no session %s", token)
	}
	return st, nil
}

func (s *stubCapture) Frame(_ context.Context, token string, ch faceauth.Challenge, nonce string, jpeg []byte) (*faceauth.FrameResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.errs[token]; err != nil {
		return nil, err
	}
	st, ok := s.states[token]
	if !ok {
		return nil, fault.New(fault.NotFound, "no such session")
	}
	s.frames = append(s.frames, stubFrame{token: token, nonce: nonce, challenge: ch, jpeg: jpeg})
	return &faceauth.FrameResult{Challenge: ch, Feedback: faceauth.FeedbackMoveCloser, Message: "Move closer",
		Status: st.Status, Steps: st.Steps, Current: st.Current}, nil
}

func newStub() *stubCapture {
	return &stubCapture{
		states: map[string]*faceauth.CaptureState{
			"cap_ok": {Status: faceauth.CaptureInProgress, Nonce: "n0nce",
				Steps:     []faceauth.CaptureStep{{Challenge: faceauth.ChallengeLeft}, {Challenge: faceauth.ChallengeSmile}},
				ExpiresAt: time.Now().Add(time.Hour),
				Theme:     faceauth.Theme{Name: "Acme", LogoURL: "https://cdn.acme.example:8443/logo.svg?x=1", PrimaryColor: "#0f766e"}},
			"cap_plain": {Status: faceauth.CaptureInProgress, Nonce: "n", Steps: []faceauth.CaptureStep{{Challenge: faceauth.ChallengeSmile}},
				Theme: faceauth.Theme{LogoURL: "javascript:alert(1)"}},
		},
		errs: map[string]error{
			// As the service returns them: classified.
			"cap_gone": fault.New(fault.Expired, "session cap_gone expired"),
			"cap_done": fault.New(fault.Closed, "finished"),
			"cap_bad":  fault.New(fault.BadRequest, "the current challenge is turn_left"),
			"cap_busy": fault.New(fault.Busy, "queue full"),
			"cap_boom": errors.New("database is on fire at 10.0.0.7"),
		},
	}
}

func newServer(t *testing.T) (*httptest.Server, *stubCapture) {
	t.Helper()
	stub := newStub()
	mux := http.NewServeMux()
	e := edge.New(edge.Config{Log: slog.New(slog.DiscardHandler)})
	e.Mount(web.New(stub, slog.New(slog.DiscardHandler)).Surface())
	mux.Handle(web.Prefix, e.Handler())
	mux.HandleFunc("GET /elsewhere", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, stub
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, "", nil)
}

func do(t *testing.T, method, url, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// wantError checks a JSON error answer.
func wantError(t *testing.T, res *http.Response, body []byte, status int, code fault.Kind) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, want JSON", ct)
	}
	var env struct {
		Error struct {
			Code    fault.Kind `json:"code"`
			Message string     `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if env.Error.Code != code || env.Error.Message == "" {
		t.Fatalf("error %+v, want code %s with a message", env.Error, code)
	}
}

func TestPage(t *testing.T) {
	srv, _ := newServer(t)
	res, body := get(t, srv.URL+"/capture/cap_ok")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'",
		"img-src 'self' data: blob: https://cdn.acme.example:8443;", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(res.Header.Get("Permissions-Policy"), "camera=(self)") {
		t.Errorf("Permissions-Policy %q does not allow the camera", res.Header.Get("Permissions-Policy"))
	}
	html := string(body)
	checkNoInlineCode(t, html)
	for _, id := range []string{"instruction", "feedback", "progress", "success", "failure", "camera-error", "video"} {
		if !strings.Contains(html, `id="`+id+`"`) {
			t.Errorf("page lacks #%s", id)
		}
	}
	if !regexp.MustCompile(`id="instruction"[^>]*aria-live=`).MatchString(html) {
		t.Error("#instruction is not a live region")
	}

	// A logo URL that is not http(s) adds no source.
	res, _ = get(t, srv.URL+"/capture/cap_plain")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: blob:;") {
		t.Errorf("CSP for a javascript: logo: %q", csp)
	}
}

// checkNoInlineCode fails on inline script, inline style, event-handler
// attributes and anything loaded from another origin.
func checkNoInlineCode(t *testing.T, html string) {
	t.Helper()
	scripts := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1)
	if len(scripts) == 0 {
		t.Error("page loads no script")
	}
	for _, m := range scripts {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %q", m[0])
		}
		if regexp.MustCompile(`src="(https?:)?//`).MatchString(m[1]) {
			t.Errorf("script from another origin: %q", m[0])
		}
	}
	if regexp.MustCompile(`(?i)<style\b`).MatchString(html) {
		t.Error("inline <style> element")
	}
	if m := regexp.MustCompile(`(?i)\sstyle=`).FindString(html); m != "" {
		t.Error("inline style attribute")
	}
	if m := regexp.MustCompile(`(?i)\son[a-z]+=`).FindString(html); m != "" {
		t.Errorf("inline event handler %q", m)
	}
	if m := regexp.MustCompile(`(?i)(href|src)="(https?:)?//`).FindString(html); m != "" {
		t.Errorf("external resource %q", m)
	}
}

func TestPageUnknownAndExpired(t *testing.T) {
	srv, _ := newServer(t)
	for token, status := range map[string]int{"cap_nope": 404, "cap_gone": 410} {
		res, body := get(t, srv.URL+"/capture/"+token)
		if res.StatusCode != status {
			t.Errorf("%s: status %d, want %d", token, res.StatusCode, status)
		}
		// The page still renders: the script shows the failure screen.
		if !strings.Contains(string(body), `id="failure"`) || res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no page or no CSP", token)
		}
	}
}

func TestState(t *testing.T) {
	srv, _ := newServer(t)
	res, body := get(t, srv.URL+"/capture/cap_ok/state")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, cache %q: %s", res.StatusCode, res.Header.Get("Cache-Control"), body)
	}
	var st web.State
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != faceauth.CaptureInProgress || len(st.Steps) != 2 || st.Steps[0].Challenge != string(faceauth.ChallengeLeft) ||
		st.Nonce != "n0nce" || st.Theme.PrimaryColor != "#0f766e" {
		t.Errorf("state %+v", st)
	}

	cases := []struct {
		token  string
		status int
		code   fault.Kind
	}{
		{"cap_nope", 404, fault.NotFound},
		{"cap_gone", 410, fault.Expired},
		{"cap_done", 409, fault.Closed},
		{"cap_busy", 503, fault.Busy},
		{"cap_boom", 500, fault.Internal},
	}
	for _, c := range cases {
		res, body := get(t, srv.URL+"/capture/"+c.token+"/state")
		wantError(t, res, body, c.status, c.code)
		if strings.Contains(string(body), "10.0.0.7") {
			t.Errorf("internal error leaked: %s", body)
		}
	}
}

// multipartBody builds a frame upload; fields with a nil value are left out.
func multipartBody(t *testing.T, fields map[string][]byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, name := range []string{"challenge", "nonce", "frame", "extra"} {
		v, ok := fields[name]
		if !ok {
			continue
		}
		var w io.Writer
		var err error
		if name == "frame" {
			w, err = mw.CreateFormFile("frame", "frame.jpg")
		} else {
			w, err = mw.CreateFormField(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(v)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func fakeJPEG(n int) []byte {
	b := make([]byte, n)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	for i := 4; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

func TestFrame(t *testing.T) {
	srv, stub := newServer(t)
	jpeg := fakeJPEG(5000)
	ct, body := multipartBody(t, map[string][]byte{"challenge": []byte("turn_left"), "nonce": []byte("n0nce"), "frame": jpeg, "extra": []byte("ignored")})
	res, out := do(t, http.MethodPost, srv.URL+"/capture/cap_ok/frame", ct, body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, out)
	}
	var fr web.Frame
	if err := json.Unmarshal(out, &fr); err != nil {
		t.Fatal(err)
	}
	if fr.Feedback != faceauth.FeedbackMoveCloser || fr.Challenge != string(faceauth.ChallengeLeft) || len(fr.Steps) != 2 {
		t.Errorf("result %+v", fr)
	}
	if len(stub.frames) != 1 {
		t.Fatalf("%d frames reached the service", len(stub.frames))
	}
	got := stub.frames[0]
	if got.token != "cap_ok" || got.nonce != "n0nce" || got.challenge != faceauth.ChallengeLeft || !bytes.Equal(got.jpeg, jpeg) {
		t.Errorf("service got token %q nonce %q challenge %q %d bytes", got.token, got.nonce, got.challenge, len(got.jpeg))
	}

	// Exactly 2 MB is fine.
	ct, body = multipartBody(t, map[string][]byte{"challenge": []byte("turn_left"), "nonce": []byte("n0nce"), "frame": fakeJPEG(web.MaxFrameBytes)})
	if res, out := do(t, http.MethodPost, srv.URL+"/capture/cap_ok/frame", ct, body); res.StatusCode != 200 {
		t.Errorf("2 MB frame: status %d: %s", res.StatusCode, out)
	}
}

func TestFrameErrors(t *testing.T) {
	srv, stub := newServer(t)
	ok := map[string][]byte{"challenge": []byte("turn_left"), "nonce": []byte("n0nce"), "frame": fakeJPEG(100)}
	without := func(name string) map[string][]byte {
		m := map[string][]byte{}
		for k, v := range ok {
			if k != name {
				m[k] = v
			}
		}
		return m
	}
	with := func(name string, v []byte) map[string][]byte {
		m := without(name)
		m[name] = v
		return m
	}
	cases := []struct {
		name   string
		token  string
		fields map[string][]byte
		status int
		code   fault.Kind
	}{
		{"unknown token", "cap_nope", ok, 404, fault.NotFound},
		{"expired", "cap_gone", ok, 410, fault.Expired},
		{"finished", "cap_done", ok, 409, fault.Closed},
		{"wrong challenge", "cap_bad", ok, 400, fault.BadRequest},
		{"busy", "cap_busy", ok, 503, fault.Busy},
		{"internal", "cap_boom", ok, 500, fault.Internal},
		{"no frame", "cap_ok", without("frame"), 400, fault.MissingField},
		{"no challenge", "cap_ok", without("challenge"), 400, fault.MissingField},
		{"no nonce", "cap_ok", without("nonce"), 400, fault.MissingField},
		{"empty frame", "cap_ok", with("frame", []byte{}), 400, fault.EmptyImage},
		{"PNG frame", "cap_ok", with("frame", []byte("\x89PNG\r\n\x1a\nrest")), 415, fault.Unsupported},
		{"long nonce", "cap_ok", with("nonce", bytes.Repeat([]byte("n"), 2000)), 400, fault.BadRequest},
		{"frame over 2 MB", "cap_ok", with("frame", fakeJPEG(web.MaxFrameBytes+1)), 413, fault.ImageTooLarge},
		// Over the route's body limit: refused from Content-Length, unread.
		{"huge frame", "cap_ok", with("frame", fakeJPEG(5*web.MaxFrameBytes)), 413, fault.PayloadTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct, body := multipartBody(t, c.fields)
			res, out := do(t, http.MethodPost, srv.URL+"/capture/"+c.token+"/frame", ct, body)
			wantError(t, res, out, c.status, c.code)
		})
	}
	if len(stub.frames) != 0 {
		t.Errorf("%d bad frames reached the service", len(stub.frames))
	}

	t.Run("not multipart", func(t *testing.T) {
		res, out := do(t, http.MethodPost, srv.URL+"/capture/cap_ok/frame", "application/json", []byte(`{"frame":"x"}`))
		wantError(t, res, out, 400, fault.BadRequest)
	})
	t.Run("huge body, no length", func(t *testing.T) {
		// A streamed body without Content-Length is cut by the reader.
		ct, body := multipartBody(t, with("frame", fakeJPEG(3*web.MaxFrameBytes)))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/capture/cap_ok/frame", io.MultiReader(bytes.NewReader(body)))
		req.Header.Set("Content-Type", ct)
		req.ContentLength = -1
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		wantError(t, res, out, 413, fault.ImageTooLarge)
	})
}

func TestRouting(t *testing.T) {
	srv, stub := newServer(t)
	cases := []struct {
		method, path string
		status       int
		code         fault.Kind
		allow        string
	}{
		{"POST", "/capture/cap_ok/state", 405, fault.MethodNotAllowed, "GET, HEAD"},
		{"GET", "/capture/cap_ok/frame", 405, fault.MethodNotAllowed, "POST"},
		{"DELETE", "/capture/cap_ok", 405, fault.MethodNotAllowed, "GET, HEAD"},
		{"GET", "/capture/cap_ok/other", 404, fault.NotFound, ""},
		{"GET", "/capture/cap_ok/state/x", 404, fault.NotFound, ""},
		{"GET", "/capture/bad%20token/state", 404, fault.NotFound, ""},
		{"GET", "/capture/" + strings.Repeat("x", 200) + "/state", 404, fault.NotFound, ""},
		{"GET", "/capture/assets/nope.js", 404, fault.NotFound, ""},
		{"GET", "/capture/assets/capture.html", 404, fault.NotFound, ""},
		{"POST", "/capture/assets/capture.js", 405, fault.MethodNotAllowed, "GET, HEAD"},
	}
	before := stub.calls
	for _, c := range cases {
		res, body := do(t, c.method, srv.URL+c.path, "", nil)
		wantError(t, res, body, c.status, c.code)
		if c.allow != "" && res.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, res.Header.Get("Allow"), c.allow)
		}
	}
	if stub.calls != before {
		t.Errorf("bad routes called the service %d times", stub.calls-before)
	}
	// A trailing slash goes to the page.
	res, _ := get(t, srv.URL+"/capture/cap_ok/")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "../cap_ok" {
		t.Errorf("trailing slash: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The rest of the mux is untouched.
	if res, body := get(t, srv.URL+"/elsewhere"); res.StatusCode != 200 || string(body) != "ok" {
		t.Errorf("neighbour route: %d %s", res.StatusCode, body)
	}
}

func TestAssets(t *testing.T) {
	srv, _ := newServer(t)
	h := web.New(newStub(), nil)
	_, page := get(t, srv.URL+"/capture/cap_ok")
	refs := regexp.MustCompile(`(?:src|href)="(assets/[^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 3 {
		t.Fatalf("page references %d assets", len(refs))
	}
	for _, m := range refs {
		if !strings.HasSuffix(m[1], "?v="+h.AssetVersion()) {
			t.Errorf("asset %s not stamped with version %s", m[1], h.AssetVersion())
		}
		res, body := get(t, srv.URL+"/capture/"+m[1])
		if res.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("%s: status %d", m[1], res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", m[1], cc)
		}
		if res.Header.Get("ETag") == "" {
			t.Errorf("%s: no ETag", m[1])
		}
		for _, bad := range []string{"https://", "http://", "//fonts.", "@import", "eval(", "new Function", "innerHTML", "document.write"} {
			s := strings.ReplaceAll(string(body), "http://www.w3.org/2000/svg", "")
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", m[1], bad)
			}
		}
	}

	res, body := get(t, srv.URL+"/capture/assets/capture.js")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("capture.js: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("unversioned Cache-Control %q", cc)
	}
	for _, want := range []string{"getUserMedia", "toBlob", "'image/jpeg'", "/frame", "/state", "dataset.status", "dataset.challenge"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("capture.js lacks %q", want)
		}
	}
	res, _ = get(t, srv.URL+"/capture/assets/capture.css")
	if res.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("capture.css content type %q", res.Header.Get("Content-Type"))
	}

	// Revalidation.
	req2, _ := http.NewRequest(http.MethodGet, srv.URL+"/capture/assets/capture.css", nil)
	req2.Header.Set("If-None-Match", res.Header.Get("ETag"))
	r2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", r2.StatusCode)
	}

	// No path tricks.
	for _, p := range []string{"/capture/assets/../web.go", "/capture/assets/static/capture.js", "/capture/assets/"} {
		res, _ := get(t, srv.URL+p)
		if res.StatusCode == 200 {
			t.Errorf("%s served", p)
		}
	}
}

func TestHead(t *testing.T) {
	srv, _ := newServer(t)
	res, body := do(t, http.MethodHead, srv.URL+"/capture/cap_ok", "", nil)
	if res.StatusCode != 200 || len(body) != 0 || res.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("HEAD page: %d, %d bytes", res.StatusCode, len(body))
	}
}
