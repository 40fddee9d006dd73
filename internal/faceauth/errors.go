// Package faceauth is the face service: enrolment, 1:1 verification,
// 1:N search, comparison and analysis, on top of the engine, the store,
// blob storage and the search index. It knows tenants only as an
// integration id and policy, and nothing of HTTP.
package faceauth

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers branch on; the API maps each to a stable code.
var (
	ErrFaceNotEnrolled   = errors.New("face not enrolled")
	ErrAlreadyEnrolled   = errors.New("face already enrolled")
	ErrFaceDisabled      = errors.New("face is disabled")
	ErrInvalidInput      = errors.New("invalid input")
	ErrLowQuality        = errors.New("face quality too low")
	ErrSpoofSuspected    = errors.New("presentation attack suspected")
	ErrFacesDiffer       = errors.New("images show different people")
	ErrTemplateIntegrity = errors.New("stored template failed its integrity check")
	ErrBusy              = errors.New("face engine busy")
)

// ImageError ties an image-level failure to the input it came from, so a
// client sending four images learns which one failed.
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
