// Package web serves Visage's hosted pages: the face-2FA capture page, its
// JSON endpoints and its embedded assets. Everything the page needs is
// served from here (no CDN, no external fonts); the page itself holds no
// inline script and is sent with a strict Content-Security-Policy.
//
// Routes, relative to where the Handler is mounted (mount it on "/capture/"):
//
//	GET  /capture/{token}          the capture page (HTML)
//	GET  /capture/{token}/state    faceauth.CaptureState as JSON
//	POST /capture/{token}/frame    multipart: frame (JPEG ≤ 2 MB), challenge, nonce → faceauth.FrameResult
//	GET  /capture/assets/{file}    embedded JS/CSS/SVG, cacheable
//
// Errors are JSON: {"error":{"code","message"}}, the code a fault kind and
// the message a sentence for a person. The handler is mounted on the
// request edge (Surface), which gives it request ids, logs, metrics and
// body limits like every other surface.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// CaptureService is what the capture page needs from the face service
// (*faceauth.Service implements it).
type CaptureService interface {
	State(ctx context.Context, token string) (*faceauth.CaptureState, error)
	Frame(ctx context.Context, token string, challenge faceauth.Challenge, nonce string, jpeg []byte) (*faceauth.FrameResult, error)
}

// MaxFrameBytes caps one uploaded camera frame.
const MaxFrameBytes = 2 << 20

// Prefix is the path the Handler serves; mount it there:
// mux.Handle(web.Prefix, h).
const Prefix = "/capture/"

// Handler serves the capture page, its endpoints and its assets.
type Handler struct {
	capture CaptureService
	log     *slog.Logger
	assets  *assetSet
}

// New builds the handler. log may be nil (slog.Default()).
func New(capture CaptureService, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{capture: capture, log: log, assets: mustLoadAssets()}
}

// Surface is the capture page on the request edge: one public route (the
// token in the path is the credential), bodies capped at one frame.
func (h *Handler) Surface() edge.Surface {
	return edge.Surface{Name: "capture", Renderer: renderer{}, Routes: []edge.Route{
		{Pattern: Prefix, Handler: h.ServeHTTP, MaxBody: MaxFrameBytes + multipartSlack, Undocumented: true},
	}}
}

// AssetVersion is the content hash stamped on asset URLs (?v=…).
func (h *Handler) AssetVersion() string { return h.assets.version }

// ServeHTTP routes by hand: "/capture/assets/…" and "/capture/{token}/…"
// overlap in a ServeMux pattern set ("/capture/assets/state"), so the
// table lives here, in one switch.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The token is in the URL: never leak it to the logo host or the
	// integration's redirect target.
	w.Header().Set("Referrer-Policy", "no-referrer")

	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		edge.Fail(w, r, fault.New(fault.NotFound, "no such page"))
		return
	}
	seg := strings.Split(rest, "/")
	if seg[0] == "assets" {
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		h.assets.serve(w, r, strings.Join(seg[1:], "/"))
		return
	}
	token := seg[0]
	if !validToken(token) {
		edge.Fail(w, r, fault.New(fault.NotFound, "no such capture session"))
		return
	}
	switch {
	case len(seg) == 1:
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.page(w, r, token)
		}
	case len(seg) == 2 && seg[1] == "":
		// Relative, so it works wherever the handler is mounted.
		w.Header().Set("Location", "../"+token)
		w.WriteHeader(http.StatusMovedPermanently)
	case len(seg) == 2 && seg[1] == "state":
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.state(w, r, token)
		}
	case len(seg) == 2 && seg[1] == "frame":
		if allow(w, r, http.MethodPost) {
			h.frame(w, r, token)
		}
	default:
		edge.Fail(w, r, fault.New(fault.NotFound, "no such endpoint"))
	}
}

// allow answers 405 with an Allow header unless r's method is listed.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	edge.Fail(w, r, fault.New(fault.MethodNotAllowed, "use %s", strings.Join(methods, " or ")))
	return false
}

// validToken keeps obviously bogus tokens away from the store: URL-safe
// characters, bounded length.
func validToken(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

// shortToken is a log-safe prefix of a token (the whole token is a bearer
// secret for the session).
func shortToken(s string) string {
	if len(s) > 10 {
		return s[:10] + "…"
	}
	return s
}
