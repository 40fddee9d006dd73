package face

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

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
}

// Engine holds one ONNX Runtime session per model, created once. It is
// safe for concurrent use; Close frees the native memory.
type Engine struct {
	manifest *models.Manifest
	quality  QualityPolicy
	det      *session
	lmk      *session
	emb      *session
	live     *session // optional roles below may be nil
	eye      *session
	pose     *session
	expr     *session
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
	e := &Engine{manifest: m, quality: cfg.Quality.withDefaults()}
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
	if f.Landmarks, err = e.landmarks(img, d.Box); err != nil {
		return f, err
	}
	f.Points5 = fivePoints(f.Landmarks)
	aligned, err := align(img, f.Points5)
	if err != nil {
		return f, err
	}
	if opt.Attributes || opt.Quality {
		if e.pose != nil {
			p, err := e.headPose(img, d.Box)
			if err != nil {
				return f, err
			}
			f.Pose = &p
		}
	}
	if opt.Embed {
		if f.Embedding, err = e.embed(aligned); err != nil {
			return f, err
		}
	}
	if opt.Quality {
		q := e.quality.assess(img, d.Box, aligned, f.Pose)
		f.Quality = &q
	}
	if opt.Liveness && e.live != nil {
		s, err := e.liveness(img, d.Box)
		if err != nil {
			return f, err
		}
		f.Liveness = &s
	}
	if opt.Attributes {
		if err := e.attributes(img, &f); err != nil {
			return f, err
		}
	}
	return f, nil
}

// One returns the single face in an image, or ErrNoFace / ErrMultipleFaces.
// Faces much smaller than the largest (background people) are ignored, so
// a selfie taken in a street still counts as one face.
func One(faces []Face) (Face, error) {
	if len(faces) == 0 {
		return Face{}, ErrNoFace
	}
	n := 1
	for _, f := range faces[1:] {
		if f.Box.W() >= 0.5*faces[0].Box.W() {
			n++
		}
	}
	if n > 1 {
		return Face{}, fmt.Errorf("%w: %d faces of similar size", ErrMultipleFaces, n)
	}
	return faces[0], nil
}
