// Package imageio turns untrusted image bytes into pixels the face engine
// can use: format sniffing, size limits checked before decoding, EXIF
// orientation, and the resampling the engine needs (resize, affine warp).
package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // accepted because browsers and some SDKs send it
	"image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/webp"
)

// Sentinel errors callers branch on (the API maps each to a stable code).
var (
	ErrEmpty       = errors.New("empty image")
	ErrUnsupported = errors.New("unsupported image format (use JPEG, PNG or WebP)")
	ErrTooLarge    = errors.New("image too large")
	ErrCorrupt     = errors.New("corrupt or truncated image")
)

// Limits bound what Decode accepts. Zero values mean the defaults.
type Limits struct {
	MaxBytes  int64 // encoded size
	MaxPixels int64 // width × height, checked from the header before decoding
}

// Default limits: a 50 MP photo is larger than any phone takes today, and
// decoding it costs ~150 MB of memory, which bounds a single request.
const (
	DefaultMaxBytes  = 20 << 20
	DefaultMaxPixels = 50_000_000
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// Info describes what was decoded.
type Info struct {
	Format      string
	Width       int // after orientation
	Height      int
	Orientation int // EXIF orientation applied (1 = none)
}

// Decode decodes JPEG, PNG, WebP (and GIF) bytes into an RGB image with the
// EXIF orientation applied. Dimensions are checked from the header first so
// a decompression bomb is refused before any pixel buffer is allocated.
func Decode(data []byte, lim Limits) (*Image, Info, error) {
	lim = lim.withDefaults()
	var info Info
	if len(data) == 0 {
		return nil, info, ErrEmpty
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, info, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, info, ErrUnsupported
		}
		return nil, info, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	info.Format = format
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, info, fmt.Errorf("%w: %dx%d", ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return nil, info, fmt.Errorf("%w: %dx%d is %d pixels, limit %d", ErrTooLarge, cfg.Width, cfg.Height, px, lim.MaxPixels)
	}
	img, err := decodePixels(data, format)
	if err != nil {
		return nil, info, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	rgb := FromImage(img)
	info.Orientation = orientation(data, format)
	rgb = rgb.Orient(info.Orientation)
	info.Width, info.Height = rgb.W, rgb.H
	return rgb, info, nil
}

func decodePixels(data []byte, format string) (image.Image, error) {
	if format == "jpeg" {
		return jpeg.Decode(bytes.NewReader(data))
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	return img, err
}

// MIMEType names the format of encoded image bytes from their header
// ("image/jpeg", "image/png", "image/webp", "image/gif"), or
// "application/octet-stream". Stored images are served with this type,
// never with one a client declared.
func MIMEType(data []byte) string {
	_, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "application/octet-stream"
	}
	return "image/" + format
}
