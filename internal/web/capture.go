package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/visagehq/visage/internal/faceauth"
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
	st, err := h.capture.State(r.Context(), token)
	if err != nil {
		var code Code
		status, code, _ = statusFor(err)
		if status >= 500 {
			h.log.ErrorContext(r.Context(), "capture page: state failed", "token", shortToken(token), "code", code, "err", err)
		}
	} else {
		logoSrc = logoSource(st.Theme.LogoURL)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", contentSecurityPolicy(logoSrc))
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(h.assets.page)
}

// contentSecurityPolicy is the page's policy: only Visage's own script,
// styles and endpoints; images also from data:/blob: and the theme's logo
// host. The camera stream is a srcObject, which CSP does not govern.
func contentSecurityPolicy(logoSrc string) string {
	img := "img-src 'self' data: blob:"
	if logoSrc != "" {
		img += " " + logoSrc
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
		"frame-ancestors 'none'",
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
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// frame takes one camera frame: multipart/form-data with "frame" (JPEG),
// "challenge" and "nonce".
func (h *Handler) frame(w http.ResponseWriter, r *http.Request, token string) {
	if r.ContentLength > MaxFrameBytes+multipartSlack {
		h.writeError(w, r, errCode(CodeImageTooLarge, "frame too large: at most 2 MB"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFrameBytes+multipartSlack)
	up, err := readFrameUpload(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.capture.Frame(r.Context(), token, faceauth.Challenge(up.challenge), up.nonce, up.jpeg)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type frameUpload struct {
	challenge, nonce string
	jpeg             []byte
}

func readFrameUpload(r *http.Request) (*frameUpload, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, errCode(CodeBadRequest, "expected multipart/form-data with fields frame, challenge and nonce")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errCode(CodeBadRequest, "malformed multipart body: "+err.Error())
	}
	up := &frameUpload{}
	var haveFrame, haveChallenge, haveNonce bool
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bodyError(err)
		}
		switch part.FormName() {
		case "frame":
			data, err := io.ReadAll(io.LimitReader(part, MaxFrameBytes+1))
			if err != nil {
				return nil, bodyError(err)
			}
			if len(data) > MaxFrameBytes {
				return nil, errCode(CodeImageTooLarge, "frame too large: at most 2 MB")
			}
			up.jpeg, haveFrame = data, true
		case "challenge", "nonce":
			data, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return nil, bodyError(err)
			}
			if len(data) > maxFieldBytes {
				return nil, errCode(CodeBadRequest, "field "+part.FormName()+" too long")
			}
			if part.FormName() == "challenge" {
				up.challenge, haveChallenge = string(data), true
			} else {
				up.nonce, haveNonce = string(data), true
			}
		default:
			if _, err := io.Copy(io.Discard, part); err != nil { // bounded by MaxBytesReader
				return nil, bodyError(err)
			}
		}
		_ = part.Close()
	}
	switch {
	case !haveFrame:
		return nil, errCode(CodeMissingField, "missing field: frame (the JPEG camera frame)")
	case !haveChallenge || up.challenge == "":
		return nil, errCode(CodeMissingField, "missing field: challenge")
	case !haveNonce || up.nonce == "":
		return nil, errCode(CodeMissingField, "missing field: nonce")
	case len(up.jpeg) == 0:
		return nil, errCode(CodeEmptyImage, "frame is empty")
	case !bytes.HasPrefix(up.jpeg, []byte{0xFF, 0xD8, 0xFF}):
		return nil, errCode(CodeUnsupportedImage, "frame must be a JPEG image")
	}
	return up, nil
}

// bodyError classifies a failure while reading the request body.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errCode(CodeImageTooLarge, "frame too large: at most 2 MB")
	}
	return errCode(CodeBadRequest, "malformed multipart body: "+err.Error())
}
