package search

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func entries(n int, model string) []Entry {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	es := make([]Entry, n)
	for i := range es {
		es[i] = Entry{ID: fmt.Sprint("t", i), FaceKey: fmt.Sprint("f", i/2), ModelID: model, Vector: randUnit(rng, 8)}
	}
	return es
}

// waiters counts Gets that wait on another caller's load; wait(n) blocks
// until n of them do.
type waiters struct{ ch chan struct{} }

func countWaiters(reg *Registry) *waiters {
	w := &waiters{ch: make(chan struct{}, 1024)}
	reg.waitHook = func() { w.ch <- struct{}{} }
	return w
}

func (w *waiters) wait(n int) {
	for range n {
		<-w.ch
	}
}

func TestRegistrySingleLoad(t *testing.T) {
	var calls atomic.Int32
	gate := make(chan struct{})
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		calls.Add(1)
		<-gate
		return entries(10, testModel), nil
	})
	w := countWaiters(reg)
	const callers = 16
	got := make([]*Index, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			ix, err := reg.Get(context.Background(), "acme")
			if err != nil {
				t.Error(err)
			}
			got[i] = ix
		})
	}
	w.wait(callers - 1) // one caller runs the load, the others wait on it
	close(gate)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("loader called %d times, want 1", n)
	}
	for i, ix := range got {
		if ix != got[0] || ix == nil {
			t.Fatalf("caller %d got a different index", i)
		}
	}
	if got[0].Len() != 10 || got[0].Faces() != 5 || got[0].Dim() != 8 || got[0].ModelID() != testModel {
		t.Fatalf("loaded index: Len %d Faces %d", got[0].Len(), got[0].Faces())
	}
	// Loaded: later calls do not load again; other integrations load separately.
	if ix, _ := reg.Get(context.Background(), "acme"); ix != got[0] || calls.Load() != 1 {
		t.Fatal("second Get reloaded")
	}
	if ix, _ := reg.Get(context.Background(), "globex"); ix == got[0] || calls.Load() != 2 {
		t.Fatal("another integration shared the index")
	}
}

func TestRegistryRetryAfterFailure(t *testing.T) {
	var calls atomic.Int32
	boom := errors.New("db down")
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		if calls.Add(1) == 1 {
			return nil, boom
		}
		return entries(4, testModel), nil
	})
	if _, err := reg.Get(context.Background(), "acme"); !errors.Is(err, boom) {
		t.Fatalf("first Get: %v, want the loader's error", err)
	}
	ix, err := reg.Get(context.Background(), "acme")
	if err != nil || ix.Len() != 4 {
		t.Fatalf("second Get: %v", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("loader called %d times, want 2", calls.Load())
	}
}

func TestRegistryFailedLoadSharedByWaiters(t *testing.T) {
	var calls atomic.Int32
	gate := make(chan struct{})
	boom := errors.New("db down")
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		calls.Add(1)
		<-gate
		return nil, boom
	})
	w := countWaiters(reg)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := reg.Get(context.Background(), "acme"); !errors.Is(err, boom) {
				t.Errorf("Get: %v", err)
			}
		})
	}
	w.wait(7)
	close(gate)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("loader called %d times, want 1 (waiters share the failed load)", calls.Load())
	}
}

func TestRegistryLeaderCancelled(t *testing.T) {
	var calls atomic.Int32
	started := make(chan struct{})
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-ctx.Done() // the first caller gives up mid-load
			return nil, ctx.Err()
		}
		return entries(2, testModel), nil
	})
	w := countWaiters(reg)
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := reg.Get(leaderCtx, "acme")
		leaderErr <- err
	}()
	<-started
	waiter := make(chan error, 1)
	go func() {
		ix, err := reg.Get(context.Background(), "acme")
		if err == nil && ix.Len() != 2 {
			err = fmt.Errorf("Len %d", ix.Len())
		}
		waiter <- err
	}()
	w.wait(1) // the waiter is waiting on the first load
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	if err := <-waiter; err != nil {
		t.Fatalf("waiter should have reloaded with its own context: %v", err)
	}
}

func TestRegistryWaiterContext(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	started := make(chan struct{})
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		close(started)
		<-gate
		return nil, nil
	})
	go reg.Get(context.Background(), "acme") //nolint:errcheck // holds the load open
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := reg.Get(ctx, "acme"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter with expired context: %v", err)
	}
}

func TestRegistryLoaderPanic(t *testing.T) {
	var calls atomic.Int32
	gate := make(chan struct{})
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		if calls.Add(1) == 1 {
			<-gate
			panic("loader bug")
		}
		return entries(2, testModel), nil
	})
	w := countWaiters(reg)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		reg.Get(context.Background(), "acme") //nolint:errcheck
	}()
	for calls.Load() == 0 { // the load has started
		runtime.Gosched()
	}
	waiter := make(chan error, 1)
	go func() {
		_, err := reg.Get(context.Background(), "acme")
		waiter <- err
	}()
	w.wait(1)
	close(gate)
	if p := <-panicked; p != "loader bug" {
		t.Fatalf("panic not propagated to the loading caller: %v", p)
	}
	if err := <-waiter; !errors.Is(err, errLoaderPanicked) {
		t.Fatalf("waiter: %v", err)
	}
	if ix, err := reg.Get(context.Background(), "acme"); err != nil || ix.Len() != 2 {
		t.Fatalf("Get after panic: %v", err)
	}
}

func TestRegistryInvalidate(t *testing.T) {
	var calls atomic.Int32
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		return entries(int(calls.Add(1)), testModel), nil
	})
	a, _ := reg.Get(context.Background(), "acme")
	reg.Invalidate("acme")
	reg.Invalidate("never-loaded")
	b, _ := reg.Get(context.Background(), "acme")
	if a == b || a.Len() != 1 || b.Len() != 2 {
		t.Fatalf("Invalidate did not reload: %d then %d templates", a.Len(), b.Len())
	}
}

// An Invalidate during a load discards that load's result.
func TestRegistryInvalidateDuringLoad(t *testing.T) {
	var calls atomic.Int32
	gate, started := make(chan struct{}), make(chan struct{})
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-gate
			return entries(1, testModel), nil // read before the change
		}
		return entries(3, testModel), nil
	})
	first := make(chan *Index, 1)
	go func() {
		ix, _ := reg.Get(context.Background(), "acme")
		first <- ix
	}()
	<-started
	reg.Invalidate("acme")
	close(gate)
	if ix := <-first; ix.Len() != 1 {
		t.Fatalf("in-flight caller: Len %d", ix.Len())
	}
	if ix, _ := reg.Get(context.Background(), "acme"); ix.Len() != 3 {
		t.Fatalf("stale load was cached: Len %d", ix.Len())
	}
}

func TestRegistryUpdate(t *testing.T) {
	gate, started := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		if calls.Add(1) == 2 {
			close(started)
			<-gate
		}
		return entries(2, testModel), nil
	})
	v := randUnit(rand.New(rand.NewPCG(1, 1)), 8)
	add := func(ix *Index) error { return ix.Add("new", "newface", v) }

	// Not loaded: nothing to do, and nothing loaded.
	if err := reg.Update("acme", add); err != nil || calls.Load() != 0 {
		t.Fatalf("Update on unloaded: %v, %d loads", err, calls.Load())
	}
	// Loaded: fn runs on the index.
	ix, _ := reg.Get(context.Background(), "acme")
	if err := reg.Update("acme", add); err != nil || ix.Len() != 3 {
		t.Fatalf("Update on loaded: %v, Len %d", err, ix.Len())
	}
	// fn's error is returned.
	if err := reg.Update("acme", func(ix *Index) error { return ix.Add("x", "y", []float32{1}) }); !errors.Is(err, ErrDimensionMismatch) {
		t.Fatalf("Update error: %v", err)
	}
	// Loading: the load's result is dropped.
	reg.Invalidate("acme")
	loading := make(chan *Index, 1)
	go func() {
		ix, _ := reg.Get(context.Background(), "acme")
		loading <- ix
	}()
	<-started
	if err := reg.Update("acme", add); err != nil {
		t.Fatal(err)
	}
	close(gate)
	stale := <-loading
	if fresh, _ := reg.Get(context.Background(), "acme"); fresh == stale || calls.Load() != 3 {
		t.Fatalf("load overlapping Update was kept (%d loads)", calls.Load())
	}
}

func TestRegistryModelAndValidation(t *testing.T) {
	es := entries(6, testModel)
	es[1].ModelID = "old-model@0"
	es[4].ModelID = "old-model@0"
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		if id == "corrupt" {
			bad := entries(3, testModel)
			bad[2].Vector = bad[2].Vector[:7]
			return bad, nil
		}
		return es, nil
	})
	ix, err := reg.Get(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.Templates != 4 || st.Skipped != 2 {
		t.Fatalf("other-model entries: Templates %d Skipped %d, want 4 and 2", st.Templates, st.Skipped)
	}
	if _, err := reg.Get(context.Background(), "corrupt"); !errors.Is(err, ErrDimensionMismatch) {
		t.Fatalf("corrupt entry: %v", err)
	}
	if reg.Dim() != 8 || reg.ModelID() != testModel {
		t.Fatal("Dim/ModelID")
	}
}

func TestRegistryConcurrent(t *testing.T) {
	var calls atomic.Int32
	reg := NewRegistry(8, testModel, func(ctx context.Context, id string) ([]Entry, error) {
		calls.Add(1)
		return entries(20, testModel), nil
	})
	v := randUnit(rand.New(rand.NewPCG(2, 2)), 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				tenant := fmt.Sprint("t", i%5)
				switch {
				case g == 0 && i%20 == 0:
					reg.Invalidate(tenant)
				case g == 1:
					if err := reg.Update(tenant, func(ix *Index) error { return ix.Add(fmt.Sprint("u", i), "uf", v) }); err != nil {
						t.Error(err)
					}
				default:
					ix, err := reg.Get(context.Background(), tenant)
					if err != nil {
						t.Error(err)
						return
					}
					ix.Search(v, 5, -1)
				}
			}
		})
	}
	wg.Wait()
}

func TestNewRegistryPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewRegistry with nil loader did not panic")
		}
	}()
	NewRegistry(8, testModel, nil)
}
