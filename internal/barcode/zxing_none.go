//go:build !cgo || purego

package barcode

import (
	"fmt"

	"github.com/visagehq/visage/internal/imageio"
)

// Built with -tags purego (or without cgo): no barcode reader.
const available = false

func read(*grey, Format, int) ([]Result, error) { return nil, ErrUnavailable }

// EncodePDF417 needs zxing-cpp too.
func EncodePDF417([]byte, int, int, int) (*imageio.Image, error) {
	return nil, fmt.Errorf("%w: %w", ErrEncode, ErrUnavailable)
}
