// Package barcode reads 1D and 2D barcodes from decoded images, chiefly the
// PDF417 symbol on the back of North American driving licences (parsed by
// the aamva sub-package). The reading is zxing-cpp's, linked through cgo;
// this package owns the pixels it hands over (a grey copy, bounded in
// size), tries the orientations zxing does not, and turns its failures
// into typed errors.
package barcode

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/visagehq/visage/internal/imageio"
)

var (
	// ErrNotFound means no barcode of the asked formats could be read.
	ErrNotFound = errors.New("barcode: no barcode found")
	// ErrInvalidImage means the image is nil, empty or inconsistent.
	ErrInvalidImage = errors.New("barcode: invalid image")
	// ErrUnavailable means the binary was built without zxing-cpp
	// (-tags purego or CGO_ENABLED=0).
	ErrUnavailable = errors.New("barcode: built without zxing-cpp")
	// ErrDecoder means zxing-cpp itself failed (out of memory, an
	// internal exception); the message says how.
	ErrDecoder = errors.New("barcode: decoder failed")
	// ErrEncode means EncodePDF417 could not build a symbol (empty or
	// too much data).
	ErrEncode = errors.New("barcode: cannot encode")
)

// Format is a barcode symbology, with zxing-cpp's bit values.
type Format int

// The formats callers ask for by name; Any reads every symbology zxing-cpp
// knows.
const (
	Any    Format = 0
	PDF417 Format = 1 << 12
)

// Result is one decoded symbol.
type Result struct {
	Format     Format
	FormatName string // zxing-cpp's name, e.g. "PDF417"
	// Bytes is the symbol's raw content, before any character-set
	// conversion: what an AAMVA parser wants.
	Bytes []byte
	// Text is zxing-cpp's UTF-8 rendering of Bytes.
	Text string
	// Corners in the caller's image coordinates, clockwise from the
	// symbol's top-left.
	Corners [4]image.Point
	// Orientation of the symbol in degrees, as zxing-cpp reports it
	// (within the image handed to it, before this package's rotations).
	Orientation int
}

// Options bound and steer one Decode call; the zero value uses the
// defaults.
type Options struct {
	// MaxSide caps the longer side of the grey image handed to
	// zxing-cpp (default 2048): bigger images are box-shrunk first,
	// which bounds every attempt's time and memory. A licence barcode
	// across a third of a 2048-px photo still has ~2 px a module.
	MaxSide int
	// Angles are extra rotations (degrees) tried, in order, after the
	// upright and the deskewed attempts fail. None by default: the
	// deskew finds the card's angle, and each attempt costs as much as
	// the first.
	Angles []float64
	// MaxSymbols stops after this many symbols (default 4).
	MaxSymbols int
}

func (o Options) withDefaults() Options {
	if o.MaxSide <= 0 {
		o.MaxSide = 2048
	}
	if o.MaxSymbols <= 0 {
		o.MaxSymbols = 4
	}
	return o
}

// minSkew is the smallest skew worth a deskewed attempt: zxing-cpp 1.4
// reads a PDF417 symbol turned up to about 3° and no further (its
// TryRotate covers only quarter turns).
const minSkew = 1.5

// Decode reads every barcode zxing-cpp knows in img with the default
// options.
func Decode(ctx context.Context, img *imageio.Image) ([]Result, error) {
	return Options{}.Decode(ctx, img, Any)
}

// DecodePDF417 reads only PDF417 symbols, which is faster and never
// mistakes a licence's 1D barcode for its data.
func DecodePDF417(ctx context.Context, img *imageio.Image) ([]Result, error) {
	return Options{}.Decode(ctx, img, PDF417)
}

// Decode reads the barcodes of the given format (Any for all) in img:
// first as it is, then straightened by the skew its edges show, then at
// o.Angles. It checks ctx between attempts; one attempt on a MaxSide
// image takes up to a few hundred milliseconds and cannot be interrupted.
func (o Options) Decode(ctx context.Context, img *imageio.Image, format Format) ([]Result, error) {
	if img == nil || img.W <= 0 || img.H <= 0 || len(img.Pix) != img.W*img.H*3 {
		return nil, ErrInvalidImage
	}
	if !available {
		return nil, ErrUnavailable
	}
	o = o.withDefaults()
	g := toGrey(img, o.MaxSide)
	if g.w < minSide || g.h < minSide {
		return nil, ErrNotFound
	}
	attempts := []float64{0}
	if skew, _ := g.skew(); math.Abs(skew) >= minSkew {
		attempts = append(attempts, skew)
	}
	attempts = append(attempts, o.Angles...)
	for _, deg := range attempts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("barcode: %w", err)
		}
		src := g
		if deg != 0 {
			src = g.rotate(deg)
		}
		found, err := read(src, format, o.MaxSymbols)
		if err != nil {
			return nil, err
		}
		if len(found) > 0 {
			for i := range found {
				for k, p := range found[i].Corners {
					found[i].Corners[k] = src.toSource(p, g, img)
				}
			}
			return found, nil
		}
	}
	return nil, ErrNotFound
}

// minSide is below what any symbol with a quiet zone can occupy.
const minSide = 16
