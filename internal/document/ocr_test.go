package document

import (
	"context"
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/imageio"
)

func TestReadMRZRejectsNonDocuments(t *testing.T) {
	requireTesseract(t)
	r := testReader(t)
	ctx := context.Background()
	white := imageio.NewImage(1200, 900)
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	noise := imageio.NewImage(640, 480)
	rng := rand.New(rand.NewSource(1))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.Intn(256))
	}
	for name, img := range map[string]*imageio.Image{"nil": nil, "tiny": imageio.NewImage(8, 8), "white": white, "noise": noise, "black": imageio.NewImage(300, 200)} {
		if m, err := r.ReadMRZ(ctx, img); !errors.Is(err, ErrNoMRZ) {
			t.Errorf("%s: %v, %v", name, m, err)
		}
	}
	if _, err := r.ReadMRZBytes(ctx, []byte("\x89PNG\r\n\x1a\nnot really")); !errors.Is(err, imageio.ErrCorrupt) && !errors.Is(err, imageio.ErrUnsupported) {
		t.Errorf("corrupt bytes: %v", err)
	}
}

func TestTesseractLimits(t *testing.T) {
	requireTesseract(t)
	img := renderBill(t, []string{"A line of text long enough to print", "and another one below it"})
	g := toGray(img)
	req := ocrRequest{img: g, psm: 3}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Tesseract{}).recognize(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	start := time.Now()
	if _, err := (&Tesseract{Timeout: 50 * time.Millisecond}).recognize(context.Background(), req); !errors.Is(err, ErrOCRTimeout) {
		t.Errorf("timeout: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timed-out run took %v to end", d)
	}
	if _, err := (&Tesseract{MaxOutput: 8}).recognize(context.Background(), req); !errors.Is(err, ErrOCROutput) {
		t.Errorf("output limit: %v", err)
	}
	if _, err := (&Tesseract{Path: "/nonexistent/tesseract"}).recognize(context.Background(), req); !errors.Is(err, ErrOCRUnavailable) {
		t.Errorf("missing binary: %v", err)
	}
	if _, err := (&Reader{OCR: Tesseract{Path: "/nonexistent/tesseract"}}).ReadMRZ(context.Background(), img); !errors.Is(err, ErrOCRUnavailable) {
		t.Errorf("ReadMRZ without tesseract: %v", err)
	}
	text, err := (&Tesseract{}).recognize(context.Background(), req)
	if err != nil || len(text) < 20 {
		t.Errorf("plain run: %q %v", text, err)
	}
}
