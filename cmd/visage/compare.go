package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/visagehq/visage/internal/face"
)

type compareSide struct {
	Path    string     `json:"path"`
	Faces   int        `json:"faces"`
	Face    *face.Face `json:"face,omitempty"`
	Error   *string    `json:"error"`
	Message string     `json:"message,omitempty"`
}

type compareResult struct {
	A         compareSide `json:"a"`
	B         compareSide `json:"b"`
	Model     string      `json:"model"`
	Cosine    *float32    `json:"cosine"`
	Score     *float32    `json:"score"`
	Threshold float32     `json:"threshold"`
	Match     bool        `json:"match"`
}

func runCompare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	threshold := fs.Float64("threshold", 0, "match threshold on the 0–100 score; 0 = the model's calibrated default")
	largest := fs.Bool("largest", false, "use the most prominent face when an image has several, instead of failing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: visage compare [flags] IMAGE_A IMAGE_B")
	}
	eng, err := ef.open()
	if err != nil {
		return err
	}
	defer eng.Close()
	res := compareResult{Model: eng.EmbeddingModel(), Threshold: float32(*threshold)}
	if res.Threshold <= 0 {
		res.Threshold = eng.MatchScore()
	}
	res.A = compareOne(ctx, eng, &ef, fs.Arg(0), *largest)
	res.B = compareOne(ctx, eng, &ef, fs.Arg(1), *largest)
	if res.A.Face != nil && res.B.Face != nil {
		c, err := face.Cosine(res.A.Face.Embedding, res.B.Face.Embedding)
		if err != nil {
			return err
		}
		s := eng.Score(c)
		res.Cosine, res.Score, res.Match = &c, &s, s >= res.Threshold
	}
	if err := emit(res, ef.jsonl); err != nil {
		return err
	}
	for _, side := range []compareSide{res.A, res.B} {
		if side.Error != nil {
			fmt.Fprintf(os.Stderr, "visage compare: %s: %s (%s)\n", side.Path, side.Message, *side.Error)
			return exitError{2}
		}
	}
	if !res.Match {
		return exitError{1}
	}
	return nil
}

func compareOne(ctx context.Context, eng *face.Engine, ef *engineFlags, path string, largest bool) compareSide {
	side := compareSide{Path: path}
	fail := func(err error) compareSide {
		side.Error, side.Message = errPtr(err), err.Error()
		return side
	}
	img, err := loadImage(path, ef.limits())
	if err != nil {
		return fail(err)
	}
	faces, err := eng.Analyze(ctx, img, face.Options{Quality: true, Liveness: true})
	if err != nil {
		return fail(err)
	}
	side.Faces = len(faces)
	var f face.Face
	if largest && len(faces) > 0 {
		f = faces[0]
	} else if f, err = face.One(faces); err != nil {
		return fail(err)
	}
	got, err := eng.AnalyzeDetections(ctx, img, []face.Detection{f.Detection}, face.Options{Embed: true})
	if err != nil {
		return fail(err)
	}
	f.Embedding = got[0].Embedding
	side.Face = &f
	return side
}
