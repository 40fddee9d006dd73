package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

const compactDim = 512

// TestCompactRecallStructured holds the compact search to the recall bars of
// issue 11 on the structured set (identity centres + noise), against exact
// search over the same templates.
func TestCompactRecallStructured(t *testing.T) {
	n, probes := 60_000, 200
	if testing.Short() {
		n, probes = 20_000, 100
	}
	g := newFaceGen(compactDim, 7)
	ex, cm := newExactIndex(compactDim), newCompactIndex(compactDim)
	faces := buildStructured(t, g, n, ex, cm)
	if !cm.Compact() || ex.Compact() {
		t.Fatalf("modes: compact index compact=%v, exact index compact=%v", cm.Compact(), ex.Compact())
	}
	ps := g.probes(faces, probes, probes)
	st := measureRecall(cm, ps, 50, exactResults(ex, ps, 50))
	t.Logf("n=%d: %v", n, st)
	for _, c := range []struct {
		what string
		got  float64
		min  float64
	}{
		{"genuine recall@1", ratio(st.genTop1, st.gen), 0.99},
		{"impostor recall@1", ratio(st.impTop1, st.imp), 0.99},
		{"true identity", ratio(st.trueCmp, st.gen), ratio(st.trueExact, st.gen) - 0.01},
		{"threshold agreement", ratio(st.thrAgree, st.gen+st.imp), 0.99},
	} {
		if c.got < c.min {
			t.Errorf("%s %.4f < %.4f", c.what, c.got, c.min)
		}
	}
	if st.cosErrMax > 1e-3 {
		t.Errorf("top-1 cosine error up to %.5f, want ≤ 0.001", st.cosErrMax)
	}
	// The structured set must look like face embeddings, or the bars mean
	// little: genuine top-1 well above the match threshold, impostor top-1
	// around it.
	if m := mean(st.genCos); m < 0.5 || m > 0.75 {
		t.Errorf("genuine top-1 cosine mean %.3f outside [0.5, 0.75]", m)
	}
	if m := mean(st.impCos); m < 0.25 || m > 0.5 {
		t.Errorf("impostor top-1 cosine mean %.3f outside [0.25, 0.5]", m)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(1, len(xs)))
}

// compactBrute is the reference for a compact index: bruteForce over the
// scores of the index's own codes. A compact search whose candidate lists
// hold every row (an index smaller than headKeepMin and shortListMin) must
// return exactly this.
func compactBrute(ix *Index, q []float32, k int, minCos float32) []Hit {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c := ix.codes
	x := make([]float32, c.dim)
	c.rot.apply(x, q)
	best := map[string]Hit{}
	for r := range c.rows() {
		keepBest(best, ix.faceKey[ix.rowFace[r]], ix.rowID[r], c.score(x, int32(r)), minCos)
	}
	return topFaces(best, k)
}

// TestCompactFaceSemantics checks the compact path's face-level top k (each
// face once with its best template, k, threshold, order) against compactBrute,
// serial and parallel, and its cosines against exact ones.
func TestCompactFaceSemantics(t *testing.T) {
	g := newFaceGen(compactDim, 21)
	ser, par := newCompactIndex(compactDim), newCompactIndex(compactDim)
	ser.workers, par.workers = 1, 3
	faces := buildStructured(t, g, 3000, ser, par)
	ts := snapshot(t, newExactFrom(t, g, 3000))
	for i, p := range g.probes(faces, 20, 20) {
		for _, k := range []int{1, 10, 100, 5000} {
			for _, minCos := range []float32{-1, 0.1, defaultMatchCosine} {
				want := compactBrute(ser, p.vec, k, minCos)
				what := fmt.Sprintf("probe %d k %d min %v", i, k, minCos)
				sameHits(t, what+" serial", ser.Search(p.vec, k, minCos), want)
				sameHits(t, what+" parallel", par.Search(p.vec, k, minCos), want)
				for _, h := range want {
					if d := math.Abs(float64(h.Cosine - dot(p.vec, ts[h.TemplateID]))); d > 2e-4 {
						t.Fatalf("%s: %s cosine %v off the exact one by %.6f", what, h.TemplateID, h.Cosine, d)
					}
				}
			}
		}
	}
}

// newExactFrom rebuilds the first n templates of g's set in an exact index.
func newExactFrom(t *testing.T, g *faceGen, n int) *Index {
	ex := newExactIndex(compactDim)
	buildStructured(t, g, n, ex)
	return ex
}

// snapshot returns an exact index's vectors by template id.
func snapshot(t *testing.T, ex *Index) map[string][]float32 {
	t.Helper()
	m := map[string][]float32{}
	for r, id := range ex.rowID {
		m[id] = slices.Clone(ex.slab[r*ex.dim : (r+1)*ex.dim])
	}
	return m
}

// TestCompactRemoveAndUpsert applies random adds, upserts and removals to a
// compact index and checks after each batch that every row's codes (bits,
// int8, residual, scale) are those of the template's current vector, i.e.
// that swap-removal moved and dropped all code stores together, and that a
// removed template is never found.
func TestCompactRemoveAndUpsert(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	ix := newCompactIndex(compactDim)
	ref := newCodes(compactDim) // encodes a vector on its own, for comparison
	ref.appendRow(randUnit(rng, compactDim))
	live := map[string][]float32{}
	last := map[string][]float32{} // every id's last vector, removed or not
	faceOf := map[string]string{}
	var removed []string
	for step := range 3000 {
		face := fmt.Sprintf("f%02d", rng.IntN(40))
		switch op := rng.IntN(10); {
		case op < 6:
			id := fmt.Sprintf("t%03d", rng.IntN(200))
			v := randUnit(rng, compactDim)
			mustAdd(t, ix, id, face, v)
			live[id], last[id], faceOf[id] = v, v, face
		case op < 8:
			for id := range live {
				if faceOf[id] == face {
					delete(live, id)
					removed = append(removed, id)
				}
			}
			ix.Remove(face)
		default:
			id := fmt.Sprintf("t%03d", rng.IntN(200))
			if _, ok := live[id]; ok != ix.RemoveTemplate(id) {
				t.Fatalf("step %d: RemoveTemplate(%s) disagrees with the model", step, id)
			}
			delete(live, id)
			removed = append(removed, id)
		}
		if step%100 != 0 {
			continue
		}
		checkInvariants(t, ix)
		checkCodes(t, ix, ref, live)
		for _, id := range removed {
			if _, back := live[id]; back {
				continue
			}
			for _, h := range ix.Search(last[id], 5, -1) {
				if h.TemplateID == id {
					t.Fatalf("step %d: removed template %s found", step, id)
				}
			}
		}
		removed = removed[:0]
	}
}

// checkCodes verifies that row r of ix's codes encodes live[rowID[r]].
func checkCodes(t *testing.T, ix *Index, ref *codes, live map[string][]float32) {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c := ix.codes
	if len(ix.rowID) != len(live) {
		t.Fatalf("index has %d templates, model %d", len(ix.rowID), len(live))
	}
	for r, id := range ix.rowID {
		v, ok := live[id]
		if !ok {
			t.Fatalf("row %d holds removed template %s", r, id)
		}
		ref.set(0, v)
		if !slices.Equal(c.head[r*c.hw:(r+1)*c.hw], ref.head) || !slices.Equal(c.tail[r*c.tw:(r+1)*c.tw], ref.tail) ||
			!slices.Equal(c.q[r*c.dim:(r+1)*c.dim], ref.q) || !slices.Equal(c.res[r*c.dim/2:(r+1)*c.dim/2], ref.res) ||
			c.inv[r] != ref.inv[0] {
			t.Fatalf("row %d (%s): codes are not its vector's", r, id)
		}
	}
}

// TestCompactRemovedNotFound removes templates whose exact duplicates are
// then queried: the removed template must not come back, and its face must
// disappear with its last template.
func TestCompactRemovedNotFound(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ix := newCompactIndex(compactDim)
	vecs := map[string][]float32{}
	for i := range 500 {
		id, face := fmt.Sprint("t", i), fmt.Sprint("f", i/2)
		vecs[id] = randUnit(rng, compactDim)
		mustAdd(t, ix, id, face, vecs[id])
	}
	for i := 0; i < 500; i += 3 {
		id := fmt.Sprint("t", i)
		if !ix.RemoveTemplate(id) {
			t.Fatalf("RemoveTemplate(%s) = false", id)
		}
		for _, h := range ix.Search(vecs[id], 3, -1) {
			if h.TemplateID == id {
				t.Fatalf("removed %s found: %v", id, h)
			}
		}
		if got := ix.Search(vecs[id], 1, -1); got[0].Cosine > 0.5 {
			t.Fatalf("query of removed %s still matches %v", id, got[0])
		}
	}
	if n := ix.Remove("f1"); n != 1 { // t2 is left of f1 (t3 was removed)
		t.Fatalf("Remove(f1) = %d, want 1", n)
	}
	for _, h := range ix.Search(vecs["t2"], 10, -1) {
		if h.FaceKey == "f1" {
			t.Fatalf("removed face f1 found")
		}
	}
	checkInvariants(t, ix)
	checkCodes(t, ix, newCodesWithRow(), vecs2live(ix, vecs))
}

func newCodesWithRow() *codes {
	c := newCodes(compactDim)
	c.appendRow(randUnit(rand.New(rand.NewPCG(1, 1)), compactDim))
	return c
}

func vecs2live(ix *Index, vecs map[string][]float32) map[string][]float32 {
	live := map[string][]float32{}
	for _, id := range ix.rowID {
		live[id] = vecs[id]
	}
	return live
}

// TestCompactDeterministic: the same templates added in another order, with
// removals in between, give identical results, ties included.
func TestCompactDeterministic(t *testing.T) {
	g := newFaceGen(compactDim, 51)
	a, b := newCompactIndex(compactDim), newCompactIndex(compactDim)
	faces := buildStructured(t, g, 4000, a)
	src := snapshot(t, newExactFrom(t, g, 4000))
	ids := make([]string, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rng := rand.New(rand.NewPCG(52, 53))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for i, id := range ids {
		face := "f" + strings.SplitN(id[1:], "-", 2)[0]
		mustAdd(t, b, id, face, src[id])
		if i%7 == 0 { // a detour: add under a wrong face, remove, re-add below
			mustAdd(t, b, id, "zz", src[id])
			b.RemoveTemplate(id)
			mustAdd(t, b, id, face, src[id])
		}
	}
	// Exact duplicates across faces: equal cosines, ordered by face key.
	dup := src[ids[0]]
	for _, f := range []string{"dup-c", "dup-a", "dup-b"} {
		for _, ix := range []*Index{a, b} {
			mustAdd(t, ix, f+"-2", f, dup)
			mustAdd(t, ix, f+"-1", f, dup)
		}
	}
	for i, p := range g.probes(faces, 20, 20) {
		for _, k := range []int{1, 20, 100} {
			sameHits(t, fmt.Sprintf("probe %d k %d", i, k), b.Search(p.vec, k, -1), a.Search(p.vec, k, -1))
		}
	}
	for _, ix := range []*Index{a, b} {
		var keys []string
		for _, h := range ix.Search(dup, 3, 0) {
			keys = append(keys, h.FaceKey+"/"+h.TemplateID)
		}
		if want := []string{"dup-a/dup-a-1", "dup-b/dup-b-1", "dup-c/dup-c-1"}; !slices.Equal(keys, want) {
			t.Fatalf("ties: got %v, want %v", keys, want)
		}
	}
}

// TestAutoCompact: an index goes compact by itself from compactFrom rows of
// an eligible dimension, drops its float32 slab, and stays compact.
func TestAutoCompact(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	ix := NewIndex(compactDim, testModel)
	ix.compactFrom = 300
	vecs := map[string][]float32{}
	for i := range 299 {
		id := fmt.Sprint("t", i)
		vecs[id] = randUnit(rng, compactDim)
		mustAdd(t, ix, id, fmt.Sprint("f", i), vecs[id])
	}
	if ix.Compact() || ix.Stats().Compact {
		t.Fatal("compact below compactFrom")
	}
	before := ix.Search(vecs["t5"], 5, -1)
	mustAdd(t, ix, "t299", "f299", randUnit(rng, compactDim))
	if !ix.Compact() || !ix.Stats().Compact || ix.slab != nil {
		t.Fatal("not compact (or slab kept) at compactFrom")
	}
	checkInvariants(t, ix)
	after := ix.Search(vecs["t5"], 5, -1)
	if after[0].TemplateID != "t5" || math.Abs(float64(after[0].Cosine-before[0].Cosine)) > 1e-4 {
		t.Fatalf("converted codes lost t5: before %v after %v", before[0], after[0])
	}
	for i := range 200 {
		ix.RemoveTemplate(fmt.Sprint("t", i))
	}
	if !ix.Compact() {
		t.Fatal("went back to exact after removals")
	}
	if st := ix.Stats(); st.VectorBytes != int64(100*(compactDim+compactDim/2+compactDim/8+4)) {
		t.Fatalf("compact VectorBytes %d", st.VectorBytes)
	}

	// A bulk load announced by Grow goes compact before any vector arrives,
	// so the float32 slab is never allocated.
	big := NewIndex(compactDim, testModel)
	big.Grow(compactMinRows)
	if !big.Compact() || cap(big.slab) != 0 {
		t.Fatal("Grow(compactMinRows) did not go compact up front")
	}
	// Dimensions the codes cannot serve stay exact.
	for _, dim := range []int{8, 128, 500} {
		ix := NewIndex(dim, testModel)
		ix.compactFrom = 0
		mustAdd(t, ix, "t", "f", randUnit(rng, dim))
		if ix.Compact() {
			t.Fatalf("dim %d went compact", dim)
		}
	}
}

// TestRotationIsOrthogonal: R preserves dot products, which every cosine of
// the compact path relies on.
func TestRotationIsOrthogonal(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	r := newRotation(compactDim)
	ra, rb := make([]float32, compactDim), make([]float32, compactDim)
	for range 100 {
		a, b := randUnit(rng, compactDim), randUnit(rng, compactDim)
		r.apply(ra, a)
		r.apply(rb, b)
		if d := math.Abs(float64(dot(ra, rb) - dot(a, b))); d > 1e-5 {
			t.Fatalf("dot changed by %g", d)
		}
		if d := math.Abs(float64(dot(ra, ra)) - 1); d > 1e-5 {
			t.Fatalf("norm changed by %g", d)
		}
	}
}

// TestCompactConcurrent is meant for -race: compact searches (serial and
// parallel, sharing pooled scratch) run while templates are added and removed.
func TestCompactConcurrent(t *testing.T) {
	ix := newCompactIndex(compactDim)
	seed := rand.New(rand.NewPCG(81, 82))
	for i := range 300 {
		mustAdd(t, ix, fmt.Sprint("base", i), fmt.Sprint("base", i%100), randUnit(seed, compactDim))
	}
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		rng := rand.New(rand.NewPCG(83, 84))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			face := fmt.Sprint("w", rng.IntN(30))
			if rng.IntN(3) == 0 {
				ix.Remove(face)
			} else if err := ix.Add(fmt.Sprint("w", i%100), face, randUnit(rng, compactDim)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var readers sync.WaitGroup
	for r := range 3 {
		readers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 85))
			for i := range 100 {
				ix.mu.Lock()
				ix.workers = 1 + i%3
				ix.mu.Unlock()
				hits := ix.Search(randUnit(rng, compactDim), 20, -1)
				if len(hits) == 0 || len(hits) > 20 {
					t.Errorf("got %d hits", len(hits))
					return
				}
				for j := 1; j < len(hits); j++ {
					if hits[j].Cosine > hits[j-1].Cosine {
						t.Errorf("hits out of order")
						return
					}
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()
	checkInvariants(t, ix)
}
