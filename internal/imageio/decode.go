// Package imageio turns untrusted image bytes into pixels the face engine
// can use: format sniffing; every decode priced from the header and
// refused or queued before any pixel buffer exists (Limits, Plan, Budget);
// a bounded EXIF orientation reader; JPEG decoding through TurboJPEG,
// shrunk in the DCT domain (the standard decoders otherwise, or with
// -tags purego); and the resampling the engine needs (resize, affine warp).
package imageio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // accepted because browsers and some SDKs send it
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

// Limits bound what Decode accepts and what it produces. Zero values
// mean the defaults; the presets below suit each kind of upload.
type Limits struct {
	MaxBytes  int64 // encoded size
	MaxPixels int64 // stored width × height, checked from the header before decoding
	// MaxSide is the longest side of the decoded image: larger images are
	// shrunk by the smallest power of two that fits them (JPEGs in the
	// DCT domain, while decoding), so their longer side ends up between
	// MaxSide/2 and MaxSide. Negative means keep every pixel.
	MaxSide int
	// MaxMemory bounds one decode's peak memory (Plan.Cost), checked from
	// the header before any pixel buffer is allocated.
	MaxMemory int64
}

// Defaults. A 50 MP photo is larger than any phone takes today. The face
// engine samples every model input from the decoded image through its
// own resampling: the detector sees the whole image at 320×240, so a face
// it can find there is at least ~5 % of the image's side (~100 px at 2048;
// when that pass finds nothing, a tiled pass finds faces down to ~40 px), and
// the largest per-face crops (pose and expression, 224 px from 1.2–1.5×
// the box; liveness, 128 px from 2.7×; the 112 px aligned face) need no
// more than ~250 px across the face. 2048 keeps every detectable face at
// or above the models' input size even at half of it; more only costs
// decode time.
const (
	DefaultMaxBytes  = 20 << 20
	DefaultMaxPixels = 50_000_000
	DefaultMaxSide   = 2048
	// DefaultMaxMemory admits a 50 MP JPEG (any kind, with TurboJPEG) or
	// 8-bit PNG, and refuses 16-bit PNGs beyond ~30 MP (8 bytes a pixel).
	DefaultMaxMemory = 256 << 20
)

// CameraFrameLimits suit frames from the hosted capture page and selfie
// videos: the browser sends at most 1920×1080, the face fills much of it.
func CameraFrameLimits() Limits {
	return Limits{MaxBytes: 4 << 20, MaxPixels: 4_000_000, MaxSide: 1280, MaxMemory: 64 << 20}
}

// SelfieLimits suit uploaded selfies and enrolment photos: phones take
// 12–24 MP (4032×3024 to 6000×4000).
func SelfieLimits() Limits {
	return Limits{MaxBytes: 20 << 20, MaxPixels: 25_000_000, MaxSide: DefaultMaxSide, MaxMemory: DefaultMaxMemory}
}

// DocumentLimits suit ID-document photos and scans, up to 50 MP. The
// larger MaxSide keeps the MRZ's characters (44 across the page) ~60 px
// wide for OCR; the face on a document is small and gains from it too.
func DocumentLimits() Limits {
	return Limits{MaxBytes: 20 << 20, MaxPixels: 50_000_000, MaxSide: 3072, MaxMemory: DefaultMaxMemory}
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxSide == 0 {
		l.MaxSide = DefaultMaxSide
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	return l
}

// Info describes what was decoded.
type Info struct {
	Format      string
	Width       int // of the returned image: after orientation and shrinking
	Height      int
	Orientation int // EXIF orientation applied (1 = none)
	// SourceWidth and SourceHeight are the encoded image's size, upright
	// (after orientation) but before shrinking. Coordinates found in the
	// returned image map back to the source by dividing by Scale.
	SourceWidth, SourceHeight int
	Scale                     float64 // Width / SourceWidth; 1 when not shrunk
	Decoder                   string  // "turbojpeg" or "go"
	Cost                      int64   // the memory the decode was priced at (Plan.Cost)
}

// Decode decodes JPEG, PNG, WebP (and GIF) bytes into an RGB image with the
// EXIF orientation applied, shrunk to fit lim.MaxSide. The header is read
// and the decode priced first, so a decompression bomb is refused before
// any pixel buffer is allocated. Decode does not bound how many decodes
// run at once; a Budget does.
func Decode(data []byte, lim Limits) (*Image, Info, error) {
	return decode(context.Background(), data, lim, func(context.Context, int64) (func(), error) { return func() {}, nil })
}

// decode runs a plan, holding reserve(cost) while it decodes; when
// TurboJPEG refuses the file it re-plans for the standard decoder, whose
// cost differs, and reserves again.
func decode(ctx context.Context, data []byte, lim Limits, reserve func(context.Context, int64) (func(), error)) (*Image, Info, error) {
	p, err := NewPlan(data, lim)
	if err != nil {
		return nil, Info{}, err
	}
	img, info, err := p.reserveAndRun(ctx, data, reserve)
	if !errors.Is(err, errTurboRefused) {
		return img, info, err
	}
	turboErr := err
	if p, err = p.fallback(); err != nil {
		return nil, Info{}, fmt.Errorf("%w: %v; %v", ErrCorrupt, turboErr, err)
	}
	return p.reserveAndRun(ctx, data, reserve)
}

func (p Plan) reserveAndRun(ctx context.Context, data []byte, reserve func(context.Context, int64) (func(), error)) (*Image, Info, error) {
	release, err := reserve(ctx, p.Cost)
	if err != nil {
		return nil, Info{}, err
	}
	defer release()
	return p.run(data)
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
