package web

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// maxFieldBytes caps the small text fields of a frame upload.
const maxFieldBytes = 1 << 10

// multipartSlack is what a frame upload may carry beyond the frame itself
// (boundaries, part headers, challenge, nonce).
const multipartSlack = 64 << 10

// page serves the capture page. It asks for the session's state only to
// learn the theme's logo host for the CSP; the page renders every state
// (including unknown and expired tokens) from /state itself, so an error
// here changes the HTTP status but not the body.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, token string) {
	status := http.StatusOK
	logoSrc := ""
	var frames []string
	st, err := h.capture.State(r.Context(), token)
	if err != nil {
		fe := fault.As(err)
		status = pageErrors[fe.Kind].status
		if status == 0 || status >= 500 {
			status = http.StatusInternalServerError
			h.log.ErrorContext(r.Context(), "capture page: state failed", "token", shortToken(token), "kind", fe.Kind, "err", err)
		}
	} else {
		logoSrc = logoSource(st.Theme.LogoURL)
		frames, _ = frameAncestors(st.FrameOrigins)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", contentSecurityPolicy(logoSrc, frames))
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()")
	if len(frames) == 0 {
		hd.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	}
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(h.assets.page)
}

// contentSecurityPolicy is the page's policy: only Visage's own script,
// styles and endpoints; images also from data:/blob: and the theme's logo
// host. The camera stream is a srcObject, which CSP does not govern. Pages
// that an integration may embed name their frame ancestors; the rest none.
func contentSecurityPolicy(logoSrc string, ancestors []string) string {
	img := "img-src 'self' data: blob:"
	if logoSrc != "" {
		img += " " + logoSrc
	}
	fa := "frame-ancestors 'none'"
	if len(ancestors) > 0 {
		fa = "frame-ancestors " + strings.Join(ancestors, " ")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		img,
		"media-src 'self' blob: mediastream:",
		"connect-src 'self'",
		"font-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		fa,
	}, "; ")
}

// logoSource is the CSP source (scheme://host[:port]) of an absolute
// http(s) logo URL, or "" for anything else (relative and data: URLs are
// covered by 'self' and data:; other schemes are not allowed at all).
func logoSource(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	for i := 0; i < len(u.Host); i++ {
		c := u.Host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return ""
		}
	}
	return u.Scheme + "://" + u.Host
}

func (h *Handler) state(w http.ResponseWriter, r *http.Request, token string) {
	st, err := h.capture.State(r.Context(), token)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, StateOf(st))
}

// frameSpec: one JPEG frame of at most 2 MB, beside the small fields.
var frameSpec = edge.UploadSpec{Images: []string{"frame"}, MaxImageBytes: MaxFrameBytes, MaxImages: 1, NoRaw: true}

// frame takes one camera frame: multipart/form-data with "frame" (JPEG),
// "challenge" and "nonce".
func (h *Handler) frame(w http.ResponseWriter, r *http.Request, token string) {
	// Frames are the page's heavy requests: rate-limited per link and
	// admitted like the API's images, before the body is read.
	release, ok := edge.Throttle(w, r, "capture:"+token)
	if !ok {
		return
	}
	defer release()
	up, err := readFrameUpload(r)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	res, err := h.capture.Frame(r.Context(), token, faceauth.Challenge(up.challenge), up.nonce, up.jpeg)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, FrameOf(res))
}

type frameUpload struct {
	challenge, nonce string
	jpeg             []byte
}

func readFrameUpload(r *http.Request) (*frameUpload, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, fault.New(fault.BadRequest, "expected multipart/form-data with fields frame, challenge and nonce")
	}
	u, err := edge.ParseUpload(r, frameSpec)
	if err != nil {
		return nil, err
	}
	up := &frameUpload{challenge: u.Field("challenge"), nonce: u.Field("nonce")}
	frames := u.ImagesFor("frame")
	switch {
	case len(frames) == 0:
		return nil, fault.New(fault.MissingField, "missing field: frame (the JPEG camera frame)")
	case up.challenge == "":
		return nil, fault.New(fault.MissingField, "missing field: challenge")
	case up.nonce == "":
		return nil, fault.New(fault.MissingField, "missing field: nonce")
	case len(up.challenge) > maxFieldBytes || len(up.nonce) > maxFieldBytes:
		return nil, fault.New(fault.BadRequest, "field too long")
	case len(frames[0].Data) == 0:
		return nil, fault.New(fault.EmptyImage, "frame is empty")
	case !bytes.HasPrefix(frames[0].Data, []byte{0xFF, 0xD8, 0xFF}):
		return nil, fault.New(fault.Unsupported, "frame must be a JPEG image")
	}
	up.jpeg = frames[0].Data
	return up, nil
}
