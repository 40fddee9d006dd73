package video

import (
	"context"
	"errors"
)

// Errors callers branch on. Each wraps a message that says what was
// wrong with the file; ErrorCode names them for the API.
var (
	ErrEmpty         = errors.New("empty video file")
	ErrTooLarge      = errors.New("video file too large")
	ErrNotVideo      = errors.New("not a video file")
	ErrNoVideoStream = errors.New("no video stream in file")
	ErrUnsupported   = errors.New("unsupported video format")
	ErrCorrupt       = errors.New("corrupt or truncated video")
	ErrTooLong       = errors.New("video too long")
	ErrDimensions    = errors.New("video dimensions out of range")
	ErrUnavailable   = errors.New("ffmpeg/ffprobe not available")
	ErrOptions       = errors.New("invalid video analysis options")
)

// Stable codes for the errors above, in the style of face.ErrorCode.
const (
	CodeEmpty         = "empty_video"
	CodeTooLarge      = "video_too_large"
	CodeNotVideo      = "not_a_video"
	CodeNoVideoStream = "no_video_stream"
	CodeUnsupported   = "unsupported_video_format"
	CodeCorrupt       = "invalid_video"
	CodeTooLong       = "video_too_long"
	CodeDimensions    = "bad_video_dimensions"
	CodeUnavailable   = "video_tools_unavailable"
	CodeTimeout       = "video_timeout"
	CodeInternal      = "internal_error"
)

// ErrorCode names an error from this package; "" for nil. Errors from the
// face engine (during Analyze) are not named here: use face.ErrorCode.
func ErrorCode(err error) string {
	codes := []struct {
		err  error
		code string
	}{
		{ErrEmpty, CodeEmpty}, {ErrTooLarge, CodeTooLarge}, {ErrNotVideo, CodeNotVideo},
		{ErrNoVideoStream, CodeNoVideoStream}, {ErrUnsupported, CodeUnsupported},
		{ErrCorrupt, CodeCorrupt}, {ErrTooLong, CodeTooLong}, {ErrDimensions, CodeDimensions},
		{ErrUnavailable, CodeUnavailable}, {context.DeadlineExceeded, CodeTimeout},
	}
	if err == nil {
		return ""
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return CodeInternal
}
