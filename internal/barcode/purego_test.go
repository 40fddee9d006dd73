//go:build !cgo || purego

package barcode

import (
	"context"
	"errors"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
)

// Without zxing-cpp every call says so with a typed error.
func TestUnavailable(t *testing.T) {
	if _, err := Decode(context.Background(), imageio.NewImage(64, 64)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Decode: %v", err)
	}
	if _, err := EncodePDF417([]byte("x"), 2, 2, 3); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrEncode) {
		t.Errorf("EncodePDF417: %v", err)
	}
}
