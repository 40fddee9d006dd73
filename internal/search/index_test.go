package search

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

const testModel = "test-model@1"

func randUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	fillUnit(rng, v)
	return v
}

// tmpl is a template in the brute-force reference.
type tmpl struct {
	id, face string
	vec      []float32
}

// bruteForce is the reference Search: score every template, keep each face's
// best (ties: smaller template id), filter, sort by cosine desc then face key.
func bruteForce(ts []tmpl, q []float32, k int, minCos float32) []Hit {
	best := map[string]Hit{}
	for _, t := range ts {
		keepBest(best, t.face, t.id, dot(q, t.vec), minCos)
	}
	return topFaces(best, k)
}

// keepBest records a template's score as its face's best, the reference's
// rule: at least minCos (NaN never), ties to the smaller template id.
func keepBest(best map[string]Hit, face, id string, s, minCos float32) {
	if !(s >= minCos) {
		return
	}
	b, ok := best[face]
	if !ok || s > b.Cosine || (s == b.Cosine && id < b.TemplateID) {
		best[face] = Hit{FaceKey: face, TemplateID: id, Cosine: s}
	}
}

// topFaces is the reference's answer: faces by cosine, then face key, at
// most k; nil when none.
func topFaces(best map[string]Hit, k int) []Hit {
	out := make([]Hit, 0, len(best))
	for _, h := range best {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hit) int {
		if c := cmp.Compare(b.Cosine, a.Cosine); c != 0 {
			return c
		}
		return strings.Compare(a.FaceKey, b.FaceKey)
	})
	if len(out) > k {
		out = out[:k]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// randomTemplates makes n templates over about n/2 faces (1–3 templates each).
func randomTemplates(rng *rand.Rand, n, dim int) []tmpl {
	ts := make([]tmpl, 0, n)
	for f := 0; len(ts) < n; f++ {
		for j := 0; j < 1+rng.IntN(3) && len(ts) < n; j++ {
			ts = append(ts, tmpl{id: fmt.Sprintf("t%d-%d", f, j), face: fmt.Sprintf("f%05d", f), vec: randUnit(rng, dim)})
		}
	}
	rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	return ts
}

func mustAdd(t testing.TB, ix *Index, id, face string, v []float32) {
	t.Helper()
	if err := ix.Add(id, face, v); err != nil {
		t.Fatalf("Add(%q, %q): %v", id, face, err)
	}
}

func sameHits(t *testing.T, what string, got, want []Hit) {
	t.Helper()
	if !slices.Equal(got, want) {
		n := min(len(got), len(want), 5)
		t.Fatalf("%s: got %d hits, want %d\n got[:%d]  %v\n want[:%d] %v", what, len(got), len(want), n, got[:n], n, want[:n])
	}
}

// checkInvariants verifies the index's internal tables against each other.
func checkInvariants(t *testing.T, ix *Index) {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := len(ix.rowID)
	vecRows := len(ix.slab) / ix.dim
	if c := ix.codes; c != nil {
		vecRows = c.rows()
		if ix.slab != nil || len(c.head) != n*c.hw || len(c.tail) != n*c.tw || len(c.q) != n*c.dim || len(c.res) != n*c.dim/2 {
			t.Fatalf("code stores disagree: %d rows, slab %d, head %d, tail %d, q %d, res %d", n, len(ix.slab), len(c.head), len(c.tail), len(c.q), len(c.res))
		}
	} else if len(ix.slab) != n*ix.dim {
		t.Fatalf("slab %d floats for %d rows", len(ix.slab), n)
	}
	if vecRows != n || len(ix.rowFace) != n || len(ix.rowNext) != n || len(ix.byID) != n {
		t.Fatalf("row tables disagree: vectors %d rows %d faces %d next %d byID %d", vecRows, n, len(ix.rowFace), len(ix.rowNext), len(ix.byID))
	}
	if len(ix.faceKey) != len(ix.faceHead) || len(ix.faceKey) != len(ix.byFace) {
		t.Fatalf("face tables disagree")
	}
	seen := make([]bool, n)
	for f, key := range ix.faceKey {
		if ix.byFace[key] != int32(f) {
			t.Fatalf("byFace[%q] = %d, want %d", key, ix.byFace[key], f)
		}
		if ix.faceHead[f] == -1 {
			t.Fatalf("face %q has no rows", key)
		}
		for r := ix.faceHead[f]; r != -1; r = ix.rowNext[r] {
			if seen[r] {
				t.Fatalf("row %d listed twice", r)
			}
			seen[r] = true
			if ix.rowFace[r] != int32(f) {
				t.Fatalf("row %d in face %d's list has rowFace %d", r, f, ix.rowFace[r])
			}
		}
	}
	for r, id := range ix.rowID {
		if !seen[r] {
			t.Fatalf("row %d (%q) in no face list", r, id)
		}
		if ix.byID[id] != int32(r) {
			t.Fatalf("byID[%q] = %d, want %d", id, ix.byID[id], r)
		}
	}
}

func TestSearchMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dim := range []int{3, 16, 128} {
		ts := randomTemplates(rng, 2000, dim)
		ix := NewIndex(dim, testModel)
		for _, tm := range ts {
			mustAdd(t, ix, tm.id, tm.face, tm.vec)
		}
		checkInvariants(t, ix)
		for q := 0; q < 30; q++ {
			query := randUnit(rng, dim)
			if q%3 == 0 { // a near-duplicate of a stored template, like a real probe
				query = perturb(rng, ts[rng.IntN(len(ts))].vec, 0.1)
			}
			for _, k := range []int{1, 7, 50, 100, 5000} {
				for _, minCos := range []float32{-1, 0, 0.3} {
					got := ix.Search(query, k, minCos)
					want := bruteForce(ts, query, k, minCos)
					sameHits(t, fmt.Sprintf("dim %d k %d min %v", dim, k, minCos), got, want)
				}
			}
		}
	}
}

// TestSearchParallelMatchesSerial runs the multi-goroutine path (≥ 50k rows)
// against the serial path and the brute-force reference.
func TestSearchParallelMatchesSerial(t *testing.T) {
	const dim = 8
	rng := rand.New(rand.NewPCG(3, 4))
	ts := randomTemplates(rng, parallelMinRows+10_000, dim)
	par := NewIndex(dim, testModel)
	par.workers = 4 // more ranges than this machine's cores: exercises the merge harder
	ser := NewIndex(dim, testModel)
	ser.workers = 1
	for _, tm := range ts {
		mustAdd(t, par, tm.id, tm.face, tm.vec)
		mustAdd(t, ser, tm.id, tm.face, tm.vec)
	}
	for q := 0; q < 10; q++ {
		query := perturb(rng, ts[rng.IntN(len(ts))].vec, 0.3)
		for _, k := range []int{1, 50, 200} {
			want := bruteForce(ts, query, k, -1)
			sameHits(t, "serial", ser.Search(query, k, -1), want)
			sameHits(t, "parallel", par.Search(query, k, -1), want) // serial if GOMAXPROCS=1
			par.mu.RLock()
			forced := par.searchParallel(query, k, -1, 3).hits()
			par.mu.RUnlock()
			sameHits(t, "searchParallel(3)", forced, want)
		}
	}
}

func perturb(rng *rand.Rand, v []float32, noise float64) []float32 {
	out := make([]float32, len(v))
	var n2 float64
	for i, x := range v {
		y := float64(x) + noise*rng.NormFloat64()/math.Sqrt(float64(len(v)))
		out[i] = float32(y)
		n2 += y * y
	}
	inv := 1 / math.Sqrt(n2)
	for i := range out {
		out[i] = float32(float64(out[i]) * inv)
	}
	return out
}

func TestCosineIsAccurate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		a, b := randUnit(rng, 512), randUnit(rng, 512)
		var ref float64
		for i := range a {
			ref += float64(a[i]) * float64(b[i])
		}
		if d := math.Abs(float64(dot(a, b)) - ref); d > 1e-5 {
			t.Fatalf("dot off by %g", d)
		}
	}
	if d := dot([]float32{1, 2, 3, 4, 5, 6, 7}, []float32{7, 6, 5, 4, 3, 2, 1}); d != 84 {
		t.Fatalf("dot of odd length = %v, want 84", d)
	}
}

func TestBestTemplatePerFace(t *testing.T) {
	ix := NewIndex(2, testModel)
	deg := func(d float64) []float32 {
		r := d * math.Pi / 180
		return []float32{float32(math.Cos(r)), float32(math.Sin(r))}
	}
	mustAdd(t, ix, "a1", "alice", deg(40))
	mustAdd(t, ix, "a2", "alice", deg(5)) // alice's best
	mustAdd(t, ix, "a3", "alice", deg(90))
	mustAdd(t, ix, "b1", "bob", deg(20))
	mustAdd(t, ix, "b2", "bob", deg(-10)) // bob's best: 10° away
	mustAdd(t, ix, "c1", "carol", deg(30))
	if ix.Len() != 6 || ix.Faces() != 3 {
		t.Fatalf("Len %d Faces %d, want 6 and 3", ix.Len(), ix.Faces())
	}
	got := ix.Search(deg(0), 10, -1)
	var ids []string
	for _, h := range got {
		ids = append(ids, h.FaceKey+"/"+h.TemplateID)
	}
	if want := []string{"alice/a2", "bob/b2", "carol/c1"}; !slices.Equal(ids, want) {
		t.Fatalf("got %v, want %v", ids, want)
	}
	if math.Abs(float64(got[0].Cosine)-math.Cos(5*math.Pi/180)) > 1e-6 {
		t.Fatalf("alice cosine %v", got[0].Cosine)
	}
	// k limits faces, not templates.
	if got := ix.Search(deg(0), 2, -1); len(got) != 2 || got[1].FaceKey != "bob" {
		t.Fatalf("k=2: %v", got)
	}
}

func TestTiesAreDeterministic(t *testing.T) {
	ix := NewIndex(2, testModel)
	v := []float32{0.6, 0.8}
	// Same vector for several faces, and twice within one face.
	for _, f := range []string{"zed", "amy", "kim", "bea"} {
		mustAdd(t, ix, f+"-2", f, v)
		mustAdd(t, ix, f+"-1", f, v)
	}
	got := ix.Search(v, 3, 0)
	var keys []string
	for _, h := range got {
		keys = append(keys, h.FaceKey+"/"+h.TemplateID)
	}
	if want := []string{"amy/amy-1", "bea/bea-1", "kim/kim-1"}; !slices.Equal(keys, want) {
		t.Fatalf("got %v, want %v", keys, want)
	}
}

func TestThreshold(t *testing.T) {
	ix := NewIndex(2, testModel)
	mustAdd(t, ix, "1", "far", []float32{0, 1})      // cosine 0
	mustAdd(t, ix, "2", "near", []float32{0.6, 0.8}) // cosine 0.6
	mustAdd(t, ix, "3", "same", []float32{1, 0})     // cosine 1
	mustAdd(t, ix, "4", "anti", []float32{-1, 0})    // cosine -1
	q := []float32{1, 0}
	for _, tc := range []struct {
		min  float32
		want []string
	}{
		{-1, []string{"same", "near", "far", "anti"}},
		{0, []string{"same", "near", "far"}},
		{0.6, []string{"same", "near"}}, // inclusive
		{0.61, []string{"same"}},
		{1.01, nil},
	} {
		var keys []string
		for _, h := range ix.Search(q, 10, tc.min) {
			keys = append(keys, h.FaceKey)
		}
		if !slices.Equal(keys, tc.want) {
			t.Errorf("min %v: got %v, want %v", tc.min, keys, tc.want)
		}
	}
	if got := ix.Search(q, 0, -1); got != nil {
		t.Errorf("k=0 returned %v", got)
	}
	if got := ix.Search([]float32{float32(math.NaN()), 0}, 10, -1); got != nil {
		t.Errorf("NaN query returned %v", got)
	}
}

func TestRemove(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ix := NewIndex(4, testModel)
	alice := randUnit(rng, 4)
	mustAdd(t, ix, "a1", "alice", alice)
	mustAdd(t, ix, "a2", "alice", randUnit(rng, 4))
	mustAdd(t, ix, "b1", "bob", randUnit(rng, 4))
	mustAdd(t, ix, "c1", "carol", randUnit(rng, 4))
	if n := ix.Remove("alice"); n != 2 {
		t.Fatalf("Remove(alice) removed %d templates, want 2", n)
	}
	checkInvariants(t, ix)
	if ix.Len() != 2 || ix.Faces() != 2 {
		t.Fatalf("after remove: Len %d Faces %d", ix.Len(), ix.Faces())
	}
	for _, h := range ix.Search(alice, 10, -1) {
		if h.FaceKey == "alice" {
			t.Fatalf("removed face returned: %v", h)
		}
	}
	if n := ix.Remove("nobody"); n != 0 {
		t.Fatalf("Remove(nobody) = %d", n)
	}
	if !ix.RemoveTemplate("b1") || ix.RemoveTemplate("b1") {
		t.Fatal("RemoveTemplate(b1) twice: want true then false")
	}
	if ix.Faces() != 1 {
		t.Fatalf("bob should be gone with his last template: Faces %d", ix.Faces())
	}
	mustAdd(t, ix, "a1", "alice", alice)
	if got := ix.Search(alice, 1, -1); len(got) != 1 || got[0].FaceKey != "alice" {
		t.Fatalf("re-added alice not found: %v", got)
	}
	checkInvariants(t, ix)
}

func TestUpsert(t *testing.T) {
	ix := NewIndex(2, testModel)
	mustAdd(t, ix, "t1", "alice", []float32{1, 0})
	mustAdd(t, ix, "t1", "alice", []float32{0, 1}) // replace the vector
	if ix.Len() != 1 {
		t.Fatalf("Len %d after re-adding t1", ix.Len())
	}
	if got := ix.Search([]float32{0, 1}, 1, -1); got[0].Cosine != 1 {
		t.Fatalf("vector not replaced: %v", got)
	}
	mustAdd(t, ix, "t1", "bob", []float32{0, 1}) // move to another face
	if ix.Len() != 1 || ix.Faces() != 1 {
		t.Fatalf("Len %d Faces %d after moving t1", ix.Len(), ix.Faces())
	}
	if got := ix.Search([]float32{0, 1}, 5, -1); len(got) != 1 || got[0].FaceKey != "bob" {
		t.Fatalf("t1 not moved to bob: %v", got)
	}
	checkInvariants(t, ix)
}

// TestRandomOps applies random adds, upserts and removals and checks the
// index against a map after each batch.
func TestRandomOps(t *testing.T) {
	const dim = 6
	rng := rand.New(rand.NewPCG(9, 10))
	ix := NewIndex(dim, testModel)
	model := map[string]tmpl{} // template id -> template
	for step := 0; step < 4000; step++ {
		face := fmt.Sprintf("f%02d", rng.IntN(60))
		switch op := rng.IntN(10); {
		case op < 6:
			id := fmt.Sprintf("t%03d", rng.IntN(300))
			v := randUnit(rng, dim)
			mustAdd(t, ix, id, face, v)
			model[id] = tmpl{id, face, v}
		case op < 8:
			want := 0
			for id, tm := range model {
				if tm.face == face {
					delete(model, id)
					want++
				}
			}
			if got := ix.Remove(face); got != want {
				t.Fatalf("step %d: Remove(%s) = %d, want %d", step, face, got, want)
			}
		default:
			id := fmt.Sprintf("t%03d", rng.IntN(300))
			_, want := model[id]
			delete(model, id)
			if got := ix.RemoveTemplate(id); got != want {
				t.Fatalf("step %d: RemoveTemplate(%s) = %v, want %v", step, id, got, want)
			}
		}
		if step%50 == 0 {
			checkInvariants(t, ix)
			ts := make([]tmpl, 0, len(model))
			for _, tm := range model {
				ts = append(ts, tm)
			}
			if ix.Len() != len(ts) {
				t.Fatalf("step %d: Len %d, want %d", step, ix.Len(), len(ts))
			}
			q := randUnit(rng, dim)
			sameHits(t, fmt.Sprintf("step %d", step), ix.Search(q, 10, -1), bruteForce(ts, q, 10, -1))
		}
	}
}

func TestMismatchErrors(t *testing.T) {
	ix := NewIndex(4, testModel)
	good := []float32{0.5, 0.5, 0.5, 0.5}

	err := ix.Add("t", "f", []float32{1, 0, 0})
	var de *DimensionError
	if !errors.As(err, &de) || de.Want != 4 || de.Got != 3 || !errors.Is(err, ErrDimensionMismatch) {
		t.Fatalf("wrong dimension: %v", err)
	}

	err = ix.AddEntry(Entry{ID: "t", FaceKey: "f", ModelID: "other@2", Vector: good})
	var me *ModelError
	if !errors.As(err, &me) || me.Want != testModel || me.Got != "other@2" || !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("wrong model: %v", err)
	}
	if err := ix.AddEntry(Entry{ID: "t", FaceKey: "f", ModelID: testModel, Vector: good}); err != nil {
		t.Fatalf("AddEntry: %v", err)
	}

	for name, v := range map[string][]float32{
		"nan":          {float32(math.NaN()), 0, 0, 0},
		"inf":          {float32(math.Inf(1)), 0, 0, 0},
		"zero":         {0, 0, 0, 0},
		"unnormalised": {1, 1, 0, 0},
	} {
		if err := ix.Add("x", "f", v); !errors.Is(err, ErrInvalidVector) {
			t.Errorf("%s: got %v, want ErrInvalidVector", name, err)
		}
	}
	if err := ix.Add("", "f", good); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("empty id: %v", err)
	}
	if err := ix.Add("x", "", good); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("empty face: %v", err)
	}
	if ix.Len() != 1 {
		t.Fatalf("rejected vectors were stored: Len %d", ix.Len())
	}

	if got := ix.Search([]float32{1, 0, 0}, 5, -1); got != nil {
		t.Errorf("Search with wrong dimension returned %v", got)
	}
	if _, err := ix.SearchModel("other@2", good, 5, -1); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("SearchModel other model: %v", err)
	}
	if _, err := ix.SearchModel(testModel, []float32{1}, 5, -1); !errors.Is(err, ErrDimensionMismatch) {
		t.Errorf("SearchModel wrong dimension: %v", err)
	}
	if _, err := ix.SearchModel(testModel, []float32{2, 0, 0, 0}, 5, -1); !errors.Is(err, ErrInvalidVector) {
		t.Errorf("SearchModel unnormalised: %v", err)
	}
	if hits, err := ix.SearchModel(testModel, good, 5, -1); err != nil || len(hits) != 1 || hits[0].Cosine < 0.999 {
		t.Errorf("SearchModel: %v %v", hits, err)
	}
}

func TestNewIndexPanics(t *testing.T) {
	for _, tc := range []struct {
		dim   int
		model string
	}{{0, testModel}, {4, ""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewIndex(%d, %q) did not panic", tc.dim, tc.model)
				}
			}()
			NewIndex(tc.dim, tc.model)
		}()
	}
}

func TestStats(t *testing.T) {
	ix := NewIndex(8, testModel)
	rng := rand.New(rand.NewPCG(11, 12))
	ix.Grow(100)
	for i := range 10 {
		mustAdd(t, ix, fmt.Sprint("t", i), fmt.Sprint("f", i/2), randUnit(rng, 8))
	}
	st := ix.Stats()
	if st.Templates != 10 || st.Faces != 5 || st.VectorBytes != 10*8*4 || st.SlabBytes < 100*8*4 || st.OverheadBytes <= 0 || st.Dim != 8 || st.ModelID != testModel {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestConcurrentReadersAndWriters is meant for -race: searches run while
// faces are added and removed, and every result must be well-formed.
func TestConcurrentReadersAndWriters(t *testing.T) {
	const dim = 16
	ix := NewIndex(dim, testModel)
	seed := rand.New(rand.NewPCG(13, 14))
	for i := range 500 {
		mustAdd(t, ix, fmt.Sprint("base", i), fmt.Sprint("base", i%200), randUnit(seed, dim))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				face := fmt.Sprintf("w%d-%d", w, rng.IntN(50))
				if rng.IntN(3) == 0 {
					ix.Remove(face)
				} else if err := ix.Add(fmt.Sprintf("w%d-%d", w, i%300), face, randUnit(rng, dim)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for range 300 {
				hits := ix.Search(randUnit(rng, dim), 20, -1)
				if len(hits) == 0 || len(hits) > 20 {
					t.Errorf("got %d hits", len(hits))
					return
				}
				faces := map[string]bool{}
				for i, h := range hits {
					if faces[h.FaceKey] {
						t.Errorf("face %s twice", h.FaceKey)
						return
					}
					faces[h.FaceKey] = true
					if i > 0 && h.Cosine > hits[i-1].Cosine {
						t.Errorf("hits out of order")
						return
					}
				}
				_ = ix.Len()
				_ = ix.Stats()
			}
		})
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	checkInvariants(t, ix)
}
