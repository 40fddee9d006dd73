package document

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/imageio"
)

// Reader finds and reads MRZs and page text on document photos. The zero
// value is ready to use (tesseract from PATH, Debian's eng data).
type Reader struct {
	OCR    Tesseract
	Limits imageio.Limits // for ReadMRZBytes / ReadTextBytes; zero = imageio defaults
	// Budget bounds one ReadMRZ or ReadText call, all tesseract runs
	// included (default 60 s; the caller's context may end it sooner).
	Budget time.Duration
}

func (r *Reader) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	d := r.Budget
	if d <= 0 {
		d = 60 * time.Second
	}
	return context.WithTimeout(ctx, d)
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
	// Wrong-class characters fixed without a check's word still count
	// against the reading.
	for _, rp := range m.Repairs {
		if !rp.Confirmed && !allowed(cls[rp.Line][rp.Col], rp.From) {
			ok--
		}
	}
	if n == 0 {
		return 0
	}
	return float64(ok) / float64(n)
}

func scoreOf(m *MRZ) float64 {
	return 10*float64(m.ValidChecks())/float64(len(m.Checks)) + 2*conformity(m) - 0.02*float64(len(m.Repairs))
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
			if c := bestWindow(lines[i:i+n], a); c.m != nil && (best.m == nil || c.score > best.score) {
				best = c
			}
		}
	}
	return best
}

// maxLineVariants bounds the length-repair search of one window.
const maxLineVariants = 400

// bestWindow parses one window of lines, trying the length repairs of
// lineVariants and keeping the parse whose check digits fare best.
func bestWindow(lines []string, alts [][]string) candidate {
	f, err := guessFormat(cleanLines(lines))
	if err != nil {
		return candidate{}
	}
	n := f.LineLength()
	perLine := make([][]variant, len(lines))
	total := 1
	for i, l := range lines {
		var a []string
		if alts != nil {
			a = alts[i]
		}
		checked := f != TD1 && i == 1 || f == TD1 && i < 2
		perLine[i] = lineVariants(l, a, n, i == 0, checked)
		total *= len(perLine[i])
	}
	if total > maxLineVariants {
		for i := range perLine {
			perLine[i] = perLine[i][:1]
		}
	}
	var best candidate
	pick := make([]string, len(lines))
	pickAlts := make([][]string, len(lines))
	var walk func(i int)
	walk = func(i int) {
		if i == len(lines) {
			var a [][]string
			if alts != nil {
				a = pickAlts
			}
			m, err := parseOCR(pick, a)
			if err != nil {
				return
			}
			if s := scoreOf(m); best.m == nil || s > best.score {
				best = candidate{m, s}
			}
			return
		}
		for _, v := range perLine[i] {
			pick[i], pickAlts[i] = v.line, v.alts
			walk(i + 1)
		}
	}
	walk(0)
	return best
}

type variant struct {
	line string
	alts []string
}

// lineVariants proposes readings of one OCR line: as read; for the first
// line, without a leading speck the OCR took for a character; and for a
// line carrying check digits that is off its length, every single
// deletion or filler insertion, since OCR adds and drops characters
// anywhere, not only in filler runs.
func lineVariants(l string, alts []string, n int, first, checked bool) []variant {
	if len(alts) != len(l) {
		alts = nil
	}
	out := []variant{{l, alts}}
	cut := func(s string, a []string, k int) variant {
		v := variant{line: s[:k] + s[k+1:]}
		if a != nil {
			v.alts = append(append([]string(nil), a[:k]...), a[k+1:]...)
		}
		return v
	}
	if first && len(l) > 1 && !strings.ContainsRune("PIACV", rune(l[0])) && strings.ContainsRune("PIACV", rune(l[1])) {
		out = append(out, cut(l, alts, 0))
	}
	if !checked || len(l) == n || len(l) < n-2 || len(l) > n+2 {
		return out
	}
	for k := 0; k < len(l); k++ {
		if len(l) > n {
			out = append(out, cut(l, alts, k))
			continue
		}
		v := variant{line: l[:k] + "<" + l[k:]}
		if alts != nil {
			v.alts = append(append(append([]string(nil), alts[:k]...), ""), alts[k:]...)
		}
		out = append(out, v)
	}
	return out
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
	ctx, cancel := r.budget(ctx)
	defer cancel()
	g := toGray(img)
	if g.w > maxMRZWidth {
		// Plenty for OCR-B at any phone resolution, and it bounds the
		// cost of the rotations below.
		g = g.scale(float64(maxMRZWidth) / float64(g.w))
	}
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
	const maxRegions = 3
	var crops []*gray
	for i, reg := range regions {
		if i == maxRegions {
			break
		}
		crop := cropRegion(full, reg, fx, fy)
		crops = append(crops, crop)
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
		// Regions come best first; once one reads as an MRZ the others
		// are mostly its own sub-blocks or other print.
		if best.accept() {
			return best.m, nil
		}
	}
	// An upside-down photo: the search is symmetric, so the best block is
	// already cut out, only the wrong way up.
	if len(crops) > 0 {
		c, err := r.ocrMRZ(ctx, crops[0].rotate(180))
		if err != nil {
			return nil, err
		}
		consider(c)
	}
	if !best.accept() {
		// No block of long lines read (glare, a cut-off edge, print too
		// small to join into lines): OCR the lower part of the page both
		// ways up, if it looks like print.
		for _, deg := range []float64{0, 180} {
			page := full.rotate(deg)
			band := page.crop(image.Rect(0, page.h*2/5, page.w, page.h))
			if !textLike(band) {
				break // noise or a photo, not print: tesseract would only churn on it
			}
			band = band.scale(clampF(1600/float64(band.w), 0.5, 3))
			c, err := r.ocrMRZ(ctx, band)
			if err != nil {
				return nil, err
			}
			consider(c)
			if best.accept() {
				break
			}
		}
	}
	if !best.accept() {
		return nil, ErrNoMRZ
	}
	return best.m, nil
}

// Size bounds for the OCR paths: the MRZ search works on at most this
// width, full-page OCR on at most this many pixels (an A4 page at 300 dpi
// is 8.7 MP).
const (
	maxMRZWidth   = 3000
	maxTextPixels = 12e6
)

func identity(g *gray) *gray { return g }

// textLike says whether an image looks like print on a plain ground: the
// dark detail the text mask picks up covers a modest share of it. Noise
// and busy photos light up most of the mask.
func textLike(g *gray) bool {
	w := g.scale(float64(workWidth) / float64(g.w))
	on := 0
	mask := textMask(w)
	for _, b := range mask {
		if b {
			on++
		}
	}
	share := float64(on) / float64(len(mask))
	return share > 0.005 && share < 0.3
}

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
	if r.OCR.LegacyTessdataDir == "" {
		return bestParse(lstm, nil), nil
	}
	lstmAll := ocrLines(text, 8)
	text, err = r.OCR.recognize(ctx, ocrRequest{img: g, psm: 6, whitelist: mrzWhitelist, dpi: 300, legacy: true})
	if err != nil {
		return candidate{}, err
	}
	legacy := mrzLike(text)
	merged, alts := mergeReadings(legacy, lstmAll)
	// On a tie the merged reading wins: its fillers come from the legacy
	// engine, so its names are cleaner.
	var best candidate
	for _, c := range []candidate{bestParse(merged, alts), bestParse(legacy, nil), bestParse(lstm, nil)} {
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
	ctx, cancel := r.budget(ctx)
	defer cancel()
	g := toGray(img)
	switch px := float64(g.w) * float64(g.h); {
	case g.w < 1600:
		g = g.scale(math.Min(2, 1600/float64(g.w)))
	case px > maxTextPixels:
		g = g.scale(math.Sqrt(maxTextPixels / px))
	}
	return r.OCR.recognize(ctx, ocrRequest{img: g, psm: 3, dpi: 300})
}
