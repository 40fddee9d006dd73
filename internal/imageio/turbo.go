//go:build cgo && !purego

package imageio

// libjpeg-turbo's TurboJPEG API decodes JPEGs with a fifth of the CPU
// image/jpeg needs (0.41 s against 1.85 s for the 60 fixture JPEGs) and
// scales in the DCT domain: at 1/2, 1/4 and 1/8 it skips most of the
// inverse DCT and colour conversion and never holds the full-size image. It is linked statically (libturbojpeg.a, which
// carries its own libjpeg), so the binary needs no extra package at run
// time. Install the headers and library with scripts/setup-system.sh;
// build with -tags purego to go without.

/*
#cgo LDFLAGS: -l:libturbojpeg.a
#include <stdio.h>
#include <turbojpeg.h>

// visage_tj_decode decodes src into dst (width×height RGB, TurboJPEG
// choosing the scaling factor that produces exactly that size) after
// checking the header agrees with the size Go read. Warnings (corrupt or
// truncated data) stop the decode: the standard decoder then decides.
static int visage_tj_decode(const unsigned char *src, unsigned long n,
                            unsigned char *dst, int width, int height,
                            int srcW, int srcH, char *err, int errlen) {
	tjhandle h = tjInitDecompress();
	if (h == NULL) {
		snprintf(err, errlen, "%s", tjGetErrorStr2(NULL));
		return -1;
	}
	int w = 0, hh = 0, subsamp = 0, cs = 0;
	int rc = tjDecompressHeader3(h, src, n, &w, &hh, &subsamp, &cs);
	if (rc == 0 && (w != srcW || hh != srcH)) {
		snprintf(err, errlen, "header says %dx%d, not %dx%d", w, hh, srcW, srcH);
		rc = -1;
	} else if (rc == 0) {
		rc = tjDecompress2(h, src, n, dst, width, width * 3, height, TJPF_RGB,
		                   TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS);
		if (rc != 0) {
			snprintf(err, errlen, "%s", tjGetErrorStr2(h));
		}
	} else {
		snprintf(err, errlen, "%s", tjGetErrorStr2(h));
	}
	tjDestroy(h);
	return rc;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

const turboAvailable = true

// turboDecode decodes data at scale s into dst, which is sized for it.
func turboDecode(data []byte, h Header, s scaleFactor, dst *Image) error {
	if len(data) == 0 || len(dst.Pix) != 3*dst.W*dst.H || dst.W != s.scaled(h.Width) || dst.H != s.scaled(h.Height) {
		return errors.New("turbojpeg: bad arguments")
	}
	var msg [256]C.char
	rc := C.visage_tj_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&dst.Pix[0])), C.int(dst.W), C.int(dst.H),
		C.int(h.Width), C.int(h.Height), &msg[0], C.int(len(msg)))
	if rc != 0 {
		return errors.New("turbojpeg: " + C.GoString(&msg[0]))
	}
	return nil
}
