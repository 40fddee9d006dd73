package document

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// TestDebugLocate dumps the MRZ search for one file (DOC_DEBUG=name).
func TestDebugLocate(t *testing.T) {
	name := os.Getenv("DOC_DEBUG")
	if name == "" {
		t.Skip("set DOC_DEBUG")
	}
	img := loadImage(t, testenv.Fixture(t, "documents", name))
	g := toGray(img)
	f := float64(workWidth) / float64(g.w)
	work := g.scale(f)
	angle := skewAngle(textMask(work), work.w, work.h)
	rw := work.rotate(-angle)
	full := g.rotate(-angle)
	lines := textLines(textMask(rw), rw.w, rw.h)
	regions := mrzRegions(lines, rw.w, rw.h)
	t.Logf("size %dx%d angle %.1f lines %d regions %d", g.w, g.h, angle, len(lines), len(regions))
	for _, l := range lines {
		t.Logf("line %+v", l)
	}
	os.MkdirAll("/tmp/dbg", 0o755)
	m := textMask(rw)
	mk := newGray(rw.w, rw.h)
	for i, on := range m {
		if on {
			mk.pix[i] = 255
		}
	}
	b, _ := mk.pngBytes()
	os.WriteFile("/tmp/dbg/mask.png", b, 0o644)
	fx, fy := float64(full.w)/float64(rw.w), float64(full.h)/float64(rw.h)
	var r Reader
	for i, reg := range regions {
		crop := cropRegion(full, reg, fx, fy)
		b, _ := crop.pngBytes()
		os.WriteFile(filepath.Join("/tmp/dbg", fmt.Sprintf("crop%d.png", i)), b, 0o644)
		text, err := r.OCR.recognize(context.Background(), ocrRequest{img: crop, psm: 6, whitelist: mrzWhitelist, dpi: 300})
		t.Logf("region %d %+v score %.2f err %v\n%s", i, reg.rect, reg.score, err, text)
	}
}
