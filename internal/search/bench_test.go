package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Synthetic data for benchmarks: random unit vectors, dim 512, one template
// per face.
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

// fillUnitFast is fillUnit for bulk data, about 3× faster: each component is
// an Irwin–Hall sum of four 16-bit uniforms (one PCG draw), a bounded but
// close approximation of a Gaussian, so the normalised vectors are very
// nearly uniform on the sphere (the dot of two is ~N(0, 1/dim) as with true
// Gaussians, which is all an exact search's cost and top-k depend on).
func fillUnitFast(rng *rand.Rand, v []float32) {
	for {
		var n2 float64
		for i := range v {
			u := rng.Uint64()
			x := float64(int64(u&0xffff)+int64(u>>16&0xffff)+int64(u>>32&0xffff)+int64(u>>48)) - 2*65535
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

// buildSynthetic returns an index of n random unit vectors of dimension dim.
// Generation (the slow part: n×dim Gaussians) runs on every core in chunks
// that the calling goroutine adds as they arrive, so the vectors exist only
// once in memory, besides a few chunks in flight.
func buildSynthetic(tb testing.TB, n, dim int, seed uint64) *Index {
	tb.Helper()
	const chunkRows = 2048
	type chunk struct {
		first int
		vecs  []float32
	}
	workers := runtime.GOMAXPROCS(0)
	nChunks := (n + chunkRows - 1) / chunkRows
	free := make(chan []float32, 2*workers)
	for range 2 * workers {
		free <- make([]float32, chunkRows*dim)
	}
	full := make(chan chunk, 2*workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := w; c < nChunks; c += workers {
				rng := rand.New(rand.NewPCG(seed, uint64(c))) // per chunk: same data whatever the core count
				first := c * chunkRows
				rows := min(chunkRows, n-first)
				buf := (<-free)[:rows*dim]
				for r := range rows {
					fillUnitFast(rng, buf[r*dim:(r+1)*dim])
				}
				full <- chunk{first, buf}
			}
		})
	}
	go func() { wg.Wait(); close(full) }()

	ix := NewIndex(dim, "synthetic@1")
	ix.Grow(n)
	var id, face []byte
	for c := range full {
		for r := 0; r < len(c.vecs)/dim; r++ {
			i := int64(c.first + r)
			id = strconv.AppendInt(append(id[:0], 't'), i, 10)
			face = strconv.AppendInt(append(face[:0], 'f'), i, 10)
			if err := ix.Add(string(id), string(face), c.vecs[r*dim:(r+1)*dim]); err != nil {
				tb.Fatal(err)
			}
		}
		free <- c.vecs[:cap(c.vecs)]
	}
	if ix.Len() != n {
		tb.Fatalf("built %d rows, want %d", ix.Len(), n)
	}
	return ix
}

// synthCache keeps benchmark indexes across benchmark functions of one run.
var synthCache struct {
	sync.Mutex
	m map[int]*Index
}

func synthIndex(tb testing.TB, n int) *Index {
	synthCache.Lock()
	defer synthCache.Unlock()
	if ix, ok := synthCache.m[n]; ok {
		return ix
	}
	start := time.Now()
	ix := buildSynthetic(tb, n, benchDim, 42)
	tb.Logf("built %d×%d index in %v", n, benchDim, time.Since(start).Round(time.Millisecond))
	if synthCache.m == nil {
		synthCache.m = map[int]*Index{}
	}
	synthCache.m[n] = ix
	return ix
}

func benchQueries(n int) [][]float32 {
	rng := rand.New(rand.NewPCG(7, 7))
	qs := make([][]float32, n)
	for i := range qs {
		qs[i] = randUnit(rng, benchDim)
	}
	return qs
}

// benchSearch measures Search(k=50, no threshold). workers: 0 = default
// policy (parallel from 50k rows), 1 = serial.
func benchSearch(b *testing.B, n, workers int) {
	ix := synthIndex(b, n)
	old := ix.workers
	ix.workers = workers
	defer func() { ix.workers = old }()
	qs := benchQueries(64)
	b.SetBytes(int64(n) * benchDim * 4) // MB/s = vector bytes scanned per second
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if hits := ix.Search(qs[i%len(qs)], 50, -1); len(hits) != 50 {
			b.Fatalf("%d hits", len(hits))
		}
		i++
	}
}

func BenchmarkSearch10k(b *testing.B)        { benchSearch(b, 10_000, 0) }
func BenchmarkSearch100k(b *testing.B)       { benchSearch(b, 100_000, 0) }
func BenchmarkSearch1M(b *testing.B)         { benchSearch(b, 1_000_000, 0) }
func BenchmarkSearchSerial100k(b *testing.B) { benchSearch(b, 100_000, 1) }
func BenchmarkSearchSerial1M(b *testing.B)   { benchSearch(b, 1_000_000, 1) }

// TestLatencyReport prints build time, memory and p50/p99 search latency
// (k=50) at 10k, 100k and 1M templates, serial and with the default
// (parallel) policy. Run it with:
//
//	VISAGE_SEARCH_REPORT=1 go test -run TestLatencyReport -v -timeout 30m ./internal/search/
func TestLatencyReport(t *testing.T) {
	if os.Getenv("VISAGE_SEARCH_REPORT") != "1" {
		t.Skip("set VISAGE_SEARCH_REPORT=1 to run")
	}
	t.Logf("GOMAXPROCS=%d GOARCH=%s dim=%d k=50", runtime.GOMAXPROCS(0), runtime.GOARCH, benchDim)
	for _, tc := range []struct {
		n, queries int
	}{{10_000, 2000}, {100_000, 500}, {1_000_000, 100}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		ix := buildSynthetic(t, tc.n, benchDim, 42)
		build := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := ix.Stats()
		heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("n=%d: build %v; vectors %s (slab capacity %s); overhead estimated %s (%.0f B/template); "+
			"heap growth %s = vectors + %s measured overhead (%.0f B/template)",
			tc.n, build.Round(time.Millisecond), mib(st.VectorBytes), mib(st.SlabBytes),
			mib(st.OverheadBytes), float64(st.OverheadBytes)/float64(tc.n),
			mib(heap), mib(heap-st.SlabBytes), float64(heap-st.SlabBytes)/float64(tc.n))

		// Sanity: a stored vector plus noise finds its own face first.
		rng := rand.New(rand.NewPCG(3, 3))
		row := rng.IntN(tc.n)
		probe := perturb(rng, slices.Clone(ix.slab[row*benchDim:(row+1)*benchDim]), 0.5)
		if hits := ix.Search(probe, 50, -1); len(hits) != 50 || hits[0].TemplateID != ix.rowID[row] {
			t.Fatalf("noisy probe of %s not found first: %v", ix.rowID[row], hits[:1])
		}

		// Serial and default (parallel from 50k rows) searches alternate query
		// by query, so both see the same background load on a shared machine.
		qs := benchQueries(64)
		modes := []int{1, 0} // ix.workers: serial, default policy
		lat := make([][]time.Duration, len(modes))
		for i := range 5 { // warm up
			ix.Search(qs[i], 50, -1)
		}
		for i := range tc.queries {
			for j := range modes {
				m := (i + j) % len(modes) // alternate which mode goes first
				ix.workers = modes[m]
				s := time.Now()
				ix.Search(qs[i%len(qs)], 50, -1)
				lat[m] = append(lat[m], time.Since(s))
			}
		}
		ix.workers = 0
		for m, w := range modes {
			slices.Sort(lat[m])
			mode := "serial"
			if w == 0 {
				mode = fmt.Sprintf("default (%d goroutines)", ix.searchWorkers(tc.n))
			}
			t.Logf("n=%d %-24s p50 %-10v p99 %-10v min %-10v (%d queries)", tc.n, mode,
				pct(lat[m], 50).Round(time.Microsecond), pct(lat[m], 99).Round(time.Microsecond),
				lat[m][0].Round(time.Microsecond), tc.queries)
		}
		runtime.KeepAlive(ix)
	}
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
