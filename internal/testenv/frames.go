package testenv

import (
	"bytes"
	"image/jpeg"
	"os"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
)

// CameraFrame renders a fixture photo as a 640×480 JPEG camera frame: the
// photo fills the middle of the frame with its edge pixels repeated
// outward, optionally mirrored (a head turned one way becomes turned the
// other). A flat border around the photo would be a photo-of-a-photo,
// which passive liveness rightly refuses; the smeared edge is not.
func CameraFrame(t testing.TB, mirror bool, parts ...string) []byte {
	t.Helper()
	img := CameraImage(t, mirror, parts...)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img.ToRGBA(), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CameraImage is CameraFrame's pixels (for building video clips).
func CameraImage(t testing.TB, mirror bool, parts ...string) *imageio.Image {
	t.Helper()
	data, err := os.ReadFile(Fixture(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := imageio.Decode(data, imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if mirror {
		src = src.Mirror()
	}
	w := 2 * float64(src.W)
	h := w * 3 / 4
	x0, y0 := -(w-float64(src.W))/2, -(h-float64(src.H))/2
	return src.Warp(imageio.CropResize(x0, y0, x0+w, y0+h, 640, 480), 640, 480)
}
