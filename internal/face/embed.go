package face

import (
	"fmt"
	"math"

	"github.com/visagehq/visage/internal/imageio"
)

// arcfaceRef is the standard 112×112 five-point template the recognition
// model was trained on (InsightFace).
var arcfaceRef = [5][2]float64{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366},
	{41.5493, 92.3655}, {70.7299, 92.2041},
}

const alignedSize = 112

// align warps the face so its five points land on the template with a
// least-squares similarity transform.
func align(img *imageio.Image, p5 [5]Point) (*imageio.Image, error) {
	src := make([][2]float64, 5)
	dst := make([][2]float64, 5)
	for i, p := range p5 {
		src[i] = [2]float64{p.X, p.Y}
		dst[i] = arcfaceRef[i]
	}
	fwd, ok := imageio.Similarity(src, dst)
	if !ok {
		return nil, fmt.Errorf("align: degenerate landmarks")
	}
	inv, ok := fwd.Invert()
	if !ok {
		return nil, fmt.Errorf("align: degenerate transform")
	}
	return img.Warp(inv, alignedSize, alignedSize), nil
}

// embed returns the L2-normalised embedding of an aligned face. Unless
// the engine runs single-view, it is the sum of the normalised embeddings
// of the face and of its mirror image (flip-test fusion): the two views
// err differently on pose and lighting, and their sum is steadier.
func (e *Engine) embed(aligned *imageio.Image) (*Embedding, error) {
	v, err := e.embedView(aligned)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if !e.singleView {
		mv, err := e.embedView(aligned.Mirror())
		if err != nil {
			return nil, fmt.Errorf("embed mirror image: %w", err)
		}
		for i := range v {
			v[i] += mv[i]
		}
		normalize(v)
	}
	return &Embedding{Model: e.emb.model.ID, Vector: v}, nil
}

// embedView runs the recognition model on one view and normalises it.
func (e *Engine) embedView(img *imageio.Image) ([]float32, error) {
	m := e.emb.model
	out, err := e.emb.run(toTensor(img, m))
	if err != nil {
		return nil, err
	}
	v := out[0]
	if len(v) != m.Dim {
		return nil, fmt.Errorf("got %d values, want %d", len(v), m.Dim)
	}
	normalize(v)
	return v, nil
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// Cosine is the cosine similarity of two L2-normalised embeddings. It
// refuses to compare vectors from different models.
func Cosine(a, b *Embedding) (float32, error) {
	if a == nil || b == nil {
		return 0, fmt.Errorf("cosine: missing embedding")
	}
	if a.Model != b.Model || len(a.Vector) != len(b.Vector) {
		return 0, fmt.Errorf("%w: %s (%d) vs %s (%d)", ErrModelMismatch, a.Model, len(a.Vector), b.Model, len(b.Vector))
	}
	var s float32
	for i, x := range a.Vector {
		s += x * b.Vector[i]
	}
	return s, nil
}
