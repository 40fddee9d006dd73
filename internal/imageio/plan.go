package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
)

// Decoder names (Plan.Decoder, Info.Decoder).
const (
	DecoderTurbo = "turbojpeg" // libjpeg-turbo through cgo, scaling in the DCT domain
	DecoderGo    = "go"        // the standard library and golang.org/x/image
)

// Plan is what Decode will do with an image and what that will cost,
// worked out from the header alone.
type Plan struct {
	Header
	Orientation int
	Decoder     string
	// OutWidth and OutHeight are the decoded image's size as stored
	// (before orientation): the source divided by the power of two that
	// fits it within MaxSide (so between MaxSide/2 and MaxSide when shrunk).
	OutWidth, OutHeight int
	// Cost is the most memory the decode holds at once, in bytes: for the
	// standard decoders an upper bound of everything they allocate (the
	// decoder's image and working buffers, Header.BytesPerPixel a pixel,
	// then the RGB result); for TurboJPEG the RGB output plus, for a
	// multi-scan (progressive) file, libjpeg's whole-image coefficient
	// buffer of 2 bytes a sample, which it needs at any scale.
	Cost int64

	lim      Limits
	div      int         // the power of two the source is divided by
	scale    scaleFactor // TurboJPEG's DCT scaling: 1/1, 1/2, 1/4 or 1/8
	turboOut [2]int      // TurboJPEG's output size at that scale
}

// scaleFactor is a DCT scaling factor num/denom.
type scaleFactor struct{ num, denom int }

// scaled is TurboJPEG's TJSCALED: the output size of a side at the factor.
func (s scaleFactor) scaled(v int) int { return (v*s.num + s.denom - 1) / s.denom }

// errTurboRefused marks a file TurboJPEG would not decode; the standard
// decoder gets its turn.
var errTurboRefused = errors.New("turbojpeg refused the file")

// Working memory besides the pixel buffers: Huffman and quantisation
// tables, zlib and bufio state. Per-row buffers scale with the width.
const (
	fixedSlack  = 1 << 20
	perRowSlack = 256 // bytes per pixel of width
)

// NewPlan reads the header, checks it against the limits and prices the
// decode. It fails with ErrTooLarge when the encoded size, the pixel count
// or the cost exceeds its limit.
func NewPlan(data []byte, lim Limits) (Plan, error) {
	lim = lim.withDefaults()
	if len(data) == 0 {
		return Plan{}, ErrEmpty
	}
	if int64(len(data)) > lim.MaxBytes {
		return Plan{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	h, err := Probe(data)
	if err != nil {
		return Plan{}, err
	}
	if px := h.Pixels(); px > lim.MaxPixels {
		return Plan{}, fmt.Errorf("%w: %dx%d is %d pixels, limit %d", ErrTooLarge, h.Width, h.Height, px, lim.MaxPixels)
	}
	p := Plan{Header: h, Orientation: orientation(data, h.Format), lim: lim, scale: scaleFactor{1, 1}}
	p.OutWidth, p.OutHeight, p.div = shrinkSize(h.Width, h.Height, lim.MaxSide)
	// TurboJPEG converts CMYK only to CMYK; those few files go the Go way.
	if h.Format == "jpeg" && turboAvailable && h.jpeg.components != 4 {
		p.Decoder = DecoderTurbo
		p.scale = scaleFactor{1, min(p.div, 8)} // past 1/8 the rest is box-filtered
		p.turboOut = [2]int{p.scale.scaled(h.Width), p.scale.scaled(h.Height)}
		p.Cost = p.turboCost()
	} else {
		p.Decoder = DecoderGo
		p.Cost = p.goCost()
	}
	return p, p.checkCost()
}

func (p Plan) checkCost() error {
	if p.Cost > p.lim.MaxMemory {
		return fmt.Errorf("%w: decoding %dx%d %s needs ~%d MB, limit %d MB", ErrTooLarge,
			p.Width, p.Height, p.Format, p.Cost>>20, p.lim.MaxMemory>>20)
	}
	return nil
}

// fallback is the plan for the standard decoder after TurboJPEG refused.
func (p Plan) fallback() (Plan, error) {
	p.Decoder, p.scale, p.turboOut = DecoderGo, scaleFactor{1, 1}, [2]int{}
	p.Cost = p.goCost()
	return p, p.checkCost()
}

// resultCost is the RGB result, plus the upright copy Orient makes.
func (p Plan) resultCost() int64 {
	c := 3 * int64(p.OutWidth) * int64(p.OutHeight)
	if p.Orientation > 1 {
		c *= 2
	}
	return c
}

func (p Plan) goCost() int64 {
	decoder := int64(float64(p.Pixels())*p.BytesPerPixel + 0.5)
	return decoder + p.resultCost() + fixedSlack + perRowSlack*int64(p.Width+p.Height)
}

func (p Plan) turboCost() int64 {
	c := 3 * int64(p.turboOut[0]) * int64(p.turboOut[1])
	if p.jpeg.progressive || p.jpeg.scans > 1 {
		// Whole-image coefficients, blocks padded to the MCU (≤ 2×8 px).
		padded := float64(p.Width+16) * float64(p.Height+16)
		c += int64(2 * p.jpeg.samples * padded)
	}
	if p.OutWidth != p.turboOut[0] || p.OutHeight != p.turboOut[1] {
		c += 3 * int64(p.OutWidth) * int64(p.OutHeight) // shrunk further than 1/8
	}
	if p.Orientation > 1 {
		c += 3 * int64(p.OutWidth) * int64(p.OutHeight)
	}
	return c + fixedSlack + perRowSlack*int64(p.Width+p.Height)
}

// run decodes along the plan.
func (p Plan) run(data []byte) (*Image, Info, error) {
	img, sw, sh, err := p.runTurbo(data)
	if p.Decoder == DecoderGo {
		img, sw, sh, err = p.runGo(data)
	}
	if err != nil {
		return nil, Info{}, err
	}
	img = img.Orient(p.Orientation)
	info := Info{Format: p.Format, Width: img.W, Height: img.H, Orientation: p.Orientation,
		SourceWidth: sw, SourceHeight: sh, Decoder: p.Decoder, Cost: p.Cost}
	if p.Orientation >= 5 {
		info.SourceWidth, info.SourceHeight = sh, sw
	}
	info.Scale = float64(info.Width) / float64(info.SourceWidth)
	return img, info, nil
}

// runTurbo and runGo return the decoded image and the size of the source
// it came from.
func (p Plan) runTurbo(data []byte) (*Image, int, int, error) {
	if p.Decoder != DecoderTurbo {
		return nil, 0, 0, nil
	}
	img := NewImage(p.turboOut[0], p.turboOut[1])
	if err := turboDecode(data, p.Header, p.scale, img); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: %v", errTurboRefused, err)
	}
	if img.W != p.OutWidth || img.H != p.OutHeight {
		img = shrinkBox(img.rows(), img.W, img.H, p.div/p.scale.denom)
	}
	return img, p.Width, p.Height, nil
}

func (p Plan) runGo(data []byte) (*Image, int, int, error) {
	var src image.Image
	var err error
	if p.Format == "jpeg" {
		src, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		src, _, err = image.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || w > p.Width || h > p.Height {
		return nil, 0, 0, fmt.Errorf("%w: decoded %dx%d, header said %dx%d", ErrCorrupt, w, h, p.Width, p.Height)
	}
	// Fit what came: a GIF's first frame may be smaller than its screen.
	if _, _, div := shrinkSize(w, h, p.lim.MaxSide); div > 1 {
		return shrinkBox(rowsOf(src), w, h, div), w, h, nil
	}
	return FromImage(src), w, h, nil
}
