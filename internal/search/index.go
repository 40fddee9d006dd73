// Package search is Visage's in-process 1:N face index: one Index per
// integration (tenant) and embedding model, and a Registry that loads them
// lazily.
//
// Vectors are L2-normalised float32 embeddings, so cosine similarity is the
// dot product. A small index is exact: every stored template is scored
// against the query, from one contiguous []float32 slab (rows of dim floats,
// swap-remove on delete), so a search streams memory linearly.
//
// From compactMinRows templates (and for dimensions compactEligible accepts)
// an index goes compact, once and for good: the slab is replaced by sign bits
// and int8 codes (compact.go), 3.5× smaller, and a search ranks every
// template by Hamming distance, re-ranks a short list by int8 cosine, and
// reports that cosine. Results keep the same face-level semantics; they are
// approximate (recall and cosine error measured in docs/search.md).
//
// An enrolled face may hold several templates (one per enrolment image). A
// search scores templates but returns faces: each face appears at most once,
// with its best-scoring template.
//
// The package knows nothing of stores or HTTP: a Registry gets its data from
// a loader function supplied by the caller.
package search

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// normTolerance bounds |‖v‖² − 1| for a vector to count as L2-normalised.
// float32 normalisation is good to ~1e-6; 1e-3 only catches real mistakes
// (an un-normalised or truncated vector), not rounding.
const normTolerance = 1e-3

// parallelMinRows is the slab size from which a search is split over several
// goroutines (up to GOMAXPROCS, at least rowsPerWorker rows each). Measured on
// the 2-core dev box (dim 512, k=50, TestLatencyReport): 100k rows p50 15.3 ms
// serial vs 8.0 ms on 2 goroutines, 1M rows 157 ms vs 92 ms; one core does not
// saturate memory bandwidth, so the second core nearly halves latency. Small
// indexes stay serial: they are fast already and a serial search leaves the
// other cores to concurrent requests.
const parallelMinRows = 50_000

// rowsPerWorker is the minimum share of rows worth a goroutine of its own.
const rowsPerWorker = 25_000

// compactMinRows is the index size from which an index goes compact (see the
// package comment). Below it the float32 slab is small (≤ 100 MB at dim 512)
// and exact search already fast (≈ 8 ms at 50k on the 2-core dev box), so
// exactness costs little; above it exact search grows linearly (≈ 90–180 ms
// at 1M) and so does its memory (2 GiB at 1M). Measured in docs/search.md.
const compactMinRows = 50_000

// Hit is one face returned by Search.
type Hit struct {
	FaceKey    string  // the face (the client's face id)
	TemplateID string  // the face's best-scoring template
	Cosine     float32 // cosine similarity of that template to the query, in [-1, 1]
}

// Index is the 1:N index of one integration for one embedding model.
// It is safe for concurrent use: searches share a read lock, writes take the
// write lock.
type Index struct {
	dim   int
	model string

	// workers caps the goroutines of one search: 0 means GOMAXPROCS, 1 means
	// always serial. Tests and benchmarks set it; it is fixed before use.
	workers int

	mu sync.RWMutex

	// compactFrom is the size from which the index goes compact:
	// compactMinRows, or another value set by tests and benchmarks before use
	// (noCompact keeps an index exact).
	compactFrom int

	// Rows: template r occupies slab[r*dim : (r+1)*dim] while the index is
	// exact; once compact, slab is nil and row r is codes' row r.
	slab    []float32
	codes   *codes
	rowID   []string         // template id of each row
	rowFace []int32          // face ordinal of each row
	rowNext []int32          // next row of the same face, -1 at the end
	byID    map[string]int32 // template id -> row

	// Faces: dense ordinals 0..len(faceKey)-1, swap-removed like rows.
	faceKey  []string         // face key of each ordinal
	faceHead []int32          // first row of each face (every face has ≥ 1 row)
	byFace   map[string]int32 // face key -> ordinal

	skipped int // entries of another model ignored by Registry.load
}

// NewIndex returns an empty index for vectors of length dim produced by the
// embedding model modelID. It panics if dim < 1 or modelID is empty: both come
// from the model manifest, which is validated before any index exists.
func NewIndex(dim int, modelID string) *Index {
	if dim < 1 {
		panic(fmt.Sprintf("search: NewIndex: dimension %d < 1", dim))
	}
	if modelID == "" {
		panic("search: NewIndex: empty model id")
	}
	return &Index{
		dim:         dim,
		model:       modelID,
		compactFrom: compactMinRows,
		byID:        make(map[string]int32),
		byFace:      make(map[string]int32),
	}
}

// noCompact as compactFrom keeps an index exact whatever its size.
const noCompact = int(^uint(0) >> 1)

// Compact reports whether the index holds compact codes rather than exact
// vectors (see the package comment).
func (ix *Index) Compact() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.codes != nil
}

// maybeCompact switches the index to compact codes if it is to hold rows
// templates. ix.mu must be held for writing.
func (ix *Index) maybeCompact(rows int) {
	if ix.codes != nil || rows < ix.compactFrom || !compactEligible(ix.dim) {
		return
	}
	c := newCodes(ix.dim)
	n := len(ix.rowID)
	c.grow(max(rows, n))
	for r := range n {
		c.appendRow(ix.slab[r*ix.dim : (r+1)*ix.dim])
	}
	ix.codes = c
	ix.slab = nil // the point of going compact: the float32 vectors are not kept
}

// Dim returns the vector dimension the index accepts.
func (ix *Index) Dim() int { return ix.dim }

// ModelID returns the embedding model the index accepts.
func (ix *Index) ModelID() string { return ix.model }

// Len returns the number of templates (vectors) in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.rowID)
}

// Faces returns the number of distinct faces in the index.
func (ix *Index) Faces() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.faceKey)
}

// Grow makes room for n more templates without reallocating, so that bulk
// loads do not copy the slab repeatedly.
func (ix *Index) Grow(n int) {
	if n <= 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.grow(n)
}

func (ix *Index) grow(n int) {
	ix.maybeCompact(len(ix.rowID) + n)
	if ix.codes != nil {
		ix.codes.grow(n)
	} else {
		ix.slab = slices.Grow(ix.slab, n*ix.dim)
	}
	ix.rowID = slices.Grow(ix.rowID, n)
	ix.rowFace = slices.Grow(ix.rowFace, n)
	ix.rowNext = slices.Grow(ix.rowNext, n)
}

// Add stores template id of face faceKey. vec must have the index's
// dimension, be finite and L2-normalised, and come from the index's model
// (use AddEntry to have the model checked). The vector is copied.
//
// Add is an upsert: adding an id that is already present replaces its vector
// (and moves it to faceKey if that changed), so replaying an enrolment, or
// adding a template that a concurrent lazy load already picked up, is harmless.
func (ix *Index) Add(id, faceKey string, vec []float32) error {
	if err := ix.check(id, faceKey, vec); err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.add(id, faceKey, vec)
	return nil
}

// AddEntry is Add for a vector stamped with its model: it fails with a
// *ModelError unless e.ModelID is the index's model.
func (ix *Index) AddEntry(e Entry) error {
	if e.ModelID != ix.model {
		return &ModelError{Want: ix.model, Got: e.ModelID}
	}
	return ix.Add(e.ID, e.FaceKey, e.Vector)
}

// check validates a template before it is added. It needs no lock: dim is
// immutable.
func (ix *Index) check(id, faceKey string, vec []float32) error {
	if id == "" || faceKey == "" {
		return ErrEmptyKey
	}
	return ix.checkVector(vec)
}

func (ix *Index) checkVector(vec []float32) error {
	if len(vec) != ix.dim {
		return &DimensionError{Want: ix.dim, Got: len(vec)}
	}
	var n2 float64
	for _, x := range vec {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: non-finite component", ErrInvalidVector)
		}
		n2 += f * f
	}
	if math.Abs(n2-1) > normTolerance {
		return fmt.Errorf("%w: not L2-normalised (norm %.6f)", ErrInvalidVector, math.Sqrt(n2))
	}
	return nil
}

// add inserts or replaces a validated template. ix.mu must be held for writing.
func (ix *Index) add(id, faceKey string, vec []float32) {
	if r, ok := ix.byID[id]; ok {
		if ix.faceKey[ix.rowFace[r]] == faceKey {
			ix.setVector(r, vec)
			return
		}
		ix.removeRow(r)
	}
	ix.maybeCompact(len(ix.rowID) + 1)
	r := int32(len(ix.rowID))
	f, ok := ix.byFace[faceKey]
	if !ok {
		f = int32(len(ix.faceKey))
		ix.faceKey = append(ix.faceKey, faceKey)
		ix.faceHead = append(ix.faceHead, -1)
		ix.byFace[faceKey] = f
	}
	if ix.codes != nil {
		ix.codes.appendRow(vec)
	} else {
		ix.slab = append(ix.slab, vec...)
	}
	ix.rowID = append(ix.rowID, id)
	ix.rowFace = append(ix.rowFace, f)
	ix.rowNext = append(ix.rowNext, ix.faceHead[f])
	ix.faceHead[f] = r
	ix.byID[id] = r
}

// setVector replaces row r's vector. ix.mu must be held for writing.
func (ix *Index) setVector(r int32, vec []float32) {
	if ix.codes != nil {
		ix.codes.set(int(r), vec)
		return
	}
	copy(ix.slab[int(r)*ix.dim:], vec)
}

// Remove deletes every template of face faceKey. Removing an unknown face is
// a no-op. It reports how many templates were removed.
func (ix *Index) Remove(faceKey string) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := 0
	for {
		f, ok := ix.byFace[faceKey]
		if !ok {
			return n
		}
		ix.removeRow(ix.faceHead[f]) // drops the face with its last row
		n++
	}
}

// RemoveTemplate deletes one template; the face goes with its last template.
// It reports whether the template was present.
func (ix *Index) RemoveTemplate(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	r, ok := ix.byID[id]
	if ok {
		ix.removeRow(r)
	}
	return ok
}

// removeRow deletes row r: it unlinks r from its face (dropping the face if r
// was its last row), then moves the last row into r's place. ix.mu must be
// held for writing.
func (ix *Index) removeRow(r int32) {
	f := ix.rowFace[r]
	ix.relink(f, r, ix.rowNext[r])
	delete(ix.byID, ix.rowID[r])
	if ix.faceHead[f] == -1 {
		ix.removeFace(f)
	}

	last := int32(len(ix.rowID) - 1)
	if r != last {
		ix.moveVector(r, last)
		ix.rowID[r] = ix.rowID[last]
		ix.rowFace[r] = ix.rowFace[last]
		ix.rowNext[r] = ix.rowNext[last]
		ix.byID[ix.rowID[r]] = r
		ix.relink(ix.rowFace[r], last, r)
	}
	ix.rowID[last] = "" // release the string
	if ix.codes != nil {
		ix.codes.truncate(int(last))
	} else {
		ix.slab = ix.slab[:int(last)*ix.dim]
	}
	ix.rowID = ix.rowID[:last]
	ix.rowFace = ix.rowFace[:last]
	ix.rowNext = ix.rowNext[:last]
}

// moveVector copies row src's vector (or codes) over row dst's.
func (ix *Index) moveVector(dst, src int32) {
	if ix.codes != nil {
		ix.codes.move(int(dst), int(src))
		return
	}
	d := ix.dim
	copy(ix.slab[int(dst)*d:int(dst+1)*d], ix.slab[int(src)*d:int(src+1)*d])
}

// relink replaces the link to row from in face f's row list by a link to row
// to (to = rowNext[from] unlinks from; to = another row renames it).
func (ix *Index) relink(f, from, to int32) {
	if ix.faceHead[f] == from {
		ix.faceHead[f] = to
		return
	}
	for p := ix.faceHead[f]; p != -1; p = ix.rowNext[p] {
		if ix.rowNext[p] == from {
			ix.rowNext[p] = to
			return
		}
	}
	panic("search: corrupt face row list")
}

// removeFace deletes face ordinal f, whose row list is empty, moving the last
// face into its place.
func (ix *Index) removeFace(f int32) {
	delete(ix.byFace, ix.faceKey[f])
	last := int32(len(ix.faceKey) - 1)
	if f != last {
		ix.faceKey[f] = ix.faceKey[last]
		ix.faceHead[f] = ix.faceHead[last]
		ix.byFace[ix.faceKey[f]] = f
		for r := ix.faceHead[f]; r != -1; r = ix.rowNext[r] {
			ix.rowFace[r] = f
		}
	}
	ix.faceKey[last] = ""
	ix.faceKey = ix.faceKey[:last]
	ix.faceHead = ix.faceHead[:last]
}

// Search returns at most k faces whose best template has cosine ≥ minCosine
// to query, best first; equal cosines are ordered by face key, and a face's
// equally-scoring templates by template id, so results are deterministic.
// On a compact index the cosines are those of the int8 codes (within about
// ±0.001 of the exact ones) and a face may be missed (see the package comment).
//
// query must be an L2-normalised vector of the index's model: Search returns
// nil if its dimension is wrong and cannot tell another model's vector apart.
// SearchModel checks both and reports errors.
func (ix *Index) Search(query []float32, k int, minCosine float32) []Hit {
	if len(query) != ix.dim || k <= 0 {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	rows := len(ix.rowID)
	if rows == 0 {
		return nil
	}
	var top *topK
	if w := ix.searchWorkers(rows); ix.codes != nil {
		top = ix.searchCompact(query, k, minCosine, w)
	} else if w > 1 {
		top = ix.searchParallel(query, k, minCosine, w)
	} else {
		top = ix.newTopK(k, minCosine)
		ix.scan(top, query, 0, rows)
	}
	return top.hits()
}

// SearchModel is Search for a query stamped with its model: it fails with a
// *ModelError if modelID is not the index's model, a *DimensionError if the
// query has the wrong length, and ErrInvalidVector if it is not finite and
// L2-normalised.
func (ix *Index) SearchModel(modelID string, query []float32, k int, minCosine float32) ([]Hit, error) {
	if modelID != ix.model {
		return nil, &ModelError{Want: ix.model, Got: modelID}
	}
	if err := ix.checkVector(query); err != nil {
		return nil, err
	}
	return ix.Search(query, k, minCosine), nil
}

// searchWorkers returns how many goroutines should scan a slab of rows.
func (ix *Index) searchWorkers(rows int) int {
	if rows < parallelMinRows || ix.workers == 1 {
		return 1
	}
	w := runtime.GOMAXPROCS(0)
	if ix.workers > 0 {
		w = min(w, ix.workers)
	}
	return max(1, min(w, rows/rowsPerWorker))
}

// searchParallel splits the slab into w contiguous ranges, finds each
// range's top k faces concurrently and merges them. The merge is exact: a
// face in the global top k is in the top k of the range holding its best
// template, since every face ranked above it there is ranked above it overall.
func (ix *Index) searchParallel(query []float32, k int, minCosine float32, w int) *topK {
	rows := len(ix.rowID)
	parts := make([]*topK, w)
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := rows*i/w, rows*(i+1)/w
		parts[i] = ix.newTopK(k, minCosine)
		if i == w-1 {
			ix.scan(parts[i], query, lo, hi) // the caller's goroutine takes the last range
			break
		}
		wg.Go(func() { ix.scan(parts[i], query, lo, hi) })
	}
	wg.Wait()
	top := ix.newTopK(k, minCosine)
	for _, p := range parts {
		for _, c := range p.h {
			top.offer(c.row, c.score)
		}
	}
	return top
}

// scan offers rows [lo, hi) to top. ix.mu must be held for reading.
func (ix *Index) scan(top *topK, query []float32, lo, hi int) {
	d := ix.dim
	slab := ix.slab[lo*d : hi*d]
	floor := minCosineFloor(top)
	for r := lo; r < hi; r++ {
		v := slab[:d:d]
		slab = slab[d:]
		s := dot(query, v)
		// "not ≥" rather than "<" also drops NaN (a NaN query matches nothing).
		if !(s >= floor) {
			continue
		}
		top.offer(int32(r), s)
		floor = minCosineFloor(top)
	}
}

// minCosineFloor is the lowest score that can still enter top: the threshold
// until the heap is full, then the current k-th best score (a score equal to
// it may still win on the face-key tie-break, so offer decides that).
func minCosineFloor(t *topK) float32 {
	if len(t.h) < t.k {
		return t.min
	}
	return max(t.min, t.h[0].score)
}

// Stats describes an index's size.
type Stats struct {
	ModelID   string
	Dim       int
	Templates int
	Faces     int
	// Compact reports that the index holds compact codes (sign bits and int8
	// codes) instead of float32 vectors.
	Compact bool
	// VectorBytes is the size of the stored vectors: Templates × Dim × 4 for
	// an exact index, the codes (Templates × (Dim + Dim/8 + 4)) for a compact
	// one. SlabBytes is their allocated capacity.
	VectorBytes int64
	SlabBytes   int64
	// OverheadBytes estimates everything else: ids, face keys, row and face
	// tables and the two maps (map cost is approximate).
	OverheadBytes int64
	// Skipped counts loader entries of another model that Registry ignored.
	Skipped int
}

// Stats returns the index's size.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	const (
		strHdr   = 16
		mapEntry = (16 + 4 + 1) * 8 / 7 * 3 / 2 // key+value+control byte, 7/8 load, ~1.5× growth slack
	)
	var strBytes int64
	for _, s := range ix.rowID {
		strBytes += int64(len(s))
	}
	for _, s := range ix.faceKey {
		strBytes += int64(len(s))
	}
	over := strBytes +
		int64(cap(ix.rowID))*strHdr + int64(cap(ix.rowFace))*4 + int64(cap(ix.rowNext))*4 +
		int64(cap(ix.faceKey))*strHdr + int64(cap(ix.faceHead))*4 +
		int64(len(ix.byID)+len(ix.byFace))*mapEntry
	vec, slab := int64(len(ix.slab))*4, int64(cap(ix.slab))*4
	if ix.codes != nil {
		vec, slab = ix.codes.bytes()
	}
	return Stats{
		ModelID:       ix.model,
		Dim:           ix.dim,
		Templates:     len(ix.rowID),
		Faces:         len(ix.faceKey),
		Compact:       ix.codes != nil,
		VectorBytes:   vec,
		SlabBytes:     slab,
		OverheadBytes: over,
		Skipped:       ix.skipped,
	}
}

// cand is a face in a topK heap, represented by its best row so far.
type cand struct {
	score float32
	face  int32
	row   int32
}

// topK keeps the k best faces seen so far in a min-heap (worst at h[0]),
// holding each face at most once with its best row.
type topK struct {
	ix  *Index
	k   int
	min float32
	h   []cand
	pos map[int32]int // face -> heap index; only for large k (else linear scan)
}

// linearFindMax is the largest k for which finding a face in the heap scans it.
const linearFindMax = 64

func (ix *Index) newTopK(k int, minCosine float32) *topK {
	t := &topK{ix: ix, k: k, min: minCosine, h: make([]cand, 0, min(k, len(ix.faceKey)))}
	if k > linearFindMax {
		t.pos = make(map[int32]int)
	}
	return t
}

// worse reports whether a ranks below b: lower cosine, or equal cosine and a
// greater face key. Faces in one heap are distinct, so this is a strict order.
func (t *topK) worse(a, b cand) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return t.ix.faceKey[a.face] > t.ix.faceKey[b.face]
}

func (t *topK) find(face int32) int {
	if t.pos != nil {
		if i, ok := t.pos[face]; ok {
			return i
		}
		return -1
	}
	for i := range t.h {
		if t.h[i].face == face {
			return i
		}
	}
	return -1
}

// offer considers row r with cosine s (already known to be ≥ t.min).
func (t *topK) offer(r int32, s float32) {
	ix := t.ix
	f := ix.rowFace[r]
	if i := t.find(f); i >= 0 {
		c := &t.h[i]
		if s > c.score || (s == c.score && ix.rowID[r] < ix.rowID[c.row]) {
			c.score, c.row = s, r
			t.down(i) // a better score moves away from the root of a min-heap
		}
		return
	}
	c := cand{score: s, face: f, row: r}
	if len(t.h) < t.k {
		t.h = append(t.h, c)
		t.setPos(len(t.h) - 1)
		t.up(len(t.h) - 1)
		return
	}
	if t.worse(t.h[0], c) {
		if t.pos != nil {
			delete(t.pos, t.h[0].face)
		}
		t.h[0] = c
		t.setPos(0)
		t.down(0)
	}
}

func (t *topK) setPos(i int) {
	if t.pos != nil {
		t.pos[t.h[i].face] = i
	}
}

func (t *topK) swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.setPos(i)
	t.setPos(j)
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.worse(t.h[i], t.h[p]) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.worse(t.h[r], t.h[l]) {
			m = r
		}
		if !t.worse(t.h[m], t.h[i]) {
			return
		}
		t.swap(i, m)
		i = m
	}
}

// hits returns the heap's faces best first.
func (t *topK) hits() []Hit {
	if len(t.h) == 0 {
		return nil
	}
	ix := t.ix
	slices.SortFunc(t.h, func(a, b cand) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return strings.Compare(ix.faceKey[a.face], ix.faceKey[b.face])
	})
	out := make([]Hit, len(t.h))
	for i, c := range t.h {
		out[i] = Hit{FaceKey: ix.faceKey[c.face], TemplateID: ix.rowID[c.row], Cosine: c.score}
	}
	return out
}
