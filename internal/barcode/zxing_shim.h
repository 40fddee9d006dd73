// C interface to zxing-cpp for the cgo side of package barcode. Nothing
// C++ crosses it: every call catches its exceptions and reports them as a
// message, so a throw inside zxing can never unwind into the Go runtime.
#ifndef VISAGE_ZXING_SHIM_H
#define VISAGE_ZXING_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
	int format;             // one ZXing::BarcodeFormat bit
	char format_name[24];
	unsigned char *bytes;   // raw content, malloc'd
	int nbytes;
	char *text;             // UTF-8 rendering, malloc'd, NUL-terminated
	int x[4], y[4];         // corners: top-left, top-right, bottom-right, bottom-left
	int orientation;        // degrees
} visage_zx_result;

// visage_zx_read decodes the barcodes in a w×h 8-bit grey image (rows
// stride bytes apart). formats is a ZXing::BarcodeFormats mask, 0 for
// all. It returns the number of symbols found (their results in *out,
// freed with visage_zx_free) or -1 with a message in err.
int visage_zx_read(const unsigned char *grey, int w, int h, int stride, int formats,
                   int try_harder, int try_rotate, int max_symbols,
                   visage_zx_result **out, char *err, int errlen);

void visage_zx_free(visage_zx_result *r, int n);

// visage_zx_encode_pdf417 encodes data (bytes taken as ISO 8859-1, so any
// byte survives) at error-correction level ecc (0–8) into a module matrix:
// *out (malloc'd, *w × *h, 1 = black) with one pixel per module across and
// the writer's row height down. Returns 0, or -1 with a message in err.
int visage_zx_encode_pdf417(const unsigned char *data, int n, int ecc,
                            unsigned char **out, int *w, int *h, char *err, int errlen);

#ifdef __cplusplus
}
#endif

#endif
