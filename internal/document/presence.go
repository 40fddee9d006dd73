package document

import "github.com/visagehq/visage/internal/imageio"

// HasMRZ reports whether an image seems to show a machine-readable zone:
// two or three stacked, equally long, very wide lines of dark print, the
// look of OCR-B on a passport or ID card. It reads no characters (no OCR:
// a few milliseconds), so a selfie frame can be checked for a document
// held up to the camera in place of a face.
func HasMRZ(img *imageio.Image) bool {
	if img == nil || img.W < 64 || img.H < 64 {
		return false
	}
	g := toGray(img)
	work := g.scale(float64(workWidth) / float64(g.w))
	mask := textMask(work)
	// Deskew only when the print is tilted: the mask of an upright frame
	// serves as it is.
	if angle := skewAngle(mask, work.w, work.h); angle < -0.5 || angle > 0.5 {
		work = work.rotate(-angle)
		mask = textMask(work)
	}
	for _, r := range mrzRegions(textLines(mask, work.w, work.h), work.w, work.h) {
		if looksLikeMRZ(r, work.w) {
			return true
		}
	}
	return false
}

// looksLikeMRZ: an MRZ line holds 30–44 characters about as wide as they
// are tall, so each line is at least 15 times wider than tall; the block
// spans a good part of the document (here, of the frame).
func looksLikeMRZ(r region, frameW int) bool {
	return r.lineH >= 4 && r.rect.Dx() >= 15*r.lineH && r.rect.Dx() >= frameW/5
}
