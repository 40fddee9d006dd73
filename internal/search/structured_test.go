package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// A synthetic gallery with identity structure, for measuring the compact
// search honestly: uniform random vectors are all nearly orthogonal, which
// makes the top 1 trivially separated and hides what matters for face
// embeddings (genuine pairs at cosine 0.4–0.8, impostors at 0 ± 0.1, see
// docs/calibration.md).
//
// Each identity f has a centre c_f drawn from an anisotropic Gaussian whose
// per-axis variance decays as exp(−i/specTau) (effective dimension ≈ 2τ = 40,
// so two centres have cosine ≈ 0 ± 0.16, as real embeddings concentrate in a
// few dozen directions). A template or probe of f is normalise(c_f + σ·u),
// u an isotropic Gaussian of norm ≈ 1 and σ uniform in [sigmaLo, sigmaHi], so
// two samples of f have cosine ≈ 1/√((1+σ₁²)(1+σ₂²)) ∈ [0.41, 0.83] and two
// samples of different identities ≈ 0 ± 0.1. The anisotropy is axis-aligned,
// the worst case for sign bits taken without a rotation.
const (
	specTau  = 20.0
	specBase = 0.001 // variance floor, so every axis carries a little signal
	sigmaLo  = 0.45
	sigmaHi  = 1.2
)

// Seed streams: templates, genuine probes and impostor probes never share
// random numbers.
const (
	streamCentre   = 1
	streamTemplate = 2
	streamProbe    = 3
)

type faceGen struct {
	dim  int
	seed uint64
	sd   []float64 // per-axis standard deviation of a centre
}

func newFaceGen(dim int, seed uint64) *faceGen {
	g := &faceGen{dim: dim, seed: seed, sd: make([]float64, dim)}
	for i := range g.sd {
		g.sd[i] = math.Sqrt(math.Exp(-float64(i)/specTau) + specBase)
	}
	return g
}

// templatesOf is identity f's number of enrolled templates: 1, 2 or 3.
func templatesOf(f int) int { return 1 + int(uint64(f)*0x9e3779b97f4a7c15>>62)%3 }

// gauss is a fast approximate standard Gaussian (Irwin–Hall sum of four
// 16-bit uniforms, one PCG draw), good enough for cosine statistics.
func gauss(rng *rand.Rand) float64 {
	u := rng.Uint64()
	x := float64(int64(u&0xffff)+int64(u>>16&0xffff)+int64(u>>32&0xffff)+int64(u>>48)) - 2*65535
	return x / 37837.2 // √(4·(65536²−1)/12)
}

// centre writes identity f's centre into c (not normalised: only its
// direction matters after sample normalises).
func (g *faceGen) centre(f int, c []float64) {
	rng := rand.New(rand.NewPCG(g.seed^streamCentre, uint64(f)))
	var n2 float64
	for i := range c {
		c[i] = gauss(rng) * g.sd[i]
		n2 += c[i] * c[i]
	}
	inv := 1 / math.Sqrt(n2)
	for i := range c {
		c[i] *= inv
	}
}

// sample writes a noisy unit sample of centre c into v, drawn from stream
// (stream, n).
func (g *faceGen) sample(c []float64, stream, n uint64, v []float32) {
	rng := rand.New(rand.NewPCG(g.seed^stream, n))
	sigma := (sigmaLo + (sigmaHi-sigmaLo)*rng.Float64()) / math.Sqrt(float64(g.dim))
	var n2 float64
	for i := range v {
		x := c[i] + sigma*gauss(rng)
		v[i] = float32(x)
		n2 += x * x
	}
	normalise(v, n2)
}

// probe is a query of the structured set.
type probe struct {
	vec     []float32
	face    string // the identity's face key; "" for an impostor (not enrolled)
	genuine bool
}

// probes returns nGen genuine probes (new samples of enrolled identities
// 0..faces-1) and nImp impostor probes (identities never enrolled).
func (g *faceGen) probes(faces, nGen, nImp int) []probe {
	rng := rand.New(rand.NewPCG(g.seed, 99))
	c := make([]float64, g.dim)
	out := make([]probe, 0, nGen+nImp)
	for i := range nGen + nImp {
		p := probe{vec: make([]float32, g.dim), genuine: i < nGen}
		f := faces + 1_000_000_000 + i // an impostor identity
		if p.genuine {
			f = rng.IntN(faces)
			p.face = faceKeyOf(f)
		}
		g.centre(f, c)
		g.sample(c, streamProbe, uint64(i), p.vec)
		out = append(out, p)
	}
	return out
}

func faceKeyOf(f int) string { return "f" + strconv.Itoa(f) }

// buildStructured adds n templates of the structured set to every index of
// ixs (the same vectors in the same order) and returns the number of
// identities enrolled. Generation runs on every core, chunk by chunk.
func buildStructured(tb testing.TB, g *faceGen, n int, ixs ...*Index) int {
	tb.Helper()
	const chunkFaces = 1024
	faces, total := 0, 0
	for total < n {
		total += templatesOf(faces)
		faces++
	}
	type chunk struct {
		ids, keys []string
		vecs      []float32
	}
	nChunks := (faces + chunkFaces - 1) / chunkFaces
	workers := runtime.GOMAXPROCS(0)
	out := make([]chan chunk, nChunks)
	for i := range out {
		out[i] = make(chan chunk, 1)
	}
	// Each worker may run two chunks ahead of the consumer: a token per
	// chunk, returned when the consumer has added it. Per-worker tokens (not
	// one shared pool) so that workers further ahead cannot starve the one
	// whose chunk the consumer waits for.
	sem := make([]chan struct{}, workers)
	for w := range sem {
		sem[w] = make(chan struct{}, 2)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := make([]float64, g.dim)
			for ci := w; ci < nChunks; ci += workers {
				sem[w] <- struct{}{}
				var ch chunk
				for f := ci * chunkFaces; f < min(faces, (ci+1)*chunkFaces); f++ {
					g.centre(f, c)
					for j := range templatesOf(f) {
						v := make([]float32, g.dim)
						g.sample(c, streamTemplate, uint64(f)*4+uint64(j), v)
						ch.ids = append(ch.ids, "t"+strconv.Itoa(f)+"-"+strconv.Itoa(j))
						ch.keys = append(ch.keys, faceKeyOf(f))
						ch.vecs = append(ch.vecs, v...)
					}
				}
				out[ci] <- ch
			}
		})
	}
	for _, ix := range ixs {
		ix.Grow(n)
	}
	added := 0
	for ci, ch := range out {
		c := <-ch
		for i := range c.ids {
			if added == n {
				break
			}
			for _, ix := range ixs {
				if err := ix.Add(c.ids[i], c.keys[i], c.vecs[i*g.dim:(i+1)*g.dim]); err != nil {
					tb.Fatal(err)
				}
			}
			added++
		}
		<-sem[ci%workers]
	}
	wg.Wait()
	return faces
}

// newExactIndex is an index that never goes compact: today's exact search.
func newExactIndex(dim int) *Index {
	ix := NewIndex(dim, testModel)
	ix.compactFrom = noCompact
	return ix
}

// newCompactIndex is an index that is compact from its first template.
func newCompactIndex(dim int) *Index {
	ix := NewIndex(dim, testModel)
	ix.compactFrom = 0
	return ix
}

// defaultMatchCosine is the default match threshold (score 70, docs/calibration.md).
const defaultMatchCosine = 0.42

// recallStats compares the compact search with the exact one over probes.
type recallStats struct {
	gen, imp           int     // probes of each kind
	genTop1, impTop1   int     // top-1 face equals exact search's
	trueExact, trueCmp int     // genuine probes whose top-1 is the true identity
	thrAgree           int     // probes whose face set at defaultMatchCosine equals exact's
	thrGenAgree        int     // of which genuine
	cosErrMax          float64 // max |cosine error| of matched top-1s
	cosErrSum          float64
	cosErrN            int
	genCos, impCos     []float64 // exact top-1 cosines
}

// exactAnswers are the exact search's results for each probe: top k with no
// threshold, and at defaultMatchCosine.
type exactAnswers struct{ top, thr [][]Hit }

func exactResults(exact *Index, probes []probe, k int) exactAnswers {
	var a exactAnswers
	for _, p := range probes {
		a.top = append(a.top, exact.Search(p.vec, k, -1))
		a.thr = append(a.thr, exact.Search(p.vec, k, defaultMatchCosine))
	}
	return a
}

// measureRecall compares cmp's results over probes with the exact ones.
func measureRecall(cmp *Index, probes []probe, k int, ex exactAnswers) recallStats {
	var st recallStats
	for i, p := range probes {
		want := ex.top[i]
		got := cmp.Search(p.vec, k, -1)
		same := len(got) > 0 && got[0].FaceKey == want[0].FaceKey
		if same {
			e := math.Abs(float64(got[0].Cosine - want[0].Cosine))
			st.cosErrMax = max(st.cosErrMax, e)
			st.cosErrSum += e
			st.cosErrN++
		}
		agree := sameFaceSet(ex.thr[i], cmp.Search(p.vec, k, defaultMatchCosine))
		if agree {
			st.thrAgree++
		}
		if p.genuine {
			st.gen++
			st.genCos = append(st.genCos, float64(want[0].Cosine))
			if same {
				st.genTop1++
			}
			if want[0].FaceKey == p.face {
				st.trueExact++
			}
			if len(got) > 0 && got[0].FaceKey == p.face {
				st.trueCmp++
			}
			if agree {
				st.thrGenAgree++
			}
			continue
		}
		st.imp++
		st.impCos = append(st.impCos, float64(want[0].Cosine))
		if same {
			st.impTop1++
		}
	}
	return st
}

func sameFaceSet(a, b []Hit) bool {
	if len(a) != len(b) {
		return false
	}
	ka := make([]string, len(a))
	kb := make([]string, len(b))
	for i := range a {
		ka[i], kb[i] = a[i].FaceKey, b[i].FaceKey
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func ratio(n, d int) float64 {
	if d == 0 {
		return math.NaN()
	}
	return float64(n) / float64(d)
}

func (st recallStats) String() string {
	return fmt.Sprintf("genuine: recall@1 %.4f (%d/%d), true identity exact %.4f compact %.4f; "+
		"impostor: recall@1 %.4f (%d/%d); threshold %.2f agreement %.4f (genuine %.4f); "+
		"top-1 |cos err| mean %.5f max %.5f; exact top-1 cosine genuine %s, impostor %s",
		ratio(st.genTop1, st.gen), st.genTop1, st.gen, ratio(st.trueExact, st.gen), ratio(st.trueCmp, st.gen),
		ratio(st.impTop1, st.imp), st.impTop1, st.imp, defaultMatchCosine,
		ratio(st.thrAgree, st.gen+st.imp), ratio(st.thrGenAgree, st.gen),
		st.cosErrSum/float64(max(1, st.cosErrN)), st.cosErrMax, summary(st.genCos), summary(st.impCos))
}

// summary is "mean±sd [min, max]".
func summary(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	var s, s2 float64
	for _, x := range xs {
		s += x
		s2 += x * x
	}
	n := float64(len(xs))
	m := s / n
	return fmt.Sprintf("%.3f±%.3f [%.3f, %.3f]", m, math.Sqrt(max(0, s2/n-m*m)), slices.Min(xs), slices.Max(xs))
}
