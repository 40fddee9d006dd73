package face

import (
	"context"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
)

// closeUp reframes a photo as a landscape close-up selfie: a w×h frame
// (16:9) whose height is heightShare × the face box's height, centred on
// the face, as a phone held close to the face produces.
func closeUp(t *testing.T, img *imageio.Image, heightShare float64, w, h int) *imageio.Image {
	t.Helper()
	faces := analyze(t, img, Options{MaxFaces: 1})
	if len(faces) == 0 {
		t.Fatal("no face in the source photo")
	}
	b := faces[0].Box
	fh := b.H() * heightShare
	fw := fh * float64(w) / float64(h)
	cx, cy := (b.X1+b.X2)/2, (b.Y1+b.Y2)/2
	return img.Warp(imageio.CropResize(cx-fw/2, cy-fh/2, cx+fw/2, cy+fh/2, w, h), w, h)
}

// A live face that fills a landscape frame must still score live. The
// detector's box is much narrower than tall; cut raw, its 2.7× context
// crop is clamped by the frame's height into a tall strip and squeezed
// into the model's square input, and such close-ups scored as spoofs.
func TestCloseUpLiveFaceIsLive(t *testing.T) {
	e := testEngine(t)
	src := loadFixture(t, "liveness", "live", "minivision_T1.jpg")
	for _, share := range []float64{1.1, 1.3, 1.6} {
		img := closeUp(t, src, share, 800, 450)
		f, err := e.AnalyzeOne(context.Background(), img, Options{Liveness: true})
		if err != nil {
			t.Fatalf("face %.1f× the frame height: %v", share, err)
		}
		t.Logf("face box %.0f×%.0f in 800×450 (frame = %.1f× the box height): liveness %.3f", f.Box.W(), f.Box.H(), share, *f.Liveness)
		if *f.Liveness < e.LivenessThreshold() {
			t.Errorf("close-up live face (frame %.1f× the box height) scored %.3f, below %.2f", share, *f.Liveness, e.LivenessThreshold())
		}
	}
}

// Faces that fill a tight crop edge to edge, several in profile and cut by
// the border, were missed: the retry's edge repetition smeared them into
// the padding (docs/calibration.md).
func TestFaceFillingTheCropIsFound(t *testing.T) {
	for _, p := range [][2]string{
		{"Hugh_Laurie", "3668.png"}, {"Hugh_Laurie", "3671.png"}, {"Hugh_Laurie", "3673.png"},
		{"Hugh_Laurie", "3676.png"}, {"Miley_Cyrus", "7073.png"}, {"Tina_Fey", "9292.png"},
		{"Simon_Cowell", "8492.png"},
	} {
		if faces := analyze(t, loadFixture(t, "faces", "glint-dev", p[0], p[1]), Options{}); len(faces) != 1 {
			t.Errorf("%s/%s: %d faces, want 1", p[0], p[1], len(faces))
		}
	}
}

// A face under 4 % of a large photo's width is too small for the
// whole-image pass; the tiled pass, run only when nothing else was found,
// finds it where it is. The photo is a real one (deepface), shrunk so its
// face is 60 px wide, on a 2400×1800 grey canvas.
func TestSmallFaceInLargePhotoIsFound(t *testing.T) {
	src := loadFixture(t, "faces", "deepface", "id00_img1", "img1.jpg")
	faces := analyze(t, src, Options{})
	if len(faces) != 1 {
		t.Fatalf("source photo: %d faces", len(faces))
	}
	f := 60 / faces[0].Box.W()
	small := src.Resize(int(float64(src.W)*f), int(float64(src.H)*f))
	const W, H, ox, oy = 2400, 1800, 1500, 900
	canvas := &imageio.Image{W: W, H: H, Pix: make([]uint8, 3*W*H)}
	for i := range canvas.Pix {
		canvas.Pix[i] = 128
	}
	for y := 0; y < small.H; y++ {
		copy(canvas.Pix[3*((oy+y)*W+ox):], small.Pix[3*y*small.W:3*(y+1)*small.W])
	}
	got := analyze(t, canvas, Options{})
	if len(got) != 1 {
		t.Fatalf("%d faces in the large photo, want 1", len(got))
	}
	want := faces[0].Box
	cx, cy := ox+f*(want.X1+want.X2)/2, oy+f*(want.Y1+want.Y2)/2
	if b := got[0].Box; cx < b.X1 || cx > b.X2 || cy < b.Y1 || cy > b.Y2 {
		t.Fatalf("found %+v, the face is at (%.0f, %.0f)", b, cx, cy)
	}
}
