package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	fs := newFlagSet("compare", "compare [flags] IMAGE_A IMAGE_B",
		"Compare the faces in two images. Exit status 0: match, 1: no match, 2: error (no face, several faces, bad file).")
	var ef engineFlags
	ef.register(fs.FlagSet)
	threshold := fs.Float64("threshold", 0, "match threshold on the 0–100 score; 0 = the model's calibrated default")
	largest := fs.Bool("largest", false, "use the most prominent face when an image has several, instead of failing")
	asJSON := fs.Bool("json", false, "print the full result (both faces, cosine, score, threshold, match) as JSON")
	paths, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(paths) != 2 {
		return errors.New("usage: visage " + fs.usage)
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
	res.A = compareOne(ctx, eng, &ef, paths[0], *largest)
	res.B = compareOne(ctx, eng, &ef, paths[1], *largest)
	if res.A.Face != nil && res.B.Face != nil {
		c, err := face.Cosine(res.A.Face.Embedding, res.B.Face.Embedding)
		if err != nil {
			return err
		}
		s := eng.Score(c)
		res.Cosine, res.Score, res.Match = &c, &s, s >= res.Threshold
	}
	if *asJSON {
		if err := emit(res, false); err != nil {
			return err
		}
	}
	failed := false
	for _, side := range []compareSide{res.A, res.B} {
		if side.Error != nil {
			fmt.Fprintf(os.Stderr, "visage compare: %s: %s (%s)\n", side.Path, side.Message, *side.Error)
			failed = true
		}
	}
	if failed {
		return exitError{2}
	}
	if !*asJSON {
		printComparison(os.Stdout, &res)
	}
	if !res.Match {
		return exitError{1}
	}
	return nil
}

// printComparison is the human summary: the verdict with the numbers
// behind it, then a line per image.
func printComparison(w io.Writer, r *compareResult) {
	verdict, op := "match", ">="
	if !r.Match {
		verdict, op = "no match", "<"
	}
	fmt.Fprintf(w, "%s: score %.1f %s threshold %.1f (cosine %.3f, model %s)\n",
		verdict, *r.Score, op, r.Threshold, *r.Cosine, r.Model)
	for _, side := range []compareSide{r.A, r.B} {
		faces := "1 face"
		if side.Faces != 1 {
			faces = fmt.Sprintf("%d faces, the most prominent compared", side.Faces)
		}
		live := ""
		if l := side.Face.Liveness; l != nil {
			live = fmt.Sprintf(", liveness %.2f", *l)
		}
		fmt.Fprintf(w, "  %s: %s%s\n", side.Path, faces, live)
	}
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
