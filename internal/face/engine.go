package face

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/models"
)

// Config selects the models and how they run.
type Config struct {
	ModelsDir string
	Manifest  *models.Manifest // nil: the compiled-in manifest
	Threads   int              // intra-op threads per inference; 0: all cores
	Quality   QualityPolicy
	// Verify checks every model file's SHA-256 before loading (≈0.3 s).
	Verify bool
	// Observe, if set, receives each stage's duration (for metrics).
	Observe func(stage string, d time.Duration)
	// SingleView embeds the aligned face only. By default the engine also
	// embeds its mirror image and adds the two (flip-test fusion), which
	// costs one more embedding pass (≈7 ms) per face and measured more
	// accurate on every fixture set (docs/calibration.md).
	SingleView bool
}

// Engine holds one ONNX Runtime session per model, created once. It is
// safe for concurrent use; Close frees the native memory.
type Engine struct {
	manifest *models.Manifest
	quality  QualityPolicy
	observe  func(stage string, d time.Duration)
	det      *session
	lmk      *session
	emb      *session
	live     *session // optional roles below may be nil
	eye      *session
	pose     *session
	expr     *session

	singleView bool // embed without the mirror image (Config.SingleView)
}

// New loads the runtime library and every model the manifest names.
func New(cfg Config) (*Engine, error) {
	m := cfg.Manifest
	if m == nil {
		var err error
		if m, err = models.Default(); err != nil {
			return nil, err
		}
	}
	if cfg.Verify {
		if err := models.Verify(m, cfg.ModelsDir); err != nil {
			return nil, err
		}
	}
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	if err := initRuntime(filepath.Join(cfg.ModelsDir, m.Runtime)); err != nil {
		return nil, err
	}
	e := &Engine{manifest: m, quality: cfg.Quality.withDefaults(), observe: cfg.Observe, singleView: cfg.SingleView}
	if e.observe == nil {
		e.observe = func(string, time.Duration) {}
	}
	slots := map[string]**session{
		"detector": &e.det, "landmarks": &e.lmk, "embedding": &e.emb,
		"liveness": &e.live, "eyes": &e.eye, "pose": &e.pose, "expression": &e.expr,
	}
	for role, md := range m.Models {
		slot, ok := slots[role]
		if !ok {
			continue
		}
		s, err := newSession(cfg.ModelsDir, md, cfg.Threads)
		if err != nil {
			e.Close()
			return nil, err
		}
		*slot = s
	}
	return e, nil
}

// Close releases every session.
func (e *Engine) Close() error {
	var errs []error
	for _, s := range []*session{e.det, e.lmk, e.emb, e.live, e.eye, e.pose, e.expr} {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// EmbeddingModel is the id stamped on every embedding this engine makes.
func (e *Engine) EmbeddingModel() string { return e.emb.model.ID }

// Manifest returns the loaded model manifest.
func (e *Engine) Manifest() *models.Manifest { return e.manifest }

// Options choose which stages Analyze runs beyond detection and landmarks.
type Options struct {
	MaxFaces   int // analyse at most this many faces, largest first; 0: all
	Embed      bool
	Quality    bool
	Liveness   bool
	Attributes bool // pose, eyes, smile
}

// All runs every stage.
var All = Options{Embed: true, Quality: true, Liveness: true, Attributes: true}

// Analyze detects faces (largest first) and runs the selected stages on
// each. It returns an empty slice, not an error, when there is no face.
func (e *Engine) Analyze(ctx context.Context, img *imageio.Image, opt Options) ([]Face, error) {
	dets, err := e.Detect(ctx, img)
	if err != nil {
		return nil, err
	}
	return e.AnalyzeDetections(ctx, img, dets, opt)
}

// AnalyzeDetections runs the selected stages on faces already detected.
func (e *Engine) AnalyzeDetections(ctx context.Context, img *imageio.Image, dets []Detection, opt Options) ([]Face, error) {
	if opt.MaxFaces > 0 && len(dets) > opt.MaxFaces {
		dets = dets[:opt.MaxFaces]
	}
	faces := make([]Face, 0, len(dets))
	for _, d := range dets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := e.analyzeFace(img, d, opt)
		if err != nil {
			return nil, err
		}
		faces = append(faces, f)
	}
	return faces, nil
}

func (e *Engine) analyzeFace(img *imageio.Image, d Detection, opt Options) (Face, error) {
	f := Face{Detection: d}
	var err error
	var aligned *imageio.Image
	steps := []struct {
		name string
		on   bool
		run  func() error
	}{
		{"landmarks", true, func() (err error) { f.Landmarks, err = e.refinedLandmarks(img, d.Box); return }},
		{"align", true, func() (err error) {
			f.Points5 = fivePoints(f.Landmarks)
			aligned, err = align(img, f.Points5)
			return
		}},
		{"pose", (opt.Attributes || opt.Quality) && e.pose != nil, func() error {
			p, err := e.headPose(img, d.Box)
			f.Pose = &p
			return err
		}},
		{"embed", opt.Embed, func() (err error) { f.Embedding, err = e.embed(aligned); return }},
		{"quality", opt.Quality, func() error {
			q := e.quality.assess(img, d.Box, aligned, f.Pose)
			f.Quality = &q
			return nil
		}},
		{"liveness", opt.Liveness && e.live != nil, func() error {
			s, err := e.liveness(img, d.Box)
			f.Liveness = &s
			return err
		}},
		{"attributes", opt.Attributes, func() error { return e.attributes(img, &f) }},
	}
	for _, st := range steps {
		if !st.on {
			continue
		}
		start := time.Now()
		err = st.run()
		e.observe(st.name, time.Since(start))
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

// AnalyzeOne detects the faces of an image, picks the single subject
// (OneDetection) and runs the selected stages on that face only: one
// landmark pass, one embedding, under whatever concurrency bound the
// caller holds for the whole call. ErrNoFace / ErrMultipleFaces when the
// image does not show exactly one face.
func (e *Engine) AnalyzeOne(ctx context.Context, img *imageio.Image, opt Options) (Face, error) {
	dets, err := e.Detect(ctx, img)
	if err != nil {
		return Face{}, err
	}
	d, err := OneDetection(dets)
	if err != nil {
		return Face{}, err
	}
	if err := ctx.Err(); err != nil {
		return Face{}, err
	}
	return e.analyzeFace(img, d, opt)
}

// OneDetection returns the single subject among detections (most
// prominent first, as Detect returns them), or ErrNoFace /
// ErrMultipleFaces. Faces much smaller than the largest (background
// people) are ignored, so a selfie taken in a street still counts as one
// face.
func OneDetection(dets []Detection) (Detection, error) {
	if len(dets) == 0 {
		return Detection{}, ErrNoFace
	}
	n := 1
	for _, d := range dets[1:] {
		if d.Box.W() >= 0.5*dets[0].Box.W() {
			n++
		}
	}
	if n > 1 {
		return Detection{}, fmt.Errorf("%w: %d faces of similar size", ErrMultipleFaces, n)
	}
	return dets[0], nil
}

// One is OneDetection over analysed faces.
func One(faces []Face) (Face, error) {
	dets := make([]Detection, len(faces))
	for i, f := range faces {
		dets[i] = f.Detection
	}
	if _, err := OneDetection(dets); err != nil {
		return Face{}, err
	}
	return faces[0], nil
}
