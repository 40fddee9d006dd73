package eval

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestPerfectSeparation(t *testing.T) {
	m := Measure([]float64{0.8, 0.9, 0.7}, []float64{0.1, 0.2, 0.3, 0.0})
	if m.AUC != 1 || m.EER != 0 || m.BestAccuracy != 1 {
		t.Fatalf("%+v", m)
	}
}

func TestOverlap(t *testing.T) {
	pos := []float64{0.1, 0.6, 0.7, 0.8}
	neg := []float64{0.0, 0.2, 0.65, 0.3}
	m := Measure(pos, neg)
	// 12 of the 16 (pos, neg) pairs are ordered correctly.
	if math.Abs(m.AUC-12.0/16) > 1e-12 {
		t.Fatalf("AUC %v", m.AUC)
	}
	if m.EER != 0.25 {
		t.Fatalf("EER %v", m.EER)
	}
	at := AtThreshold(pos, neg, 0.5)
	if at.FRR != 0.25 || at.FAR != 0.25 || at.Accuracy != 0.75 {
		t.Fatalf("%+v", at)
	}
	op := OperatingPoint(m.Positive.sorted, m.Negative.sorted, 0.25)
	if op.FAR > 0.25 || op.TAR != 0.75 {
		t.Fatalf("%+v", op)
	}
}

func TestFARTargetsNeedEnoughNegatives(t *testing.T) {
	m := Measure([]float64{1}, make([]float64, 500))
	if _, ok := m.TARAtFAR["1e-3"]; ok {
		t.Fatal("FAR 1e-3 cannot be measured on 500 impostors")
	}
	if _, ok := m.TARAtFAR["1e-2"]; !ok {
		t.Fatal("FAR 1e-2 should be measured on 500 impostors")
	}
}

func TestPairsFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/1.jpg", "a/2.jpg", "b/1.png", "c/x.webp", "c/notes.txt"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	pairs, err := IdentityPairs(dir)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for _, p := range pairs {
		if p.Same {
			same++
		}
	}
	if same != 1 || len(pairs) != 1+2+2+1 {
		t.Fatalf("same %d total %d", same, len(pairs))
	}
	f := filepath.Join(dir, "pairs.txt")
	os.WriteFile(f, []byte("# comment\na/1.jpg a/2.jpg same\n\na/1.jpg b/1.png diff\n"), 0o644)
	got, err := ReadPairs(f)
	if err != nil || len(got) != 2 || !got[0].Same || got[1].B != filepath.Join(dir, "b/1.png") {
		t.Fatalf("%v %+v", err, got)
	}
	os.WriteFile(f, []byte("a b maybe\n"), 0o644)
	if _, err := ReadPairs(f); err == nil {
		t.Fatal("bad label accepted")
	}
}

func TestRank1(t *testing.T) {
	pairs := []Scored{
		{A: "a1", B: "a2", Same: true, Score: 0.8},
		{A: "a1", B: "b1", Score: 0.9}, // a1's nearest is an impostor
		{A: "a2", B: "b1", Score: 0.1},
		{A: "c1", B: "b1", Score: 0.2}, // c1 and b1 have no genuine partner
	}
	rate, probes := Rank1(pairs)
	if probes != 2 || rate != 0.5 {
		t.Fatalf("rank-1 %.2f over %d probes, want 0.50 over 2 (a2 right, a1 wrong)", rate, probes)
	}
	if r, n := Rank1(nil); r != 0 || n != 0 {
		t.Fatalf("empty: %v %d", r, n)
	}
}

// The enrolment protocol enrols each identity's first k images and
// probes with the rest: genuine comparisons are a probe against its own
// face, and a fused template is the normalised mean.
func TestEnrolmentProtocol(t *testing.T) {
	v := func(x, y float32) []float32 { return []float32{x, y} }
	vecs := map[string][]float32{
		"a/1": v(1, 0), "a/2": v(0.8, 0.6), "a/3": v(0.96, 0.28),
		"b/1": v(0, 1), "b/2": v(0.6, 0.8), "b/3": v(0.28, 0.96),
		"c/1": v(-1, 0), // one image: nothing left to probe
	}
	g := EnrolmentProtocol(vecs, 2)
	if g.Identities != 2 || g.Probes != 2 || g.Skipped != 1 || len(g.BestPos) != 2 || len(g.BestNeg) != 2 {
		t.Fatalf("protocol: %+v", g)
	}
	// a/3 against a's templates (1,0) and (0.8,0.6): best 0.96, fused (0.949,0.316)·(0.96,0.28) ≈ 0.999.
	if math.Abs(g.BestPos[0]-0.96) > 1e-6 || math.Abs(g.FusedPos[0]-0.9995) > 1e-3 {
		t.Fatalf("a/3: best %.4f fused %.4f", g.BestPos[0], g.FusedPos[0])
	}
}
