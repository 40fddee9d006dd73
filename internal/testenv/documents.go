package testenv

import (
	"bytes"
	"image/jpeg"
	"os"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
)

// Box is a rectangle x1, y1, x2, y2 in pixels.
type Box [4]float64

// SpecimenPhoto is where the holder's photo sits on the fixture specimen
// documents/passport-td3.jpg (ICAO's specimen of Anna Maria Eriksson), as
// the engine detects its face.
var SpecimenPhoto = Box{203, 302, 357, 515}

// DocumentWithFace is a fixture document whose holder photo (dst, the
// detected face box on the document) is replaced by a fixture person's
// face (src, that photo's face box; zero for the whole image), as JPEG:
// the same person as a fixture selfie, on a document with a real MRZ.
// eraseBelow > 0 paints the document white from that fraction of its
// height down (an unreadable MRZ).
func DocumentWithFace(t testing.TB, doc []string, dst Box, person []string, src Box, eraseBelow float64) []byte {
	t.Helper()
	d := decodeFixture(t, doc...)
	p := decodeFixture(t, person...)
	if src == (Box{}) {
		src = Box{0, 0, float64(p.W), float64(p.H)}
	}
	// Paste the face with some margin, as an ID photo frames a head.
	const margin = 0.2
	dw, dh := dst[2]-dst[0], dst[3]-dst[1]
	x0, y0 := int(dst[0]-margin*dw), int(dst[1]-margin*dh)
	w, h := int(dw*(1+2*margin)), int(dh*(1+2*margin))
	sw, sh := src[2]-src[0], src[3]-src[1]
	patch := p.Warp(imageio.CropResize(src[0]-margin*sw, src[1]-margin*sh, src[2]+margin*sw, src[3]+margin*sh, w, h), w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := x0+x, y0+y
			if dx < 0 || dy < 0 || dx >= d.W || dy >= d.H {
				continue
			}
			copy(d.Pix[(dy*d.W+dx)*3:(dy*d.W+dx)*3+3], patch.Pix[(y*w+x)*3:(y*w+x)*3+3])
		}
	}
	if eraseBelow > 0 {
		for i := int(eraseBelow*float64(d.H)) * d.W * 3; i < len(d.Pix); i++ {
			d.Pix[i] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, d.ToRGBA(), &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeFixture(t testing.TB, parts ...string) *imageio.Image {
	t.Helper()
	data, err := os.ReadFile(Fixture(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.Decode(data, imageio.Limits{MaxSide: -1})
	if err != nil {
		t.Fatal(err)
	}
	return img
}
