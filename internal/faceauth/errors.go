// Package faceauth is the face service: enrolment, 1:1 verification,
// 1:N search, comparison and analysis, on top of the engine, the store,
// blob storage and the search index. It knows tenants only as an
// integration id and policy, and nothing of HTTP or of any vendor's
// vocabulary. Every error it returns is a *fault.Error.
package faceauth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/fault/classify"
)

// Sentinels inside the service; callers see them classified (fault.Kind)
// and may still test them with errors.Is.
var (
	ErrFaceNotEnrolled   = errors.New("face not enrolled")
	ErrAlreadyEnrolled   = errors.New("face already enrolled")
	ErrDuplicate         = errors.New("face already enrolled under another face id")
	ErrFaceDisabled      = errors.New("face is disabled")
	ErrInvalidInput      = errors.New("invalid input")
	ErrMissingImage      = errors.New("image missing")
	ErrLowQuality        = errors.New("face quality too low")
	ErrSpoofSuspected    = errors.New("presentation attack suspected")
	ErrFacesDiffer       = errors.New("images show different people")
	ErrTemplateIntegrity = errors.New("stored template failed its integrity check")
	ErrBusy              = errors.New("face engine busy")
	ErrChallengeNotMet   = errors.New("liveness challenge not met")
	ErrCaptureNotFound   = errors.New("capture session not found")
	ErrCaptureExpired    = errors.New("capture session expired")
	ErrCaptureClosed     = errors.New("capture session already finished")
)

var kinds = []struct {
	err  error
	kind fault.Kind
}{
	{ErrFaceNotEnrolled, fault.NotEnrolled},
	{ErrAlreadyEnrolled, fault.AlreadyEnrolled},
	{ErrDuplicate, fault.Duplicate},
	{ErrFaceDisabled, fault.Disabled},
	{ErrInvalidInput, fault.BadRequest},
	{ErrMissingImage, fault.MissingField},
	{ErrLowQuality, fault.LowQuality},
	{ErrSpoofSuspected, fault.Spoof},
	{ErrFacesDiffer, fault.FacesDiffer},
	{ErrTemplateIntegrity, fault.Integrity},
	{ErrBusy, fault.Busy},
	{ErrChallengeNotMet, fault.ChallengeNotMet},
	{ErrCaptureNotFound, fault.NotFound},
	{ErrCaptureExpired, fault.Expired},
	{ErrCaptureClosed, fault.Closed},
	{face.ErrNoFace, fault.NoFace},
	{face.ErrMultipleFaces, fault.MultipleFaces},
	{face.ErrClosed, fault.Unavailable},
	{face.ErrModelMismatch, fault.Integrity},
}

// Classify is the service's classification of an engine, image or store
// error, for surfaces that call the engine directly (the command line).
func Classify(err error) error { return classified(err) }

// classified turns any error the service produced into a *fault.Error:
// the service's own sentinels by their kind (the message without the
// sentinel's prefix, which is the service's wording), image problems with
// one Problem per failing image, the rest through classify.
func classified(err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	var ie *ImageError
	if errors.As(err, &ie) {
		return imagesFault([]*ImageError{ie})
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return &fault.Error{Kind: k.kind, Message: message(err, k.err), Cause: err}
		}
	}
	return classify.Err(err)
}

// message is err's text without the leading "sentinel: ".
func message(err, sentinel error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, sentinel.Error()+": "); ok && rest != "" {
		return rest
	}
	return msg
}

// ImageError ties an image-level failure to the input it came from, so a
// client sending several images learns which ones failed.
type ImageError struct {
	Index int // 0-based position in the request
	Name  string
	Err   error
	// Reasons lists quality problems for ErrLowQuality.
	Reasons []string
}

func (e *ImageError) Error() string {
	msg := fmt.Sprintf("image %d", e.Index+1)
	if e.Name != "" {
		msg += " (" + e.Name + ")"
	}
	msg += ": " + e.Err.Error()
	if len(e.Reasons) > 0 {
		msg += ": " + strings.Join(e.Reasons, ", ")
	}
	return msg
}

func (e *ImageError) Unwrap() error { return e.Err }

// problem classifies one image's failure.
func (e *ImageError) problem() fault.Problem {
	inner := fault.As(classified(e.Err))
	msg := inner.Message
	if len(e.Reasons) > 0 {
		msg += ": " + strings.Join(e.Reasons, ", ")
	}
	return fault.Problem{Index: e.Index, Name: e.Name, Kind: inner.Kind, Message: msg, Reasons: e.Reasons}
}

// imagesFault is one error naming every failing image; its kind is the
// first failure's (an engine fault outranks the images' own problems).
func imagesFault(errs []*ImageError) error {
	out := &fault.Error{}
	for _, ie := range errs {
		p := ie.problem()
		if out.Kind == "" || (isServerKind(p.Kind) && !isServerKind(out.Kind)) {
			out.Kind, out.Cause = p.Kind, ie
		}
		out.Problems = append(out.Problems, p)
	}
	if isServerKind(out.Kind) {
		return classified(out.Cause.(*ImageError).Err)
	}
	if len(errs) == 1 {
		out.Message = errs[0].Error()
	} else {
		out.Message = fmt.Sprintf("%d images were refused", len(errs))
	}
	return out
}

// isServerKind: failures that are not about the image itself.
func isServerKind(k fault.Kind) bool {
	switch k {
	case fault.Internal, fault.Integrity, fault.Busy, fault.Unavailable:
		return true
	}
	return false
}
