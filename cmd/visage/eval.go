package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/visagehq/visage/internal/eval"
	"github.com/visagehq/visage/internal/face"
)

type evalReport struct {
	Model        string            `json:"model"`
	Pairs        int               `json:"pairs"`
	Scored       int               `json:"scored_pairs"`
	Images       int               `json:"images"`
	FailedImages map[string]string `json:"failed_images"`
	NoFace       int               `json:"no_face_images"`
	MsPerImage   float64           `json:"ms_per_image"`
	Cosine       *eval.Binary      `json:"cosine,omitempty"`
	// AllPairs is Cosine's TAR at each FAR with the pairs left unscored
	// (an image without a face) counted as rejected: what a user would
	// see, since such an image cannot be verified at all.
	AllPairs map[string]eval.OpPoint `json:"tar_at_far_all_pairs,omitempty"`
	// Rank1 is leave-one-out identification (--identities only).
	Rank1       *float64 `json:"rank1,omitempty"`
	Rank1Probes int      `json:"rank1_probes,omitempty"`
	AtMatch     *eval.At `json:"at_match_threshold,omitempty"`
	// AtScores is FAR and FRR at each 0–100 score an integration may
	// choose as its match threshold: what each choice buys on this set.
	AtScores map[string]eval.At `json:"at_scores,omitempty"`
	// Enrolment is the multi-image protocol (--identities only), by the
	// number of images a face enrols.
	Enrolment map[string]enrolmentFigures `json:"enrolment,omitempty"`
	Liveness  *livenessReport             `json:"liveness,omitempty"`
}

type livenessReport struct {
	eval.Binary
	AtDefault eval.At `json:"at_default_threshold"`
}

func runEval(ctx context.Context, args []string) error {
	fs := newFlagSet("eval", "eval [flags] PAIRS | --identities DIR | --liveness DIR",
		"Measure accuracy on labelled pairs (lines \"a b same|diff\"), on every pair of an identity folder, or passive liveness on live/ and spoof/ folders.")
	var ef engineFlags
	ef.register(fs.FlagSet)
	ids := fs.String("identities", "", "`DIR` with one sub-folder of images per person: build all genuine and impostor pairs")
	live := fs.String("liveness", "", "`DIR` with live/ and spoof/ sub-folders: measure passive liveness")
	asJSON := fs.Bool("json", false, "print the report as one line of JSON")
	fs.BoolVar(asJSON, "jsonl", false, "the same as --json (older name)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if (*ids == "") == (len(pos) == 0) && *live == "" || len(pos) > 1 {
		return errors.New("usage: visage " + fs.usage)
	}
	eng, err := ef.open()
	if err != nil {
		return err
	}
	defer eng.Close()
	rep := evalReport{Model: eng.EmbeddingModel(), FailedImages: map[string]string{}}
	if *live != "" {
		if err := evalLiveness(ctx, eng, &ef, *live, &rep); err != nil {
			return err
		}
	}
	if *ids != "" || len(pos) > 0 {
		var pairs []eval.Pair
		if *ids != "" {
			pairs, err = eval.IdentityPairs(*ids)
		} else {
			pairs, err = eval.ReadPairs(pos[0])
		}
		if err != nil {
			return err
		}
		if err := evalPairs(ctx, eng, &ef, pairs, *ids != "", &rep); err != nil {
			return err
		}
	}
	if *asJSON {
		return emit(rep, true)
	}
	printReport(rep, eng)
	return nil
}

// embedAll embeds the primary face of each image once, with progress.
func embedAll(ctx context.Context, eng *face.Engine, ef *engineFlags, paths []string, rep *evalReport, opt face.Options) (map[string]face.Face, error) {
	out := map[string]face.Face{}
	start := time.Now()
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "\ranalysing %d/%d", i+1, len(paths))
		img, err := loadImage(p, ef.limits())
		var faces []face.Face
		if err == nil {
			opt.MaxFaces = 1
			faces, err = eng.Analyze(ctx, img, opt)
		}
		if err == nil && len(faces) == 0 {
			err = face.ErrNoFace
		}
		if err != nil {
			rep.FailedImages[p] = errorCode(err)
			if errors.Is(err, face.ErrNoFace) {
				rep.NoFace++
			}
			continue
		}
		out[p] = faces[0]
	}
	fmt.Fprintln(os.Stderr)
	rep.Images += len(paths)
	rep.MsPerImage = float64(time.Since(start).Milliseconds()) / float64(max(1, len(paths)))
	return out, nil
}

// evalPairs scores every pair whose two images have a face; allPairs says
// the pairs are every pair of an identity set, where rank-1 is defined.
func evalPairs(ctx context.Context, eng *face.Engine, ef *engineFlags, pairs []eval.Pair, allPairs bool, rep *evalReport) error {
	faces, err := embedAll(ctx, eng, ef, eval.Images(pairs), rep, face.Options{Embed: true})
	if err != nil {
		return err
	}
	var pos, neg []float64
	var scored []eval.Scored
	genuine := 0
	for _, p := range pairs {
		if p.Same {
			genuine++
		}
		a, okA := faces[p.A]
		b, okB := faces[p.B]
		if !okA || !okB {
			continue
		}
		c, err := face.Cosine(a.Embedding, b.Embedding)
		if err != nil {
			return err
		}
		scored = append(scored, eval.Scored{A: p.A, B: p.B, Same: p.Same, Score: float64(c)})
		if p.Same {
			pos = append(pos, float64(c))
		} else {
			neg = append(neg, float64(c))
		}
	}
	rep.Pairs, rep.Scored = len(pairs), len(pos)+len(neg)
	m := eval.Measure(pos, neg)
	rep.Cosine = &m
	rep.AllPairs = allPairsTAR(m, len(pos), genuine)
	if allPairs {
		r, n := eval.Rank1(scored)
		rep.Rank1, rep.Rank1Probes = &r, n
	}
	at := eval.AtThreshold(pos, neg, float64(eng.CosineAt(eng.MatchScore())))
	rep.AtMatch = &at
	rep.AtScores = map[string]eval.At{}
	for _, sc := range scoreChoices {
		rep.AtScores[fmt.Sprint(sc)] = eval.AtThreshold(pos, neg, float64(eng.CosineAt(float32(sc))))
	}
	if allPairs {
		rep.Enrolment = enrolmentReport(faces)
	}
	return nil
}

// enrolmentReport runs the enrolment protocol with 2 and 4 images a face
// (face 2FA keeps two frontal templates; API enrolments several images):
// TAR at FAR 1e-3 by the best single template and by the fused one.
func enrolmentReport(faces map[string]face.Face) map[string]enrolmentFigures {
	vecs := map[string][]float32{}
	for p, f := range faces {
		if f.Embedding != nil {
			vecs[p] = f.Embedding.Vector
		}
	}
	out := map[string]enrolmentFigures{}
	for _, k := range []int{2, 4} {
		g := eval.EnrolmentProtocol(vecs, k)
		if g.Probes == 0 {
			continue
		}
		best, fused := eval.Measure(g.BestPos, g.BestNeg), eval.Measure(g.FusedPos, g.FusedNeg)
		// FAR 1e-3 needs a thousand impostor comparisons to mean anything;
		// smaller sets are priced at the lowest FAR they can measure.
		far := "1e-3"
		switch {
		case len(g.BestNeg) < 100:
			far = "1e-1"
		case len(g.BestNeg) < 1000:
			far = "1e-2"
		}
		out[fmt.Sprint(k)] = enrolmentFigures{Identities: g.Identities, Probes: g.Probes, FAR: far,
			BestTAR: best.TARAtFAR[far].TAR, FusedTAR: fused.TARAtFAR[far].TAR, BestEER: best.EER, FusedEER: fused.EER}
	}
	return out
}

type enrolmentFigures struct {
	Identities int     `json:"identities"`
	Probes     int     `json:"probes"`
	FAR        string  `json:"far"` // where the TARs are taken
	BestTAR    float64 `json:"best_single_tar"`
	FusedTAR   float64 `json:"fused_tar"`
	BestEER    float64 `json:"best_single_eer"`
	FusedEER   float64 `json:"fused_eer"`
}

// scoreChoices are the match thresholds (0–100) the report prices.
var scoreChoices = []int{50, 60, 70, 80, 85, 90, 95}

// allPairsTAR rescales each operating point's TAR to all genuine pairs,
// the unscored ones counting as rejected.
func allPairsTAR(m eval.Binary, scoredGenuine, genuine int) map[string]eval.OpPoint {
	out := map[string]eval.OpPoint{}
	for k, op := range m.TARAtFAR {
		op.TAR *= float64(scoredGenuine) / float64(max(1, genuine))
		out[k] = op
	}
	return out
}

func evalLiveness(ctx context.Context, eng *face.Engine, ef *engineFlags, dir string, rep *evalReport) error {
	live, spoof, err := eval.LivenessSet(dir)
	if err != nil {
		return err
	}
	faces, err := embedAll(ctx, eng, ef, append(live, spoof...), rep, face.Options{Liveness: true})
	if err != nil {
		return err
	}
	scores := func(paths []string) []float64 {
		var s []float64
		for _, p := range paths {
			if f, ok := faces[p]; ok && f.Liveness != nil {
				s = append(s, float64(*f.Liveness))
			}
		}
		return s
	}
	pos, neg := scores(live), scores(spoof)
	rep.Liveness = &livenessReport{Binary: eval.Measure(pos, neg),
		AtDefault: eval.AtThreshold(pos, neg, float64(eng.LivenessThreshold()))}
	return nil
}

func printReport(r evalReport, eng *face.Engine) {
	fmt.Printf("model %s: %d images, %.0f ms/image, %d failed (%d without a face)\n", r.Model, r.Images, r.MsPerImage, len(r.FailedImages), r.NoFace)
	for p, c := range r.FailedImages {
		fmt.Printf("  failed %s: %s\n", p, c)
	}
	if c := r.Cosine; c != nil {
		fmt.Printf("pairs %d (scored %d): genuine %d, impostor %d\n", r.Pairs, r.Scored, c.Positive.N, c.Negative.N)
		printBinary(*c)
		if r.Scored < r.Pairs {
			for _, k := range []string{"1e-3", "1e-4"} {
				if op, ok := r.AllPairs[k]; ok {
					fmt.Printf("  TAR %.4f at FAR %s counting the %d unscored pairs as rejected\n", op.TAR, k, r.Pairs-r.Scored)
				}
			}
		}
		if r.Rank1 != nil {
			fmt.Printf("  rank-1 %.4f (%d probes, leave-one-out over the set)\n", *r.Rank1, r.Rank1Probes)
		}
		fmt.Printf("  at the default match score %.0f (cosine %.3f): accuracy %.4f, FRR %.4f, FAR %.5f\n",
			eng.MatchScore(), r.AtMatch.Threshold, r.AtMatch.Accuracy, r.AtMatch.FRR, r.AtMatch.FAR)
		for _, k := range []string{"2", "4"} {
			if e, ok := r.Enrolment[k]; ok {
				fmt.Printf("  enrol %s images a face (%d faces, %d probes): TAR at FAR %s best single %.4f, fused %.4f; EER %.4f vs %.4f\n",
					k, e.Identities, e.Probes, e.FAR, e.BestTAR, e.FusedTAR, e.BestEER, e.FusedEER)
			}
		}
		fmt.Printf("  match score →")
		for _, sc := range scoreChoices {
			a := r.AtScores[fmt.Sprint(sc)]
			fmt.Printf("  %d: FAR %.5f FRR %.3f", sc, a.FAR, a.FRR)
		}
		fmt.Println()
	}
	if l := r.Liveness; l != nil {
		fmt.Printf("liveness: live %d, spoof %d\n", l.Positive.N, l.Negative.N)
		printBinary(l.Binary)
		fmt.Printf("  at the default threshold %.2f: real rejected %.1f%%, spoof accepted %.1f%%\n",
			l.AtDefault.Threshold, 100*l.AtDefault.FRR, 100*l.AtDefault.FAR)
	}
}

func printBinary(b eval.Binary) {
	d := func(name string, x eval.Dist) {
		fmt.Printf("  %-9s mean %.3f std %.3f min %.3f p01 %.3f p50 %.3f p99 %.3f max %.3f\n", name, x.Mean, x.Std, x.Min, x.P01, x.P50, x.P99, x.Max)
	}
	d("positive", b.Positive)
	d("negative", b.Negative)
	fmt.Printf("  AUC %.5f  EER %.4f (at %.3f)  best accuracy %.4f (at %.3f)\n", b.AUC, b.EER, b.EERAt, b.BestAccuracy, b.BestAt)
	for _, k := range []string{"1e-1", "1e-2", "1e-3", "1e-4"} {
		if op, ok := b.TARAtFAR[k]; ok {
			fmt.Printf("  TAR %.4f at FAR %s (threshold %.3f, measured FAR %.5f)\n", op.TAR, k, op.Threshold, op.FAR)
		}
	}
}
