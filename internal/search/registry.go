package search

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Entry is one stored template, as a Registry loader returns it.
type Entry struct {
	ID      string    // template id
	FaceKey string    // the face it belongs to
	ModelID string    // embedding model that produced Vector
	Vector  []float32 // L2-normalised embedding; copied by the index
}

// Loader returns every template of an integration. It is called by
// Registry.Get with the first caller's context.
type Loader func(ctx context.Context, integrationID string) ([]Entry, error)

// Registry holds one Index per integration, all for one embedding model,
// loaded lazily on first use. It is safe for concurrent use.
//
// Writers keep a loaded index current themselves (Index.Add / Remove after the
// store commits; Add is an upsert, so racing a lazy load is harmless) or call
// Invalidate to have the next Get reload from the store.
type Registry struct {
	dim   int
	model string
	load  Loader

	mu    sync.Mutex
	slots map[string]*slot

	// waitHook, if set (by tests, before use), runs when a Get starts waiting
	// on another caller's load.
	waitHook func()
}

// slot is one integration's index, loaded or being loaded. done is closed
// when the load ends; ix and err are set before that and never change after.
type slot struct {
	done chan struct{}
	ix   *Index
	err  error
}

// NewRegistry returns a registry of indexes for vectors of length dim made by
// the embedding model modelID, filled by loader. It panics on dim < 1, an
// empty modelID or a nil loader (programming errors).
func NewRegistry(dim int, modelID string, loader Loader) *Registry {
	if dim < 1 || modelID == "" || loader == nil {
		panic(fmt.Sprintf("search: NewRegistry: invalid arguments (dim %d, model %q, loader set %t)", dim, modelID, loader != nil))
	}
	return &Registry{dim: dim, model: modelID, load: loader, slots: make(map[string]*slot)}
}

// Dim returns the vector dimension of the registry's indexes.
func (r *Registry) Dim() int { return r.dim }

// ModelID returns the embedding model of the registry's indexes.
func (r *Registry) ModelID() string { return r.model }

// errLoaderPanicked is what callers waiting on a load get if the loader
// panicked (the panic itself propagates in the goroutine that ran it).
var errLoaderPanicked = errors.New("search: index loader panicked")

// Get returns integrationID's index, loading it on first use. Concurrent
// first callers share a single load. A failed load is not cached: the callers
// that shared it get its error and the next Get loads again. If the load
// failed only because the context of the caller running it ended, the other
// waiting callers retry with their own context instead.
//
// Loader entries of another model than the registry's are skipped (counted
// in Stats().Skipped): such templates cannot be compared with this model's
// queries until they are re-enrolled. An entry that is otherwise invalid
// (wrong dimension, not normalised, empty id) fails the load.
func (r *Registry) Get(ctx context.Context, integrationID string) (*Index, error) {
	for {
		r.mu.Lock()
		s, ok := r.slots[integrationID]
		if !ok {
			s = &slot{done: make(chan struct{})}
			r.slots[integrationID] = s
			r.mu.Unlock()
			return r.run(ctx, integrationID, s)
		}
		r.mu.Unlock()

		if r.waitHook != nil {
			r.waitHook()
		}
		select {
		case <-s.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if s.err == nil {
			return s.ix, nil
		}
		if isContextErr(s.err) && ctx.Err() == nil {
			continue // the loading caller gave up, we have not: load again
		}
		return nil, s.err
	}
}

// run loads integrationID's index into s and publishes the result.
func (r *Registry) run(ctx context.Context, integrationID string, s *slot) (ix *Index, err error) {
	finished := false
	defer func() {
		if !finished { // the loader panicked: release the waiters, then let the panic continue
			r.finish(integrationID, s, nil, errLoaderPanicked)
		}
	}()
	ix, err = r.build(ctx, integrationID)
	r.finish(integrationID, s, ix, err)
	finished = true
	return ix, err
}

func (r *Registry) finish(integrationID string, s *slot, ix *Index, err error) {
	r.mu.Lock()
	s.ix, s.err = ix, err
	if err != nil && r.slots[integrationID] == s {
		delete(r.slots, integrationID) // not cached: the next Get retries
	}
	r.mu.Unlock()
	close(s.done)
}

func (r *Registry) build(ctx context.Context, integrationID string) (*Index, error) {
	entries, err := r.load(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("search: loading index of integration %q: %w", integrationID, err)
	}
	ix := NewIndex(r.dim, r.model)
	ix.grow(len(entries))
	for _, e := range entries {
		if e.ModelID != r.model {
			ix.skipped++
			continue
		}
		if err := ix.check(e.ID, e.FaceKey, e.Vector); err != nil {
			return nil, fmt.Errorf("search: loading index of integration %q: template %q: %w", integrationID, e.ID, err)
		}
		ix.add(e.ID, e.FaceKey, e.Vector) // ix is not shared yet: no lock needed
	}
	return ix, nil
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Update mirrors a committed store change into integrationID's index: it runs
// fn on the index if it is loaded and returns fn's error. If the index is not
// loaded there is nothing to do (the next Get reads the store, which has the
// change). If it is being loaded, the load may have read the store before the
// change, so its result is dropped as by Invalidate and the next Get reloads.
//
// Enrolment calls Update(id, func(ix *Index) error { return ix.Add(...) })
// after its transaction commits; deletion does the same with ix.Remove.
func (r *Registry) Update(integrationID string, fn func(*Index) error) error {
	r.mu.Lock()
	s, ok := r.slots[integrationID]
	if !ok {
		r.mu.Unlock()
		return nil
	}
	select {
	case <-s.done:
	default:
		delete(r.slots, integrationID)
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	if s.err != nil { // unreachable: failed loads are never left in slots
		return nil
	}
	return fn(s.ix)
}

// Invalidate drops integrationID's index; the next Get loads it again. A load
// in progress still completes for the callers waiting on it, but its result
// is not kept.
func (r *Registry) Invalidate(integrationID string) {
	r.mu.Lock()
	delete(r.slots, integrationID)
	r.mu.Unlock()
}
