package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// The hosted face-authentication page:
//
//	GET  /face-auth/{token}          the page (HTML): camera, one selfie, the result
//	GET  /face-auth/{token}/state    faceauth.AuthState as JSON
//	POST /face-auth/{token}/selfie   multipart: selfie (JPEG ≤ 2 MB) → the state after it
//	GET  /face-auth/code             a form to type a session's six-digit code
//	POST /face-auth/code             the code → 303 to the page for this device
//	GET  /face-auth/assets/{file}    embedded JS/CSS/SVG

// FaceAuthPrefix is where FaceAuthHandler is mounted.
const FaceAuthPrefix = "/face-auth/"

// FaceAuthService is what the page needs (*faceauth.Service).
type FaceAuthService interface {
	AuthSessionState(ctx context.Context, token string) (*faceauth.AuthState, error)
	AuthenticateSelfie(ctx context.Context, token string, jpeg []byte) (*faceauth.AuthState, error)
	RedeemDigitCode(ctx context.Context, code string) (string, error)
}

// FaceAuthHandler serves the face-authentication page and the code page.
type FaceAuthHandler struct {
	svc    FaceAuthService
	log    *slog.Logger
	codes  *edge.KeyedLimiter // guesses of a six-digit code, per address
	assets *assetSet
}

// NewFaceAuth builds the handler.
func NewFaceAuth(svc FaceAuthService, log *slog.Logger) *FaceAuthHandler {
	if log == nil {
		log = slog.Default()
	}
	// Ten tries a minute per address, after a burst of five: a person
	// mistyping is not held up; a million codes take years from one place.
	return &FaceAuthHandler{svc: svc, log: log, codes: edge.NewKeyedLimiter(10, 5), assets: mustLoadFaceAuthAssets()}
}

var (
	faOnce   sync.Once
	faAssets *assetSet
)

func mustLoadFaceAuthAssets() *assetSet {
	faOnce.Do(func() {
		s, err := loadAssets(staticFS, "faceauth.html", func(n string) bool {
			return strings.HasPrefix(n, "faceauth") || strings.HasPrefix(n, "sdk-") || n == "capture.css" || n == "icon.svg"
		})
		if err != nil {
			panic("web: embedded face-auth assets: " + err.Error())
		}
		faAssets = s
	})
	return faAssets
}

// Surface is the page on the request edge; the token in the path is the
// credential.
func (h *FaceAuthHandler) Surface() edge.Surface {
	return edge.Surface{Name: "face-auth", Renderer: renderer{}, Routes: []edge.Route{
		{Pattern: FaceAuthPrefix, Handler: h.ServeHTTP, MaxBody: MaxFrameBytes + multipartSlack, Undocumented: true},
		{Pattern: "GET /sdk/visage.js", Handler: h.sdk, Undocumented: true},
	}}
}

// sdk serves the web helper (docs/sdk.md) to any page that loads it.
func (h *FaceAuthHandler) sdk(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.assets.serve(w, r, "sdk-visage.js")
}

// ServeHTTP routes by hand, as the capture page does.
func (h *FaceAuthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, FaceAuthPrefix), "/")
	switch {
	case seg[0] == "assets":
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.assets.serve(w, r, strings.Join(seg[1:], "/"))
		}
	case seg[0] == "code" && len(seg) == 1:
		if allow(w, r, http.MethodGet, http.MethodHead, http.MethodPost) {
			h.code(w, r)
		}
	case !validToken(seg[0]):
		edge.Fail(w, r, fault.New(fault.NotFound, "no such face-authentication session"))
	case len(seg) == 1:
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.page(w, r, seg[0])
		}
	case len(seg) == 2 && seg[1] == "state":
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.state(w, r, seg[0])
		}
	case len(seg) == 2 && seg[1] == "selfie":
		if allow(w, r, http.MethodPost) {
			h.selfie(w, r, seg[0])
		}
	default:
		edge.Fail(w, r, fault.New(fault.NotFound, "no such endpoint"))
	}
}

// pageHeaders are the hosted page's headers; frames are the origins that
// may show it in an iFrame (none: it refuses framing).
func pageHeaders(w http.ResponseWriter, frames []string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", contentSecurityPolicy("", frames))
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()")
	if len(frames) == 0 {
		hd.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	}
	// No Cross-Origin-Opener-Policy: a client's page opens this one as a
	// popup (/sdk/visage.js) and must keep the opener link to hear the
	// result.
}

// page serves the page; it renders every state (unknown and expired
// sessions included) from /state itself.
func (h *FaceAuthHandler) page(w http.ResponseWriter, r *http.Request, token string) {
	var frames []string
	if st, err := h.svc.AuthSessionState(r.Context(), token); err == nil {
		frames, _ = frameAncestors(st.FrameOrigins)
	}
	pageHeaders(w, frames)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(h.assets.page)
}

func (h *FaceAuthHandler) state(w http.ResponseWriter, r *http.Request, token string) {
	st, err := h.svc.AuthSessionState(r.Context(), token)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, AuthStateOf(st))
}

var selfieSpec = edge.UploadSpec{Images: []string{"selfie"}, MaxImageBytes: MaxFrameBytes, MaxImages: 1, NoRaw: true}

func (h *FaceAuthHandler) selfie(w http.ResponseWriter, r *http.Request, token string) {
	release, ok := edge.Throttle(w, r, "face-auth:"+token)
	if !ok {
		return
	}
	defer release()
	u, err := edge.ParseUpload(r, selfieSpec)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	imgs := u.ImagesFor("selfie")
	if len(imgs) == 0 {
		edge.Fail(w, r, fault.New(fault.MissingField, "missing field: selfie (the JPEG photo)"))
		return
	}
	st, err := h.svc.AuthenticateSelfie(r.Context(), token, imgs[0].Data)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, AuthStateOf(st))
}

// codePage is the form for a session's six-digit code: plain HTML, no
// script needed.
var codePage = template.Must(template.New("code").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow">
<title>Enter your code</title>
<link rel="stylesheet" href="assets/capture.css?v={{.Version}}">
</head><body data-status="code"><main class="app">
<h1 class="title">Enter your code</h1>
<section class="panel">
<form method="post" action="code" class="code-form">
<label for="code">The six-digit code you were given</label>
<input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus>
{{if .Error}}<p id="code-error" class="error" role="alert">{{.Error}}</p>{{end}}
<button class="button" type="submit">Continue</button>
</form>
</section></main></body></html>
`))

func (h *FaceAuthHandler) code(w http.ResponseWriter, r *http.Request) {
	data := struct{ Version, Error string }{Version: h.assets.version}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		if !h.codes.Allow(w, r, "face-auth-code") {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		token, err := h.svc.RedeemDigitCode(r.Context(), strings.TrimSpace(r.PostFormValue("code")))
		if err == nil {
			w.Header().Set("Location", token)
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		fe := fault.As(err)
		if fe.Kind == fault.Internal || fe.Kind == fault.Unavailable {
			edge.Fail(w, r, err)
			return
		}
		status, data.Error = http.StatusBadRequest, "This code is not valid or has expired. Check it and try again."
	}
	pageHeaders(w, nil)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_ = codePage.Execute(w, data)
	}
}
