package testenv

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Bill draws a utility-bill-like page of text lines with Go's own font and
// returns it as a JPEG, as a phone upload would arrive. No fixture holds a
// proof of address with a known name and a recent date, so tests draw one.
func Bill(t testing.TB, lines []string) []byte {
	t.Helper()
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 26, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1100, 80+len(lines)*44))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{250, 248, 240, 255}}, image.Point{}, draw.Src)
	// A coloured header band like a logo strip.
	draw.Draw(img, image.Rect(0, 0, 1100, 30), &image.Uniform{color.RGBA{20, 90, 160, 255}}, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{30, 30, 30, 255}), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(60, 80+i*44)
		d.DrawString(l)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
