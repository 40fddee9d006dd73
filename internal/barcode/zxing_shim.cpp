//go:build cgo && !purego

// The zxing-cpp 1.4 API (Debian's libzxing-dev) behind the C interface in
// zxing_shim.h.

#define ZX_USE_UTF8 1

#include "zxing_shim.h"

#include <ZXing/BarcodeFormat.h>
#include <ZXing/BitMatrix.h>
#include <ZXing/CharacterSet.h>
#include <ZXing/DecodeHints.h>
#include <ZXing/ImageView.h>
#include <ZXing/MultiFormatWriter.h>
#include <ZXing/ReadBarcode.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

using namespace ZXing;

static void set_err(char *err, int errlen, const char *msg) {
	if (err != nullptr && errlen > 0) {
		std::snprintf(err, errlen, "%s", msg);
	}
}

static void fill(visage_zx_result &dst, const Result &r) {
	dst.format = static_cast<int>(r.format());
	std::snprintf(dst.format_name, sizeof dst.format_name, "%s", ToString(r.format()));
	const ByteArray &b = r.bytes();
	dst.nbytes = static_cast<int>(b.size());
	dst.bytes = static_cast<unsigned char *>(std::malloc(b.size() ? b.size() : 1));
	if (dst.bytes == nullptr) {
		throw std::bad_alloc();
	}
	if (!b.empty()) {
		std::memcpy(dst.bytes, b.data(), b.size());
	}
	std::string text = r.text();
	dst.text = static_cast<char *>(std::malloc(text.size() + 1));
	if (dst.text == nullptr) {
		throw std::bad_alloc();
	}
	std::memcpy(dst.text, text.c_str(), text.size() + 1);
	const Position &p = r.position();
	for (int i = 0; i < 4; i++) {
		dst.x[i] = p[i].x;
		dst.y[i] = p[i].y;
	}
	dst.orientation = r.orientation();
}

extern "C" int visage_zx_read(const unsigned char *grey, int w, int h, int stride, int formats,
                              int try_harder, int try_rotate, int max_symbols,
                              visage_zx_result **out, char *err, int errlen) {
	*out = nullptr;
	if (grey == nullptr || w <= 0 || h <= 0 || stride < w) {
		set_err(err, errlen, "bad image");
		return -1;
	}
	visage_zx_result *res = nullptr;
	int n = 0;
	try {
		DecodeHints hints;
		if (formats != 0) {
			hints.setFormats(BarcodeFormats(static_cast<BarcodeFormat>(formats)));
		}
		hints.setTryHarder(try_harder != 0);
		hints.setTryRotate(try_rotate != 0);
		hints.setTryDownscale(true);
		hints.setMaxNumberOfSymbols(static_cast<uint8_t>(max_symbols > 0 && max_symbols < 255 ? max_symbols : 255));
		ImageView view(grey, w, h, ImageFormat::Lum, stride);
		Results found = ReadBarcodes(view, hints);
		if (found.empty()) {
			return 0;
		}
		res = static_cast<visage_zx_result *>(std::calloc(found.size(), sizeof(visage_zx_result)));
		if (res == nullptr) {
			throw std::bad_alloc();
		}
		for (const Result &r : found) {
			fill(res[n], r);
			n++;
		}
	} catch (const std::exception &e) {
		visage_zx_free(res, n + (res != nullptr ? 1 : 0));
		set_err(err, errlen, e.what());
		return -1;
	} catch (...) {
		visage_zx_free(res, n + (res != nullptr ? 1 : 0));
		set_err(err, errlen, "unknown C++ exception");
		return -1;
	}
	*out = res;
	return n;
}

extern "C" void visage_zx_free(visage_zx_result *r, int n) {
	if (r == nullptr) {
		return;
	}
	for (int i = 0; i < n; i++) {
		std::free(r[i].bytes);
		std::free(r[i].text);
	}
	std::free(r);
}

extern "C" int visage_zx_encode_pdf417(const unsigned char *data, int n, int ecc,
                                       unsigned char **out, int *w, int *h, char *err, int errlen) {
	*out = nullptr;
	*w = *h = 0;
	if (data == nullptr || n <= 0) {
		set_err(err, errlen, "nothing to encode");
		return -1;
	}
	try {
		// One wide character per byte with ISO 8859-1 as the encoding
		// makes the writer emit the bytes themselves, no ECI.
		std::wstring contents(data, data + n);
		MultiFormatWriter writer(BarcodeFormat::PDF417);
		writer.setEncoding(CharacterSet::ISO8859_1).setMargin(0).setEccLevel(ecc);
		BitMatrix m = writer.encode(contents, 0, 0);
		int mw = m.width(), mh = m.height();
		if (mw <= 0 || mh <= 0) {
			set_err(err, errlen, "empty symbol");
			return -1;
		}
		unsigned char *buf = static_cast<unsigned char *>(std::malloc(static_cast<size_t>(mw) * mh));
		if (buf == nullptr) {
			throw std::bad_alloc();
		}
		for (int y = 0; y < mh; y++) {
			for (int x = 0; x < mw; x++) {
				buf[y * mw + x] = m.get(x, y) ? 1 : 0;
			}
		}
		*out = buf;
		*w = mw;
		*h = mh;
		return 0;
	} catch (const std::exception &e) {
		set_err(err, errlen, e.what());
	} catch (...) {
		set_err(err, errlen, "unknown C++ exception");
	}
	return -1;
}
