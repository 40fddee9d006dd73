//go:build cgo && !purego

package barcode

// zxing-cpp 1.4 (Debian's libzxing-dev) reads PDF417, which no Go library
// does; gozxing, the usual Go port, has no PDF417 reader. It is linked as
// a shared library (Debian ships no static one), so the binary needs
// libZXing.so.2 at run time: scripts/setup-system.sh installs it. Build
// with -tags purego to go without (Decode then returns ErrUnavailable).

/*
#cgo CXXFLAGS: -std=c++17 -O2
#cgo LDFLAGS: -lZXing
#include <stdlib.h>
#include "zxing_shim.h"
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"

	"github.com/visagehq/visage/internal/imageio"
)

const available = true

const errLen = 256

func read(g *grey, format Format, maxSymbols int) ([]Result, error) {
	var out *C.visage_zx_result
	var errBuf [errLen]C.char
	// The grey buffer is Go memory without Go pointers, which cgo lets C
	// read for the duration of the call.
	n := C.visage_zx_read((*C.uchar)(unsafe.Pointer(&g.pix[0])), C.int(g.w), C.int(g.h), C.int(g.w),
		C.int(format), 1, 1, C.int(maxSymbols), &out, &errBuf[0], errLen)
	if n < 0 {
		return nil, fmt.Errorf("%w: %s", ErrDecoder, C.GoString(&errBuf[0]))
	}
	if n == 0 {
		return nil, nil
	}
	defer C.visage_zx_free(out, n)
	raw := unsafe.Slice(out, int(n))
	results := make([]Result, 0, len(raw))
	for i := range raw {
		r := &raw[i]
		res := Result{
			Format:      Format(r.format),
			FormatName:  C.GoString(&r.format_name[0]),
			Bytes:       C.GoBytes(unsafe.Pointer(r.bytes), r.nbytes),
			Text:        C.GoString(r.text),
			Orientation: int(r.orientation),
		}
		for k := 0; k < 4; k++ {
			res.Corners[k] = image.Point{X: int(r.x[k]), Y: int(r.y[k])}
		}
		results = append(results, res)
	}
	return results, nil
}

// EncodePDF417 renders data as a PDF417 symbol: black modules on white,
// moduleSize pixels a module across (rows are four modules tall, as the
// writer makes them), with a quiet zone of quiet modules on every side
// and error correction level ecc (0–8; AAMVA asks for at least 3). It
// exists to make test inputs: licence barcodes to photograph, paste and
// damage.
func EncodePDF417(data []byte, moduleSize, quiet, ecc int) (*imageio.Image, error) {
	if len(data) == 0 || moduleSize < 1 || moduleSize > 64 || quiet < 0 || quiet > 64 || ecc < 0 || ecc > 8 {
		return nil, fmt.Errorf("%w: bad arguments", ErrEncode)
	}
	var out *C.uchar
	var w, h C.int
	var errBuf [errLen]C.char
	cdata := C.CBytes(data)
	defer C.free(cdata)
	if C.visage_zx_encode_pdf417((*C.uchar)(cdata), C.int(len(data)), C.int(ecc), &out, &w, &h, &errBuf[0], errLen) != 0 {
		return nil, fmt.Errorf("%w: %s", ErrEncode, C.GoString(&errBuf[0]))
	}
	defer C.free(unsafe.Pointer(out))
	mods := unsafe.Slice((*uint8)(unsafe.Pointer(out)), int(w)*int(h))
	mw, mh := int(w), int(h)
	img := imageio.NewImage((mw+2*quiet)*moduleSize, (mh+2*quiet)*moduleSize)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := 0; y < mh*moduleSize; y++ {
		row := img.Pix[((y+quiet*moduleSize)*img.W+quiet*moduleSize)*3:]
		for x := 0; x < mw*moduleSize; x++ {
			if mods[(y/moduleSize)*mw+x/moduleSize] != 0 {
				row[3*x], row[3*x+1], row[3*x+2] = 0, 0, 0
			}
		}
	}
	return img, nil
}
