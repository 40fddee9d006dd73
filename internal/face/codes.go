package face

import (
	"errors"

	"github.com/visagehq/visage/internal/imageio"
)

// Stable error codes for image and engine failures, shared by the command
// line and the API so the same problem has the same name everywhere.
const (
	CodeEmptyImage    = "empty_image"
	CodeUnsupported   = "unsupported_image_format"
	CodeImageTooLarge = "image_too_large"
	CodeInvalidImage  = "invalid_image"
	CodeNoFace        = "no_face_found"
	CodeMultipleFaces = "multiple_faces"
	CodeModelMismatch = "model_mismatch"
	CodeUnavailable   = "model_unavailable"
	CodeInternal      = "internal_error"
)

// ErrorCode names an error from imageio or this package; "" for nil.
func ErrorCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, imageio.ErrEmpty):
		return CodeEmptyImage
	case errors.Is(err, imageio.ErrUnsupported):
		return CodeUnsupported
	case errors.Is(err, imageio.ErrTooLarge):
		return CodeImageTooLarge
	case errors.Is(err, imageio.ErrCorrupt):
		return CodeInvalidImage
	case errors.Is(err, ErrNoFace):
		return CodeNoFace
	case errors.Is(err, ErrMultipleFaces):
		return CodeMultipleFaces
	case errors.Is(err, ErrModelMismatch):
		return CodeModelMismatch
	case errors.Is(err, ErrUnavailable):
		return CodeUnavailable
	}
	return CodeInternal
}
