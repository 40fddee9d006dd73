// Package fault is the one closed taxonomy of failures Visage's services
// report. A service classifies every engine, image, store and policy error
// once, into a Kind with a client-safe message; each HTTP surface (native
// /v1, the hosted pages, each vendor adapter) only renders a Kind in its
// own shape. The package is a leaf: it imports nothing of Visage, so any
// surface may depend on it without reaching the store or the engine.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Kind names a class of failure. The set is closed: surfaces switch on it
// exhaustively, and a test checks every renderer knows every Kind.
type Kind string

// The kinds. Their spelling is stable (it appears in logs and metrics).
const (
	Internal         Kind = "internal"          // a bug or an unexpected dependency failure
	BadRequest       Kind = "bad_request"       // a parameter is invalid
	MissingField     Kind = "missing_field"     // a required field or file is absent
	MalformedBody    Kind = "malformed_body"    // the body is not parseable JSON/form/multipart
	InvalidImage     Kind = "invalid_image"     // corrupt or truncated image
	EmptyImage       Kind = "empty_image"       // zero-byte image
	Unsupported      Kind = "unsupported"       // not an accepted image (or media) type
	ImageTooLarge    Kind = "image_too_large"   // one file over its limit (bytes or pixels)
	PayloadTooLarge  Kind = "payload_too_large" // the whole body over its limit
	NoFace           Kind = "no_face"
	MultipleFaces    Kind = "multiple_faces"
	LowQuality       Kind = "low_quality"       // blurry, dark, too small, cut off, turned
	Spoof            Kind = "spoof"             // passive liveness failed: photo or screen
	FacesDiffer      Kind = "faces_differ"      // images of one request show different people
	ChallengeNotMet  Kind = "challenge_not_met" // an active-liveness challenge was not shown
	NotEnrolled      Kind = "not_enrolled"      // no such face, or it has no template yet
	AlreadyEnrolled  Kind = "already_enrolled"  // the face id already has images
	Duplicate        Kind = "duplicate"         // the face belongs to another face id
	Disabled         Kind = "disabled"          // the face is disabled
	Conflict         Kind = "conflict"          // a concurrent change or a busy resource
	NotFound         Kind = "not_found"
	Expired          Kind = "expired" // a session or link past its lifetime
	Gone             Kind = "gone"    // deleted for good (a file past its retention)
	Closed           Kind = "closed"  // a session already finished
	Unauthorized     Kind = "unauthorized"
	Forbidden        Kind = "forbidden"
	MethodNotAllowed Kind = "method_not_allowed"
	RateLimited      Kind = "rate_limited"
	Busy             Kind = "busy"          // overloaded: retry shortly
	Unavailable      Kind = "unavailable"   // shutting down or a dependency is down
	Integrity        Kind = "integrity"     // stored data failed its integrity check
	InvalidVideo     Kind = "invalid_video" // not a video, corrupt, no video stream, too long
	Locked           Kind = "locked"        // locked after too many failed verifications
)

// Kinds lists every Kind, for exhaustiveness tests of renderers.
var Kinds = []Kind{Internal, BadRequest, MissingField, MalformedBody, InvalidImage, EmptyImage, Unsupported,
	ImageTooLarge, PayloadTooLarge, NoFace, MultipleFaces, LowQuality, Spoof, FacesDiffer, ChallengeNotMet,
	NotEnrolled, AlreadyEnrolled, Duplicate, Disabled, Conflict, NotFound, Expired, Gone, Closed, Unauthorized,
	Forbidden, MethodNotAllowed, RateLimited, Busy, Unavailable, Integrity, InvalidVideo, Locked}

// Error is a classified failure. Message is safe to show a client (for
// Internal it is generic; the cause goes to the log).
type Error struct {
	Kind    Kind
	Message string
	// Problems lists per-item failures of a request carrying several
	// images (every failing image at once, not only the first).
	Problems []Problem
	// Subject names what the error is about when useful to a client (e.g.
	// the face id another enrolment holds, for Duplicate).
	Subject string
	Cause   error
}

// Problem is one failing item of a request: which input, of what kind, why.
type Problem struct {
	Index   int    // 0-based position in the request
	Name    string // form field or challenge name
	Kind    Kind
	Message string
	Reasons []string // quality problems, for LowQuality
}

func (e *Error) Error() string {
	if e.Cause != nil && e.Kind == Internal {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New makes an error of kind with a client-safe message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies cause as kind with a client-safe message.
func Wrap(kind Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// As returns the classified error in err's chain, or an Internal one
// wrapping err (nil for nil).
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Message: "internal error", Cause: err}
}

// KindOf is the Kind of err: Internal when unclassified, "" for nil.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	return As(err).Kind
}

// Is reports whether err is classified as kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// Summary is a one-line message naming every problem, for surfaces whose
// error shape holds only a string.
func (e *Error) Summary() string {
	if len(e.Problems) <= 1 {
		return e.Message
	}
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Name + ": " + p.Message
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}
