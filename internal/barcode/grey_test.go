package barcode

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
)

func symbol(t testing.TB, data string, module int) *imageio.Image {
	t.Helper()
	img, err := EncodePDF417([]byte(data), module, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The skew estimate finds the angle that straightens a turned symbol.
func TestSkewEstimate(t *testing.T) {
	NeedZXing(t)
	g := toGrey(symbol(t, "@\n\x1e\rANSI 636023090001DL00310020DLDAQ12345678\nDCSSAMPLE\r", 3), 4096)
	for _, deg := range []float64{-40, -17, -9, -4, 0, 3, 12, 30, 44} {
		got, share := g.rotate(deg).skew()
		if math.Abs(got+deg) > 1.5 {
			t.Errorf("turned %v°: skew %.2f, want about %v", deg, got, -deg)
		}
		if share < 0.5 {
			t.Errorf("turned %v°: share %.2f for an image of parallel bars", deg, share)
		}
	}
	if _, share := toGrey(noiseImage(300, 300), 4096).skew(); share > 0.2 {
		t.Errorf("noise: share %.2f, want near 0", share)
	}
}

// zxing-cpp alone gives up on a symbol turned 9°; Decode straightens it
// and maps the corners back onto the caller's image.
func TestDeskewAndCorners(t *testing.T) {
	NeedZXing(t)
	data := "DESKEW TEST " + strings.Repeat("0123456789 ABCDEFGHIJ\n", 12)
	sym := toGrey(symbol(t, data, 3), 4096)
	turned := sym.rotate(9)
	if res, err := read(turned, PDF417, 4); err != nil || len(res) != 0 {
		t.Fatalf("zxing-cpp read the turned symbol without help (%d, %v): the deskew is untested", len(res), err)
	}
	// Put the turned symbol off-centre on a larger white page.
	const W, H, X0, Y0 = 1400, 1000, 500, 300
	page := imageio.NewImage(W, H)
	for i := range page.Pix {
		page.Pix[i] = 255
	}
	for y := 0; y < turned.h; y++ {
		for x := 0; x < turned.w; x++ {
			v := turned.pix[y*turned.w+x]
			i := ((Y0+y)*W + X0 + x) * 3
			page.Pix[i], page.Pix[i+1], page.Pix[i+2] = v, v, v
		}
	}
	res, err := DecodePDF417(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	if string(res[0].Bytes) != data {
		t.Fatalf("read %q", res[0].Bytes)
	}
	var cx, cy float64
	for _, p := range res[0].Corners {
		cx += float64(p.X) / 4
		cy += float64(p.Y) / 4
	}
	wantX, wantY := float64(X0)+float64(turned.w)/2, float64(Y0)+float64(turned.h)/2
	if math.Hypot(cx-wantX, cy-wantY) > 15 {
		t.Errorf("corners centred at (%.0f, %.0f), symbol at (%.0f, %.0f): %v", cx, cy, wantX, wantY, res[0].Corners)
	}
}

// Shrinking keeps the mapping: corners found on a box-shrunk copy land
// on the symbol in the full-size image.
func TestShrunkCorners(t *testing.T) {
	NeedZXing(t)
	sym := symbol(t, "SHRINK", 6)
	const W, H, X0, Y0 = 3000, 1800, 1700, 900
	page := imageio.NewImage(W, H)
	for i := range page.Pix {
		page.Pix[i] = 255
	}
	for y := 0; y < sym.H; y++ {
		copy(page.Pix[((Y0+y)*W+X0)*3:], sym.Pix[y*sym.W*3:(y+1)*sym.W*3])
	}
	res, err := Options{MaxSide: 1000}.Decode(context.Background(), page, PDF417)
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Corners[0]
	// The top-left corner is where the symbol's bars start, inside the
	// quiet zone (4 modules of 6 px).
	if math.Abs(float64(p.X-(X0+24))) > 12 || math.Abs(float64(p.Y-(Y0+24))) > 12 {
		t.Errorf("top-left corner %v, want about (%d, %d)", p, X0+24, Y0+24)
	}
}

func noiseImage(w, h int) *imageio.Image {
	m := imageio.NewImage(w, h)
	s := uint32(1)
	for i := range m.Pix {
		s = s*1664525 + 1013904223
		m.Pix[i] = uint8(s >> 24)
	}
	return m
}
