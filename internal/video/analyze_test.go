package video

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

var (
	engOnce sync.Once
	engine  *face.Engine
	engErr  error
)

// testEngine loads the real models once for the package.
func testEngine(t testing.TB) *face.Engine {
	t.Helper()
	dir := testenv.ModelsDir(t)
	engOnce.Do(func() { engine, engErr = face.New(face.Config{ModelsDir: dir, Threads: 2}) })
	if engErr != nil {
		t.Fatal(engErr)
	}
	return engine
}

// policy is what the verification service passes: the engine's own
// calibrated thresholds and faceauth's challenge policy.
func policy(eng *face.Engine) AnalysisOptions {
	p := faceauth.DefaultChallengePolicy
	return AnalysisOptions{MatchScore: eng.MatchScore(), LivenessMin: eng.LivenessThreshold(),
		EyesOpenMin: p.EyesOpenMin, EyesClosedMax: p.EyesClosedMax, FrontalYawMax: p.FrontalYawMax}
}

// closeEyes paints each eye (68-point landmarks 36–41 and 42–47) over
// with the skin just above it, the way a shut eyelid covers the eye.
func closeEyes(img *imageio.Image, lm []face.Point) *imageio.Image {
	out := imageio.NewImage(img.W, img.H)
	copy(out.Pix, img.Pix)
	for _, eye := range [][]face.Point{lm[36:42], lm[42:48]} {
		x0, y0, x1, y1 := eye[0].X, eye[0].Y, eye[0].X, eye[0].Y
		for _, p := range eye {
			x0, y0, x1, y1 = min(x0, p.X), min(y0, p.Y), max(x1, p.X), max(y1, p.Y)
		}
		w, h := x1-x0, y1-y0
		// grow the box: the landmarks trace the eye's opening, the lid is larger
		x0, x1 = x0-0.25*w, x1+0.25*w
		y0, y1 = y0-0.6*h-2, y1+0.6*h+2
		cy := int(y0) - 1 // the lid's skin, just above the eye
		for y := int(y0); y <= int(y1); y++ {
			for x := int(x0); x <= int(x1); x++ {
				if x < 0 || y < 0 || x >= img.W || y >= img.H {
					continue
				}
				r, g, b := img.At(x, cy)
				i := (y*img.W + x) * 3
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = r, g, b
			}
		}
		// the lid's crease: a darker line across the middle
		mid := int((y0 + y1) / 2)
		for x := int(x0 + 0.1*w); x <= int(x1-0.1*w); x++ {
			if x >= 0 && x < img.W && mid >= 0 && mid < img.H {
				i := (mid*img.W + x) * 3
				for k := 0; k < 3; k++ {
					out.Pix[i+k] = uint8(int(out.Pix[i+k]) * 3 / 5)
				}
			}
		}
	}
	return out
}

var (
	amyFront   = []string{"faces", "bbt", "amy", "amy2.png"} // frontal, smiling
	amyTurned  = []string{"faces", "bbt", "amy", "amy1.png"} // head turned to her right
	pennyFront = []string{"faces", "bbt", "penny", "penny5.png"}
	leonard    = []string{"faces", "bbt", "leonard", "leonard1.png"}
)

// analyzeClip decodes a clip and analyses it with the real engine.
func analyzeClip(t *testing.T, path string, fo FrameOptions) ([]Frame, *Analysis) {
	t.Helper()
	eng := testEngine(t)
	frames, err := Frames(context.Background(), path, fo)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(context.Background(), eng, frames, policy(eng))
	if err != nil {
		t.Fatal(err)
	}
	logAnalysis(t, a)
	return frames, a
}

func logAnalysis(t *testing.T, a *Analysis) {
	t.Helper()
	for _, r := range a.Frames {
		if f := r.Face; f != nil {
			t.Logf("%2d %5.2fs face %3dpx sharp %.2f usable %-5v live %.3f yaw %6.1f eyes %.3f rank %.2f sim %5.1f",
				r.Index, r.Time.Seconds(), f.Quality.FacePx, f.Quality.Sharpness, r.Usable, *f.Liveness, f.Pose.Yaw, *f.EyesOpen, r.Rank, r.Similarity)
		} else {
			t.Logf("%2d %5.2fs faces %d", r.Index, r.Time.Seconds(), r.Faces)
		}
	}
	t.Logf("best %v reference %d identity %+v liveness %+v blink %+v motion %+v no-face %.2f multi %.2f",
		a.Best, a.Reference, a.Identity, a.Liveness, a.Blink, a.HeadMotion, a.NoFaceShare, a.MultiFaceShare)
}

// checkBest: best frames are eligible, the reference person's, best first.
func checkBest(t *testing.T, a *Analysis) {
	t.Helper()
	for k, i := range a.Best {
		r := a.Frames[i]
		if !r.eligible() || !r.SamePerson || (k > 0 && r.Rank > a.Frames[a.Best[k-1]].Rank) {
			t.Fatalf("best frame %d: %+v", i, r)
		}
	}
}

// TestSamePersonClip: one person looking at the camera, then turning her
// head both ways, recorded in each format a browser or phone produces.
func TestSamePersonClip(t *testing.T) {
	eng := testEngine(t)
	pics := camera(t, seg(amyFront, false, 10), seg(amyTurned, false, 10), seg(amyTurned, true, 10))
	for _, c := range []struct{ codec, name string }{
		{"h264", "selfie.mp4"}, {"h264-frag", "selfie.mp4"}, {"vp8", "selfie.webm"}, {"vp9", "selfie.webm"}, {"vp8-live", "selfie.webm"},
	} {
		t.Run(c.codec, func(t *testing.T) {
			_, a := analyzeClip(t, encode(t, c.name, c.codec, 10, pics), FrameOptions{})
			if len(a.Frames) != 15 || a.FaceFrames != 15 || a.NoFaceShare != 0 || a.MultiFaceShare != 0 {
				t.Fatalf("%d frames, %d with one face", len(a.Frames), a.FaceFrames)
			}
			id := a.Identity
			if !id.SamePerson || len(id.Mismatches) != 0 || len(id.Changes) != 0 || id.Compared != 15 || id.MinSimilarity < eng.MatchScore() {
				t.Fatalf("identity: %+v", id)
			}
			checkBest(t, a)
			// The frontal second holds the frames to match with.
			if len(a.Best) != 3 || a.Frames[a.Best[0]].Time >= time.Second || a.Reference != a.Best[0] {
				t.Fatalf("best %v reference %d", a.Best, a.Reference)
			}
			if a.Liveness.Frames != 15 || a.Liveness.Median < eng.LivenessThreshold() || a.Liveness.Min > a.Liveness.Median {
				t.Fatalf("liveness %+v", a.Liveness)
			}
			// Turned right, then left: the head moved.
			if m := a.HeadMotion; m.YawMin > -15 || m.YawMax < 15 || m.YawRange < 40 {
				t.Fatalf("head motion %+v", m)
			}
			if a.Blink.Seen {
				t.Fatalf("blink seen with open eyes throughout: %+v", a.Blink)
			}
		})
	}
}

// TestFaceSwapClip: the person in front of the camera changes midway.
func TestFaceSwapClip(t *testing.T) {
	t.Run("one swap", func(t *testing.T) {
		pics := camera(t, seg(amyFront, false, 15), seg(pennyFront, false, 15))
		for _, codec := range []string{"h264", "vp9"} {
			t.Run(codec, func(t *testing.T) {
				_, a := analyzeClip(t, encode(t, "swap."+codec, codec, 10, pics), FrameOptions{})
				id := a.Identity
				if id.SamePerson || a.FaceFrames != 15 {
					t.Fatalf("swap not flagged: %+v", id)
				}
				// The change is the first frame sampled after 1.5 s, and
				// one whole side of it mismatches the reference.
				first := slices.IndexFunc(a.Frames, func(r FrameResult) bool { return r.Time >= 1500*time.Millisecond })
				if !slices.Equal(id.Changes, []int{first}) {
					t.Fatalf("changes %v, want [%d]", id.Changes, first)
				}
				before, after := seq(0, first), seq(first, 15)
				if !slices.Equal(id.Mismatches, before) && !slices.Equal(id.Mismatches, after) {
					t.Fatalf("mismatches %v, want %v or %v", id.Mismatches, before, after)
				}
				checkBest(t, a)
			})
		}
	})
	t.Run("two strangers", func(t *testing.T) {
		// Two swaps to people who both differ from the subject: the second
		// is caught by comparing neighbours, and the subject's return too.
		pics := camera(t, seg(amyFront, false, 12), seg(pennyFront, false, 6),
			seg(leonard, false, 6), seg(amyFront, false, 6))
		_, a := analyzeClip(t, encode(t, "swaps.mp4", "h264", 10, pics), FrameOptions{})
		if a.Identity.SamePerson || !slices.Equal(a.Identity.Changes, []int{6, 9, 12}) ||
			!slices.Equal(a.Identity.Mismatches, seq(6, 12)) {
			t.Fatalf("identity %+v, want changes [6 9 12], mismatches 6–11", a.Identity)
		}
		if a.Frames[a.Reference].Time >= 1200*time.Millisecond && a.Frames[a.Reference].Time < 2400*time.Millisecond {
			t.Fatalf("reference %d is a stranger's", a.Reference)
		}
	})
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

var (
	hamOnce   sync.Once
	hamFrames []Frame
	hamA      *Analysis
)

// hamilton is the real clip's frames and analysis, made once.
func hamilton(t *testing.T) ([]Frame, *Analysis) {
	t.Helper()
	path := fixturePath(t, "video", "short_hamilton_clip.mp4")
	hamOnce.Do(func() { hamFrames, hamA = analyzeClip(t, path, FrameOptions{}) })
	if hamA == nil {
		t.Fatal("hamilton analysis failed")
	}
	return hamFrames, hamA
}

// TestRealVideos: real footage that is not a selfie. The Hamilton clip
// (10 s at 5 fps) opens on a stage and the audience, shows a man close
// up and then the singer for about four seconds, and ends on the
// audience laughing.
func TestRealVideos(t *testing.T) {
	t.Run("hamilton", func(t *testing.T) {
		_, a := hamilton(t)
		if len(a.Frames) != 50 || a.MultiFaceShare < 0.2 || a.NoFaceFrames == 0 || a.FaceFrames < 10 {
			t.Fatalf("%d frames: %d one face, %d none, %d several", len(a.Frames), a.FaceFrames, a.NoFaceFrames, a.MultiFaceFrames)
		}
		// Several people: not one person throughout.
		if a.Identity.SamePerson || len(a.Identity.Mismatches) == 0 || len(a.Identity.Changes) == 0 {
			t.Fatalf("identity %+v", a.Identity)
		}
		// The reference is the person seen longest, the singer (3.4–7.8 s),
		// not a sharper face seen for a moment.
		if rt := a.Frames[a.Reference].Time; rt < 3400*time.Millisecond || rt > 7800*time.Millisecond {
			t.Fatalf("reference frame %d at %v", a.Reference, rt)
		}
		checkBest(t, a)
		if len(a.Best) == 0 {
			t.Fatal("no best frame of the singer")
		}
	})
	t.Run("faceapi", func(t *testing.T) {
		// 0.2 s (5 frames) of a shop with small figures: no selfie in it.
		frames, a := analyzeClip(t, fixturePath(t, "video", "faceapi_test_video.mp4"), FrameOptions{})
		if len(frames) == 0 || len(frames) > 2 || len(a.Best) != 0 || (a.FaceFrames == 0 && a.Identity.SamePerson) {
			t.Fatalf("%d frames, best %v, identity %+v", len(frames), a.Best, a.Identity)
		}
	})
}

// No fixture shows one person blinking on video. The state machine is
// driven with eye readings the engine made on real frames: open eyes
// (amy, frontal) and eyes shut in laughter (the Hamilton clip's closest
// face at 2.2 s, read as ~0.001 open).
func TestBlinkStateMachine(t *testing.T) {
	eng := testEngine(t)
	opt := policy(eng)
	faces, err := eng.Analyze(context.Background(), testenv.CameraImage(t, false, amyFront...), face.All)
	if err != nil || len(faces) != 1 {
		t.Fatalf("amy: %d faces, %v", len(faces), err)
	}
	open := *faces[0].EyesOpen
	_, ham := hamilton(t)
	var shut float32 = 1
	for _, r := range ham.Frames {
		if r.Face != nil && *r.Face.EyesOpen < shut {
			shut = *r.Face.EyesOpen
		}
	}
	t.Logf("eyes open: amy %.3f; Hamilton's most closed %.3f", open, shut)
	if open < opt.EyesOpenMin || shut > opt.EyesClosedMax {
		t.Fatalf("the readings no longer bracket the thresholds %v / %v", opt.EyesOpenMin, opt.EyesClosedMax)
	}
	type reading struct {
		eyes    float32
		frontal bool
	}
	O, C, T := reading{open, true}, reading{shut, true}, reading{open, false} // T: open but turned
	cases := []struct {
		name string
		seq  []reading
		want Blink
	}{
		{"open closed open", []reading{O, O, C, O}, Blink{true, 1, 2, 3}},
		{"open only", []reading{O, O, O, O, O, O}, Blink{false, 5, -1, -1}},
		{"starts closed", []reading{C, O}, Blink{false, 1, -1, -1}},
		{"starts closed, blinks later", []reading{C, O, C, C, O}, Blink{true, 1, 2, 4}},
		{"reopens turned away", []reading{O, C, T, O}, Blink{true, 0, 1, 3}},
		{"open turned away does not start it", []reading{T, C, O}, Blink{false, 2, -1, -1}},
	}
	for _, c := range cases {
		tr := newBlinkTracker(opt)
		for i, r := range c.seq {
			tr.next(i, r.eyes, r.frontal)
		}
		if got := tr.result(); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestBlinkInClip runs the blink through video and engine. No fixture
// shows a blink, so the closed frames are amy's with her eyes painted
// over with the skin of her lids (synthetic, said plainly: the engine
// reads them as closed, ≈0.05, and still as amy).
func TestBlinkInClip(t *testing.T) {
	src := testenv.CameraImage(t, false, amyFront...)
	faces, err := testEngine(t).Analyze(context.Background(), src, face.Options{})
	if err != nil || len(faces) != 1 {
		t.Fatalf("amy: %d faces, %v", len(faces), err)
	}
	shut := closeEyes(src, faces[0].Landmarks)
	hold := func(img *imageio.Image, n int) []*imageio.Image { return slices.Repeat([]*imageio.Image{img}, n) }
	blink := slices.Concat(hold(src, 6), hold(shut, 3), hold(src, 6))
	_, a := analyzeClip(t, encode(t, "blink.mp4", "h264", 10, blink), FrameOptions{FPS: 10})
	if !a.Blink.Seen || a.Blink.Closed < 6 || a.Blink.Closed > 8 || a.Blink.Reopen < 9 || !a.Identity.SamePerson {
		t.Fatalf("blink %+v identity %+v", a.Blink, a.Identity)
	}
	// Someone else's closed eyes prove nothing about the subject: penny
	// with her eyes painted shut the same way. (The Hamilton clip served
	// here once, but its only "closed" reading was a face cut off at the
	// frame's edge, which better detection no longer reports.)
	penny := testenv.CameraImage(t, false, pennyFront...)
	pf, err := testEngine(t).Analyze(context.Background(), penny, face.Options{})
	if err != nil || len(pf) != 1 {
		t.Fatalf("penny: %d faces, %v", len(pf), err)
	}
	pennyShut := closeEyes(penny, pf[0].Landmarks)
	if ps, err := testEngine(t).Analyze(context.Background(), pennyShut, face.Options{Attributes: true}); err != nil || len(ps) != 1 ||
		ps[0].EyesOpen == nil || *ps[0].EyesOpen > policy(testEngine(t)).EyesClosedMax {
		t.Fatalf("penny's painted-shut eyes do not read closed: %+v %v", ps, err)
	}
	mixed := []Frame{{Image: src}, {Image: src}, {Image: pennyShut}, {Image: src}, {Image: src}}
	eng := testEngine(t)
	b, err := Analyze(context.Background(), eng, mixed, policy(eng))
	if err != nil {
		t.Fatal(err)
	}
	if b.Blink.Seen || !slices.Equal(b.Identity.Mismatches, []int{2}) {
		t.Fatalf("a stranger's closed eyes: blink %+v identity %+v", b.Blink, b.Identity)
	}
}

func TestAnalyzeOptions(t *testing.T) {
	eng := testEngine(t)
	good := policy(eng)
	bad := map[string]func(o *AnalysisOptions){
		"no match score":    func(o *AnalysisOptions) { o.MatchScore = 0 },
		"no liveness":       func(o *AnalysisOptions) { o.LivenessMin = 0 },
		"no eye thresholds": func(o *AnalysisOptions) { o.EyesOpenMin, o.EyesClosedMax = 0, 0 },
		"closed above open": func(o *AnalysisOptions) { o.EyesClosedMax = o.EyesOpenMin + 0.1 },
		"no frontal limit":  func(o *AnalysisOptions) { o.FrontalYawMax = 0 },
	}
	for name, mod := range bad {
		o := good
		mod(&o)
		if _, err := Analyze(context.Background(), eng, nil, o); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// No frames, or no face: an empty verdict, not an error.
	a, err := Analyze(context.Background(), eng, nil, good)
	if err != nil || a.Reference != -1 || a.Identity.SamePerson || len(a.Best) != 0 {
		t.Fatalf("%+v %v", a, err)
	}
	grey := imageio.NewImage(320, 240)
	a, err = Analyze(context.Background(), eng, []Frame{{Image: grey}}, good)
	if err != nil || a.NoFaceShare != 1 || a.Identity.SamePerson || a.Reference != -1 {
		t.Fatalf("%+v %v", a, err)
	}
	// A cancelled request stops the engine.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Analyze(ctx, eng, []Frame{{Image: testenv.CameraImage(t, false, amyFront...)}}, good); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
