package imageio

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// Budget bounds the memory of all decodes in flight: each decode reserves
// its Plan.Cost before allocating and waits while the budget is spent.
// One Budget serves a whole process (every request path that decodes), so
// that many large uploads at once queue instead of exhausting memory.
//
// The budget counts the bytes decodes hold live; the Go heap runs up to
// GOGC percent above its live size before collecting, so size GOMEMLIMIT
// (or the container) for roughly twice the budget plus everything else.
type Budget struct {
	sem   *semaphore.Weighted
	max   int64
	inUse atomic.Int64

	// enter, when set (tests only), runs with the budget held.
	enter func(cost int64)
}

// NewBudget returns a budget of maxBytes.
func NewBudget(maxBytes int64) *Budget {
	return &Budget{sem: semaphore.NewWeighted(maxBytes), max: maxBytes}
}

// Max is the budget's size in bytes.
func (b *Budget) Max() int64 { return b.max }

// InUse is the memory reserved by decodes running now (for a metrics gauge).
func (b *Budget) InUse() int64 { return b.inUse.Load() }

// Decode is the package Decode under the budget. It waits, under ctx, for
// the image's cost to be free; an image costing more than the whole budget
// (or than lim allows) fails at once with ErrTooLarge. A cancelled wait
// returns ctx's error, wrapped.
func (b *Budget) Decode(ctx context.Context, data []byte, lim Limits) (*Image, Info, error) {
	return decode(ctx, data, lim, b.reserve)
}

func (b *Budget) reserve(ctx context.Context, cost int64) (func(), error) {
	if cost > b.max {
		return nil, fmt.Errorf("%w: decoding needs ~%d MB, the whole decode budget is %d MB", ErrTooLarge, cost>>20, b.max>>20)
	}
	if err := b.sem.Acquire(ctx, cost); err != nil {
		return nil, fmt.Errorf("imageio: waiting for decode memory: %w", err)
	}
	b.inUse.Add(cost)
	if b.enter != nil {
		b.enter(cost)
	}
	return func() {
		b.inUse.Add(-cost)
		b.sem.Release(cost)
	}, nil
}
