package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// Benchmarks run on the structured set (structured_test.go), dim 512.
const benchDim = 512

// fillUnit fills v with a random unit vector: normalised Gaussians, i.e.
// uniform on the sphere.
func fillUnit(rng *rand.Rand, v []float32) {
	for {
		var n2 float64
		for i := range v {
			x := rng.NormFloat64()
			v[i] = float32(x)
			n2 += x * x
		}
		if normalise(v, n2) {
			return
		}
	}
}

func normalise(v []float32, n2 float64) bool {
	if n2 == 0 {
		return false
	}
	inv := 1 / math.Sqrt(n2)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return true
}

// benchPair is an exact and a compact index over the same structured set.
type benchPair struct {
	exact, compact *Index
	probes         []probe // half genuine, half impostor
}

// benchCache keeps benchmark indexes across benchmark functions of one run.
var benchCache struct {
	sync.Mutex
	m map[int]*benchPair
}

func benchIndexes(tb testing.TB, n int) *benchPair {
	benchCache.Lock()
	defer benchCache.Unlock()
	if p, ok := benchCache.m[n]; ok {
		return p
	}
	start := time.Now()
	g := newFaceGen(benchDim, 42)
	p := &benchPair{exact: newExactIndex(benchDim), compact: newCompactIndex(benchDim)}
	faces := buildStructured(tb, g, n, p.exact, p.compact)
	p.probes = g.probes(faces, 32, 32)
	tb.Logf("built %d×%d exact and compact indexes in %v", n, benchDim, time.Since(start).Round(time.Millisecond))
	if benchCache.m == nil {
		benchCache.m = map[int]*benchPair{}
	}
	benchCache.m[n] = p
	return p
}

// benchSearch measures Search(k=50, no threshold) on the structured set.
// workers: 0 = default policy (parallel from 50k rows), 1 = serial.
func benchSearch(b *testing.B, n int, compact bool, workers int) {
	p := benchIndexes(b, n)
	ix := p.exact
	if compact {
		ix = p.compact
	}
	old := ix.workers
	ix.workers = workers
	defer func() { ix.workers = old }()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if hits := ix.Search(p.probes[i%len(p.probes)].vec, 50, -1); len(hits) != 50 {
			b.Fatalf("%d hits", len(hits))
		}
		i++
	}
}

func BenchmarkSearchExact10k(b *testing.B)        { benchSearch(b, 10_000, false, 0) }
func BenchmarkSearchCompact10k(b *testing.B)      { benchSearch(b, 10_000, true, 0) }
func BenchmarkSearchExact100k(b *testing.B)       { benchSearch(b, 100_000, false, 0) }
func BenchmarkSearchCompact100k(b *testing.B)     { benchSearch(b, 100_000, true, 0) }
func BenchmarkSearchExact1M(b *testing.B)         { benchSearch(b, 1_000_000, false, 0) }
func BenchmarkSearchCompact1M(b *testing.B)       { benchSearch(b, 1_000_000, true, 0) }
func BenchmarkSearchExactSerial1M(b *testing.B)   { benchSearch(b, 1_000_000, false, 1) }
func BenchmarkSearchCompactSerial1M(b *testing.B) { benchSearch(b, 1_000_000, true, 1) }

// buildMeasured builds one index of the structured set and reports the heap
// it holds (after GC, so garbage from generation is not counted).
func buildMeasured(t *testing.T, g *faceGen, n int, ix *Index) (faces int, heap int64, took time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	faces = buildStructured(t, g, n, ix)
	took = time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	return faces, int64(after.HeapAlloc) - int64(before.HeapAlloc), took
}

// TestLatencyReport prints, side by side for today's exact search and the
// compact search, at 10k, 100k and 1M templates of the structured set: build
// time, memory, recall against exact search, and p50/p99 latency (k=50).
// The compact index is forced compact at every size (the default policy keeps
// indexes under compactMinRows exact). Run it with:
//
//	VISAGE_SEARCH_REPORT=1 go test -run TestLatencyReport -v -timeout 60m ./internal/search/
func TestLatencyReport(t *testing.T) {
	if os.Getenv("VISAGE_SEARCH_REPORT") != "1" {
		t.Skip("set VISAGE_SEARCH_REPORT=1 to run")
	}
	t.Logf("GOMAXPROCS=%d GOARCH=%s dim=%d k=50", runtime.GOMAXPROCS(0), runtime.GOARCH, benchDim)
	for _, tc := range []struct {
		n, queries, probes int
	}{{10_000, 2000, 500}, {100_000, 500, 500}, {1_000_000, 200, 250}} {
		g := newFaceGen(benchDim, 42)
		ex, cm := newExactIndex(benchDim), newCompactIndex(benchDim)
		faces, exHeap, exBuild := buildMeasured(t, g, tc.n, ex)
		_, cmHeap, cmBuild := buildMeasured(t, g, tc.n, cm)
		for _, r := range []struct {
			name  string
			ix    *Index
			heap  int64
			build time.Duration
		}{{"exact", ex, exHeap, exBuild}, {"compact", cm, cmHeap, cmBuild}} {
			st := r.ix.Stats()
			t.Logf("n=%d (%d faces) %-7s build %-8v vectors %-10s heap %-10s (%.0f B/template; vectors %.0f, rest %.0f)",
				tc.n, faces, r.name, r.build.Round(time.Millisecond), mib(st.VectorBytes), mib(r.heap),
				float64(r.heap)/float64(tc.n), float64(st.VectorBytes)/float64(tc.n), float64(r.heap-st.SlabBytes)/float64(tc.n))
		}

		ps := g.probes(faces, tc.probes, tc.probes)
		st := measureRecall(cm, ps, 50, exactResults(ex, ps, 50))
		t.Logf("n=%d recall (%d genuine + %d impostor probes): %v", tc.n, tc.probes, tc.probes, st)

		// The searches alternate query by query (and which goes first), so
		// all see the same background load on a shared machine.
		type mode struct {
			name    string
			ix      *Index
			workers int
		}
		modes := []mode{{"exact serial", ex, 1}, {"exact default", ex, 0}, {"compact serial", cm, 1}, {"compact default", cm, 0}}
		lat := make([][]time.Duration, len(modes))
		for i := range 5 { // warm up
			for _, m := range modes {
				m.ix.Search(ps[i].vec, 50, -1)
			}
		}
		for i := range tc.queries {
			q := ps[(i*7)%len(ps)].vec
			for j := range modes {
				m := modes[(i+j)%len(modes)]
				m.ix.workers = m.workers
				s := time.Now()
				m.ix.Search(q, 50, -1)
				lat[(i+j)%len(modes)] = append(lat[(i+j)%len(modes)], time.Since(s))
			}
		}
		for j, m := range modes {
			m.ix.workers = 0
			slices.Sort(lat[j])
			t.Logf("n=%d %-16s p50 %-10v p99 %-10v min %-10v (%d queries)", tc.n, m.name,
				pct(lat[j], 50).Round(time.Microsecond), pct(lat[j], 99).Round(time.Microsecond),
				lat[j][0].Round(time.Microsecond), tc.queries)
		}
		runtime.KeepAlive(ex)
		runtime.KeepAlive(cm)
	}
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
