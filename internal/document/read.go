package document

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/visagehq/visage/internal/imageio"
)

// Reader finds and reads MRZs and page text on document photos. The zero
// value is ready to use (tesseract from PATH, Debian's eng data).
type Reader struct {
	OCR    Tesseract
	Limits imageio.Limits // for ReadMRZBytes / ReadTextBytes; zero = imageio defaults
}

// ReadMRZ reads the MRZ of a document photo with a zero Reader.
func ReadMRZ(ctx context.Context, img *imageio.Image) (*MRZ, error) {
	return (&Reader{}).ReadMRZ(ctx, img)
}

// ReadText runs full-page OCR with a zero Reader.
func ReadText(ctx context.Context, img *imageio.Image) (string, error) {
	return (&Reader{}).ReadText(ctx, img)
}

// ReadMRZBytes decodes an uploaded image (imageio's limits and format
// checks) and reads its MRZ.
func (r *Reader) ReadMRZBytes(ctx context.Context, data []byte) (*MRZ, error) {
	img, _, err := imageio.Decode(data, r.Limits)
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	return r.ReadMRZ(ctx, img)
}

// ReadTextBytes decodes an uploaded image and OCRs the whole page.
func (r *Reader) ReadTextBytes(ctx context.Context, data []byte) (string, error) {
	img, _, err := imageio.Decode(data, r.Limits)
	if err != nil {
		return "", fmt.Errorf("document: %w", err)
	}
	return r.ReadText(ctx, img)
}

// candidate is one parse of OCR output with the evidence for it.
type candidate struct {
	m     *MRZ
	score float64
}

// accept says whether a parse is an MRZ at all rather than OCR of some
// other text: most positions must hold what their field allows and at
// least one check digit must validate (one in ten does by chance, which
// the conformity bound makes up for).
func (c candidate) accept() bool {
	return c.m != nil && c.m.ValidChecks() >= 1 && conformity(c.m) >= 0.85
}

// conformity is the share of positions whose character the field allows.
func conformity(m *MRZ) float64 {
	cls := classes(m.Format)
	ok, n := 0, 0
	for i, l := range m.Lines {
		for j := 0; j < len(l); j++ {
			n++
			if allowed(cls[i][j], l[j]) {
				ok++
			}
		}
	}
	// Repairs that no check confirmed were wrong-class characters.
	for _, rp := range m.Repairs {
		if !rp.Confirmed {
			ok--
		}
	}
	if n == 0 {
		return 0
	}
	return float64(ok) / float64(n)
}

func scoreOf(m *MRZ) float64 {
	return 10*float64(m.ValidChecks())/float64(len(m.Checks)) + 2*conformity(m) - 0.05*float64(len(m.Repairs))
}

// bestParse tries every run of 2 and 3 consecutive lines and keeps the
// best-scoring parse; alts (may be nil) are per-character alternatives.
func bestParse(lines []string, alts [][]string) candidate {
	var best candidate
	for n := 2; n <= 3; n++ {
		for i := 0; i+n <= len(lines); i++ {
			var a [][]string
			if alts != nil {
				a = alts[i : i+n]
			}
			m, err := parseOCR(lines[i:i+n], a)
			if err != nil {
				continue
			}
			if s := scoreOf(m); best.m == nil || s > best.score {
				best = candidate{m, s}
			}
		}
	}
	return best
}

// ReadMRZ locates the machine-readable zone on a document photo, OCRs it
// and parses it with ParseOCR. It returns ErrNoMRZ when nothing on the
// image reads as an MRZ, and OCR errors (ErrOCRUnavailable, ErrOCRTimeout…)
// as they come. The MRZ returned may still have failing check digits:
// inspect MRZ.Checks or MRZ.Err.
func (r *Reader) ReadMRZ(ctx context.Context, img *imageio.Image) (*MRZ, error) {
	if img == nil || img.W < 16 || img.H < 16 {
		return nil, ErrNoMRZ
	}
	if err := r.OCR.Available(); err != nil {
		return nil, err
	}
	g := toGray(img)
	f := float64(workWidth) / float64(g.w)
	work := g.scale(f)
	angle := skewAngle(textMask(work), work.w, work.h)
	if math.Abs(angle) < 0.5 {
		angle = 0
	}
	rw := work.rotate(-angle)
	full := g.rotate(-angle)
	regions := mrzRegions(textLines(textMask(rw), rw.w, rw.h), rw.w, rw.h)
	fx, fy := float64(full.w)/float64(rw.w), float64(full.h)/float64(rw.h)

	var best candidate
	consider := func(c candidate) {
		if c.m != nil && (best.m == nil || c.score > best.score) {
			best = c
		}
	}
	const maxRegions = 4
	for i, reg := range regions {
		if i == maxRegions {
			break
		}
		crop := cropRegion(full, reg, fx, fy)
		for _, variant := range []func(*gray) *gray{identity, (*gray).binarize} {
			c, err := r.ocrMRZ(ctx, variant(crop))
			if err != nil {
				return nil, err
			}
			consider(c)
			if best.m != nil && best.m.Valid() {
				return best.m, nil
			}
		}
	}
	if !best.accept() {
		// Upside-down photos, and pages where no block was found: OCR the
		// lower part of the page both ways up.
		for _, deg := range []float64{0, 180} {
			page := full.rotate(deg)
			band := page.crop(image.Rect(0, page.h*2/5, page.w, page.h))
			band = band.scale(clampF(1600/float64(band.w), 0.5, 3))
			c, err := r.ocrMRZ(ctx, band)
			if err != nil {
				return nil, err
			}
			consider(c)
			if best.m != nil && best.m.Valid() {
				break
			}
		}
	}
	if !best.accept() {
		return nil, ErrNoMRZ
	}
	return best.m, nil
}

func identity(g *gray) *gray { return g }

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// cropRegion cuts the region, with a margin, out of the full-resolution
// deskewed image and scales it so characters are ~32 px tall, the size
// tesseract reads best.
func cropRegion(full *gray, reg region, fx, fy float64) *gray {
	lh := float64(reg.lineH) * fy
	mx, my := 1.2*lh, 0.7*lh
	rect := image.Rect(
		int(float64(reg.rect.Min.X)*fx-mx), int(float64(reg.rect.Min.Y)*fy-my),
		int(float64(reg.rect.Max.X)*fx+mx), int(float64(reg.rect.Max.Y)*fy+my))
	crop := full.crop(rect)
	return crop.scale(clampF(32/lh, 0.4, 6))
}

func (r *Reader) ocrMRZ(ctx context.Context, g *gray) (candidate, error) {
	text, err := r.OCR.recognize(ctx, ocrRequest{img: g, psm: 6, whitelist: mrzWhitelist, dpi: 300})
	if err != nil {
		return candidate{}, err
	}
	lstm := mrzLike(text)
	best := bestParse(lstm, nil)
	if r.OCR.LegacyTessdataDir == "" || best.m != nil && best.m.Valid() {
		return best, nil
	}
	text, err = r.OCR.recognize(ctx, ocrRequest{img: g, psm: 6, whitelist: mrzWhitelist, dpi: 300, legacy: true})
	if err != nil {
		return candidate{}, err
	}
	legacy := mrzLike(text)
	merged, alts := mergeReadings(legacy, lstm)
	for _, c := range []candidate{bestParse(merged, alts), bestParse(legacy, nil)} {
		if c.m != nil && (best.m == nil || c.score > best.score) {
			best = c
		}
	}
	return best, nil
}

// ReadText OCRs a whole page (proof of address, letters): the image is
// converted to grey and scaled so small print is legible to tesseract.
func (r *Reader) ReadText(ctx context.Context, img *imageio.Image) (string, error) {
	if img == nil || img.W < 1 || img.H < 1 {
		return "", errors.New("document: empty image")
	}
	g := toGray(img)
	if g.w < 1600 {
		g = g.scale(math.Min(2, 1600/float64(g.w)))
	}
	return r.OCR.recognize(ctx, ocrRequest{img: g, psm: 3, dpi: 300})
}
