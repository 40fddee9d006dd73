package face

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/eval"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

var (
	sharedOnce sync.Once
	sharedEng  *Engine
	sharedErr  error
)

// testEngine loads the real models once for the whole package.
func testEngine(t testing.TB) *Engine {
	t.Helper()
	dir := testenv.ModelsDir(t)
	sharedOnce.Do(func() { sharedEng, sharedErr = New(Config{ModelsDir: dir, Threads: 2}) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedEng
}

func loadFixture(t testing.TB, parts ...string) *imageio.Image {
	t.Helper()
	data, err := os.ReadFile(testenv.Fixture(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.Decode(data, imageio.Limits{})
	if err != nil {
		t.Fatalf("%v: %v", parts, err)
	}
	return img
}

func analyze(t testing.TB, img *imageio.Image, opt Options) []Face {
	t.Helper()
	faces, err := testEngine(t).Analyze(context.Background(), img, opt)
	if err != nil {
		t.Fatal(err)
	}
	return faces
}

func TestDetectionCounts(t *testing.T) {
	cases := []struct {
		path []string
		want int
	}{
		{[]string{"faces", "deepface", "id00_img1", "img1.jpg"}, 1},
		{[]string{"faces", "deepface", "id02_img8", "img47.jpg"}, 1}, // WebP named .jpg
		{[]string{"faces", "deepface", "id12_img38", "img41.jpg"}, 2},
		{[]string{"faces", "bbt", "leonard", "leonard5.png"}, 1}, // face fills the crop
		{[]string{"liveness", "live", "minivision_T1.jpg"}, 1},
		{[]string{"documents", "pacman.jpg"}, 0},
	}
	for _, c := range cases {
		t.Run(filepath.Join(c.path...), func(t *testing.T) {
			if _, err := os.Stat(testenv.Fixture(t, c.path...)); err != nil {
				t.Fatalf("fixture missing: %v", err)
			}
			faces := analyze(t, loadFixture(t, c.path...), Options{})
			if len(faces) != c.want {
				t.Fatalf("got %d faces, want %d", len(faces), c.want)
			}
			for _, f := range faces {
				if len(f.Landmarks) != 68 || f.Box.W() <= 0 {
					t.Fatalf("bad face %+v", f.Detection)
				}
			}
		})
	}
}

// The subject, not the larger blurry head at the edge, comes first.
func TestPrimaryFaceIsTheSubject(t *testing.T) {
	img := loadFixture(t, "faces", "deepface", "id12_img38", "img41.jpg")
	ref := loadFixture(t, "faces", "deepface", "id12_img38", "img38.jpg")
	a := analyze(t, img, Options{Embed: true, MaxFaces: 1})[0]
	b := analyze(t, ref, Options{Embed: true, MaxFaces: 1})[0]
	c, err := Cosine(a.Embedding, b.Embedding)
	if err != nil {
		t.Fatal(err)
	}
	if s := testEngine(t).Score(c); s < testEngine(t).MatchScore() {
		t.Fatalf("primary face of img41 does not match the same person: score %.1f", s)
	}
	if _, err := One(analyze(t, img, Options{})); !errors.Is(err, ErrMultipleFaces) {
		t.Fatalf("One on two similar faces: %v, want ErrMultipleFaces", err)
	}
}

// Every genuine and impostor pair of the deepface set, judged at the
// calibrated default threshold (which was set on the whole labelled set).
func TestVerificationAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 61 photos")
	}
	e := testEngine(t)
	pairs, err := eval.IdentityPairs(testenv.Fixture(t, "faces", "deepface"))
	if err != nil {
		t.Fatal(err)
	}
	emb := map[string]*Embedding{}
	for _, p := range eval.Images(pairs) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imageio.Decode(data, imageio.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		faces := analyze(t, img, Options{Embed: true, MaxFaces: 1})
		if len(faces) == 0 {
			t.Fatalf("%s: no face", p)
		}
		emb[p] = faces[0].Embedding
	}
	var pos, neg []float64
	for _, p := range pairs {
		c, err := Cosine(emb[p.A], emb[p.B])
		if err != nil {
			t.Fatal(err)
		}
		if p.Same {
			pos = append(pos, float64(e.Score(c)))
		} else {
			neg = append(neg, float64(e.Score(c)))
		}
	}
	at := eval.AtThreshold(pos, neg, float64(e.MatchScore()))
	m := eval.Measure(pos, neg)
	t.Logf("genuine %d impostor %d: FRR %.4f FAR %.5f EER %.4f", len(pos), len(neg), at.FRR, at.FAR, m.EER)
	if at.FRR > 0.01 || at.FAR > 0.002 {
		t.Fatalf("at score %.0f: FRR %.4f (max 0.01), FAR %.5f (max 0.002)", e.MatchScore(), at.FRR, at.FAR)
	}
	if m.EER > 0.005 {
		t.Fatalf("EER %.4f > 0.005", m.EER)
	}
}

func TestSamePersonAboveDifferentBelow(t *testing.T) {
	e := testEngine(t)
	embed := func(parts ...string) *Embedding {
		return analyze(t, loadFixture(t, parts...), Options{Embed: true, MaxFaces: 1})[0].Embedding
	}
	a := embed("faces", "deepface", "id00_img1", "img1.jpg")
	same := embed("faces", "deepface", "id00_img1", "img2.jpg")
	other := embed("faces", "deepface", "id01_img3", "img3.jpg")
	cs, _ := Cosine(a, same)
	cd, _ := Cosine(a, other)
	if e.Score(cs) < e.MatchScore() || e.Score(cd) >= e.MatchScore() {
		t.Fatalf("same %.3f (score %.1f), different %.3f (score %.1f), threshold %.0f", cs, e.Score(cs), cd, e.Score(cd), e.MatchScore())
	}
	if n := math.Abs(float64(dot(a.Vector, a.Vector)) - 1); n > 1e-4 {
		t.Fatalf("embedding not L2-normalised: |v|²-1 = %g", n)
	}
	foreign := &Embedding{Model: "other-model", Vector: a.Vector}
	if _, err := Cosine(a, foreign); !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("cross-model comparison: %v, want ErrModelMismatch", err)
	}
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestPassiveLiveness(t *testing.T) {
	e := testEngine(t)
	th := e.LivenessThreshold()
	for name, wantReal := range map[string]bool{
		"live/minivision_T1.jpg": true, "spoof/minivision_F1_print.jpg": false, "spoof/minivision_F2_screen.jpg": false,
	} {
		f := analyze(t, loadFixture(t, "liveness", name), Options{Liveness: true, MaxFaces: 1})[0]
		if got := *f.Liveness >= th; got != wantReal {
			t.Errorf("%s: liveness %.4f, want real=%v", name, *f.Liveness, wantReal)
		}
	}
	live, spoof, err := eval.LivenessSet(testenv.Fixture(t, "liveness"))
	if err != nil {
		t.Fatal(err)
	}
	score := func(paths []string) []float64 {
		var s []float64
		for _, p := range paths {
			data, _ := os.ReadFile(p)
			img, _, err := imageio.Decode(data, imageio.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			f := analyze(t, img, Options{Liveness: true, MaxFaces: 1})
			if len(f) == 0 {
				t.Fatalf("%s: no face", p)
			}
			s = append(s, float64(*f[0].Liveness))
		}
		return s
	}
	pos, neg := score(live), score(spoof)
	at := eval.AtThreshold(pos, neg, float64(th))
	auc := eval.Measure(pos, neg).AUC
	t.Logf("live %d spoof %d: AUC %.4f, real rejected %.3f, spoof accepted %.3f", len(pos), len(neg), auc, at.FRR, at.FAR)
	if auc < 0.99 || at.FRR > 0.05 || at.FAR > 0.02 {
		t.Fatalf("liveness: AUC %.4f (min 0.99), real rejected %.3f (max 0.05), spoof accepted %.3f (max 0.02)", auc, at.FRR, at.FAR)
	}
}

// Yaw follows the nose: a face whose nose sits right of the eyes' midpoint
// is turned toward the image's right (positive yaw), and mirroring the
// photo flips the sign.
func TestPoseSign(t *testing.T) {
	for _, p := range [][]string{
		{"faces", "bbt", "stuart", "stuart5.png"},
		{"liveness", "spoof", "minivision_F1_print.jpg"},
		{"liveness", "live", "minivision_T1.jpg"},
	} {
		img := loadFixture(t, p...)
		f := analyze(t, img, Options{Attributes: true, MaxFaces: 1})[0]
		m := analyze(t, img.Mirror(), Options{Attributes: true, MaxFaces: 1})[0]
		noseOffset := f.Points5[2].X - (f.Points5[0].X+f.Points5[1].X)/2
		t.Logf("%s: yaw %.1f, mirrored %.1f, nose offset %.1f px", p[len(p)-1], f.Pose.Yaw, m.Pose.Yaw, noseOffset)
		if math.Abs(f.Pose.Yaw) < 15 {
			t.Fatalf("%s: expected a turned head, yaw %.1f", p[len(p)-1], f.Pose.Yaw)
		}
		if (f.Pose.Yaw > 0) != (noseOffset > 0) {
			t.Errorf("%s: yaw %.1f disagrees with nose offset %.1f", p[len(p)-1], f.Pose.Yaw, noseOffset)
		}
		if f.Pose.Yaw*m.Pose.Yaw >= 0 || math.Abs(f.Pose.Yaw+m.Pose.Yaw) > 10 {
			t.Errorf("%s: mirrored yaw %.1f should be about %.1f", p[len(p)-1], m.Pose.Yaw, -f.Pose.Yaw)
		}
	}
}

func TestSmileAndEyes(t *testing.T) {
	smiling := analyze(t, loadFixture(t, "faces", "deepface", "id00_img1", "img1.jpg"), Options{Attributes: true, MaxFaces: 1})[0]
	neutral := analyze(t, loadFixture(t, "faces", "bbt", "stuart", "stuart4.png"), Options{Attributes: true, MaxFaces: 1})[0]
	if *smiling.Smile < 0.8 || *neutral.Smile > 0.2 {
		t.Errorf("smile: broad smile %.3f (want ≥ 0.8), neutral %.3f (want ≤ 0.2)", *smiling.Smile, *neutral.Smile)
	}
	// No fixture shows closed eyes; check open eyes read as open on every
	// frontal deepface photo (see docs/calibration.md).
	open, total := 0, 0
	dir := testenv.Fixture(t, "faces", "deepface")
	ids, _ := os.ReadDir(dir)
	for _, id := range ids {
		if !id.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, id.Name(), "*.jpg"))
		for _, p := range files[:1] {
			data, _ := os.ReadFile(p)
			img, _, _ := imageio.Decode(data, imageio.Limits{})
			f := analyze(t, img, Options{Attributes: true, MaxFaces: 1})[0]
			total++
			if *f.EyesOpen >= 0.5 {
				open++
			}
		}
	}
	if open < total*9/10 {
		t.Errorf("eyes open on %d of %d frontal photos, want ≥ 90%%", open, total)
	}
}

func TestConcurrentAnalyzeIsDeterministic(t *testing.T) {
	img := loadFixture(t, "faces", "deepface", "id01_img3", "img3.jpg")
	want := analyze(t, img, Options{Embed: true, Liveness: true, MaxFaces: 1})[0]
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := testEngine(t).Analyze(context.Background(), img, Options{Embed: true, Liveness: true, MaxFaces: 1})
			if err != nil {
				errs <- err
				return
			}
			c, _ := Cosine(got[0].Embedding, want.Embedding)
			if c < 0.9999 || math.Abs(float64(*got[0].Liveness-*want.Liveness)) > 1e-4 {
				errs <- errors.New("concurrent result differs")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestQualityFlagsSmallAndBlurryFaces(t *testing.T) {
	img := loadFixture(t, "faces", "deepface", "id00_img1", "img1.jpg")
	good := analyze(t, img, Options{Quality: true, MaxFaces: 1})[0]
	if !good.Quality.Usable {
		t.Fatalf("sharp frontal photo judged unusable: %v", good.Quality.Reasons)
	}
	tiny := img.Resize(img.W/12, img.H/12)
	faces := analyze(t, tiny, Options{Quality: true, MaxFaces: 1})
	if len(faces) == 1 && !contains(faces[0].Quality.Reasons, ReasonTooSmall) {
		t.Errorf("%dpx face not flagged too small: %+v", faces[0].Quality.FacePx, faces[0].Quality)
	}
	// Keep ~25 px of real face resolution, then scale back up.
	k := int(good.Box.W() / 25)
	blurred := img.Resize(img.W/k, img.H/k).Resize(img.W, img.H)
	b := analyze(t, blurred, Options{Quality: true, MaxFaces: 1})
	if len(b) != 1 || !contains(b[0].Quality.Reasons, ReasonBlurry) {
		t.Errorf("blurred face not flagged blurry: %+v", b[0].Quality)
	}
	dark := img.Resize(img.W, img.H)
	for i := range dark.Pix {
		dark.Pix[i] /= 8
	}
	d := analyze(t, dark, Options{Quality: true, MaxFaces: 1})
	if len(d) == 1 && !contains(d[0].Quality.Reasons, ReasonTooDark) {
		t.Errorf("dark face not flagged: %+v", d[0].Quality)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	img := loadFixture(t, "faces", "bbt", "amy", "amy1.png")
	if _, err := testEngine(t).Analyze(ctx, img, All); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// Closing an engine while requests run must neither crash nor corrupt:
// runs in flight finish, later ones fail with ErrClosed.
func TestCloseUnderLoad(t *testing.T) {
	e, err := New(Config{ModelsDir: testenv.ModelsDir(t), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	img := loadFixture(t, "faces", "bbt", "amy", "amy2.png")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 8; j++ {
				if _, err := e.Analyze(context.Background(), img, All); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("after close: %v, want ErrClosed", err)
		}
	}
	if _, err := e.Analyze(context.Background(), img, All); !errors.Is(err, ErrClosed) {
		t.Fatalf("analyze after close: %v", err)
	}
}
