package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// Header is what Probe learns from an image's header without decoding
// pixels: enough to price the decode before any buffer is allocated.
type Header struct {
	Format string // "jpeg", "png", "gif" or "webp"
	Width  int    // as stored, before EXIF orientation
	Height int
	// BytesPerPixel is the memory the standard-library decoder holds per
	// stored pixel at its peak: its output image (16-bit PNG 8, 8-bit RGB
	// or RGBA PNG 4, YCbCr 4:2:0 JPEG 1.5, grey 1, paletted 1) plus any
	// whole-image working buffer (a progressive JPEG's coefficients, 4
	// bytes a sample; an interlaced PNG's pass images; WebP lossless's
	// ARGB and colour-index planes).
	BytesPerPixel float64

	jpeg *jpegHeader // JPEG only
}

// Pixels is Width × Height.
func (h Header) Pixels() int64 { return int64(h.Width) * int64(h.Height) }

// jpegHeader is the part of a JPEG's SOF and scan structure the cost model
// and the TurboJPEG path need.
type jpegHeader struct {
	progressive bool
	scans       int     // SOS markers in the file
	samples     float64 // component samples per pixel (4:2:0 YCbCr: 1.5)
	components  int
}

// maxJPEGScans bounds a JPEG's scans. Each scan walks every block of its
// components, so a small file of thousands of tiny scans costs seconds of
// CPU; encoders write 1 (baseline) to about 10 (progressive) and a
// hand-tuned progressive script rarely more than 20.
const maxJPEGScans = 100

var sosMarker = []byte{0xFF, 0xDA}

// Probe reads an image's header: format, stored size and the decoder's
// memory per pixel. It allocates nothing in proportion to the image.
func Probe(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, ErrEmpty
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return Header{}, ErrUnsupported
		}
		return Header{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	h := Header{Format: format, Width: cfg.Width, Height: cfg.Height}
	if h.Width <= 0 || h.Height <= 0 {
		return h, fmt.Errorf("%w: %dx%d", ErrCorrupt, h.Width, h.Height)
	}
	switch format {
	case "jpeg":
		jh, err := probeJPEG(data)
		if err != nil {
			return h, err
		}
		h.jpeg = &jh
		h.BytesPerPixel = jh.samples // the YCbCr, Gray or CMYK planes
		if jh.components == 4 {
			h.BytesPerPixel += 4 // converted into a separate image.CMYK
		}
		if jh.progressive {
			h.BytesPerPixel += 4 * jh.samples // a [64]int32 block per 8×8 samples
		}
	case "png":
		h.BytesPerPixel = pngBytesPerPixel(data)
	case "webp":
		h.BytesPerPixel = webpBytesPerPixel(data)
	default: // gif: one paletted frame, checked to lie within the screen
		h.BytesPerPixel = 1
	}
	return h, nil
}

// probeJPEG reads the frame header and counts the scans.
func probeJPEG(data []byte) (jpegHeader, error) {
	var jh jpegHeader
	var sof []byte
	sos := false
	scanData := walkJPEG(data, func(marker byte, p []byte) bool {
		switch marker {
		case 0xC0, 0xC1, 0xC2:
			sof = p
			jh.progressive = marker == 0xC2
		case 0xDA:
			sos = true
		}
		return true
	})
	// DecodeConfig accepted the file, so a SOF0–2 with a sane component
	// count was seen; these checks are for a header it read differently.
	if len(sof) < 6 {
		return jh, fmt.Errorf("%w: no frame header", ErrCorrupt)
	}
	jh.components = int(sof[5])
	if jh.components < 1 || len(sof) < 6+3*jh.components {
		return jh, fmt.Errorf("%w: bad frame header", ErrCorrupt)
	}
	hmax, vmax, units := 1, 1, 0
	for c := 0; c < jh.components; c++ {
		hv := sof[6+3*c+1]
		hs, vs := int(hv>>4), int(hv&15)
		if hs < 1 || vs < 1 {
			return jh, fmt.Errorf("%w: bad sampling factors", ErrCorrupt)
		}
		hmax, vmax, units = max(hmax, hs), max(vmax, vs), units+hs*vs
	}
	jh.samples = float64(units) / float64(hmax*vmax)
	if !sos {
		return jh, fmt.Errorf("%w: no scan", ErrCorrupt)
	}
	// Entropy-coded data stuffs every 0xFF with 0x00, so each later FF DA
	// is a real start-of-scan marker.
	jh.scans = 1 + bytes.Count(data[scanData:], sosMarker)
	if jh.scans > maxJPEGScans {
		return jh, fmt.Errorf("%w: %d JPEG scans, limit %d", ErrTooLarge, jh.scans, maxJPEGScans)
	}
	return jh, nil
}

// pngBytesPerPixel follows image/png's choice of output type: grey 8-bit
// to Gray, 16-bit to Gray16; RGB to RGBA or RGBA64; with alpha or a tRNS
// chunk to NRGBA or NRGBA64; palettes to Paletted. Interlaced images are
// decoded pass by pass into separate images, which together hold as many
// pixels again, merged into the result.
func pngBytesPerPixel(data []byte) float64 {
	if len(data) < 33 {
		return 8 // DecodeConfig read it, so this cannot happen; stay safe
	}
	depth, ctype, interlace := data[24], data[25], data[28]
	trns := pngHasChunk(data, "tRNS")
	var bpp float64
	switch {
	case ctype == 3:
		bpp = 1
	case ctype == 0 && !trns:
		bpp = 1
		if depth == 16 {
			bpp = 2
		}
	default:
		bpp = 4
		if depth == 16 {
			bpp = 8
		}
	}
	if interlace == 1 {
		bpp *= 2
	}
	return bpp
}

// pngHasChunk reports whether a chunk of the type appears before IDAT.
func pngHasChunk(data []byte, typ string) bool {
	for i := 8; i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		t := string(data[i+4 : i+8])
		if t == typ {
			return true
		}
		if t == "IDAT" || n > int64(len(data)-i-12) {
			return false
		}
		i += 12 + int(n)
	}
	return false
}

// webpBytesPerPixel follows golang.org/x/image/webp: lossy VP8 decodes to
// YCbCr 4:2:0; an ALPH chunk adds an alpha plane, which when compressed is
// first decoded as a whole lossless NRGBA image; lossless VP8L holds its
// NRGBA plane plus, with a colour-indexing transform, a second one.
func webpBytesPerPixel(data []byte) float64 {
	alpha := false
	for i := 12; i+8 <= len(data); {
		n := int64(binary.LittleEndian.Uint32(data[i+4:]))
		switch string(data[i : i+4]) {
		case "ALPH":
			alpha = true
		case "VP8 ":
			if alpha {
				return 1.5 + 1 + 8 + 1
			}
			return 1.5
		case "VP8L":
			return 8
		}
		if n > int64(len(data)-i-8) {
			break
		}
		i += 8 + int(n) + int(n&1)
	}
	return 12 // the largest of the above; DecodeConfig read a header we did not
}
