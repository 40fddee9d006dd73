package search

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package matches exactly one
// of them with errors.Is; the typed errors below carry the details.
var (
	// ErrDimensionMismatch: a vector's length differs from the index's dimension.
	ErrDimensionMismatch = errors.New("search: vector dimension mismatch")
	// ErrModelMismatch: a vector was produced by another embedding model than
	// the index's. Vectors of two models are never compared.
	ErrModelMismatch = errors.New("search: embedding model mismatch")
	// ErrInvalidVector: a vector holds NaN/Inf or is not L2-normalised.
	ErrInvalidVector = errors.New("search: invalid vector")
	// ErrEmptyKey: an empty template id or face key.
	ErrEmptyKey = errors.New("search: empty template id or face key")
)

// DimensionError reports a vector of the wrong length. It matches
// ErrDimensionMismatch.
type DimensionError struct {
	Want, Got int
}

func (e *DimensionError) Error() string {
	return fmt.Sprintf("search: vector dimension mismatch: index has %d, vector has %d", e.Want, e.Got)
}

func (e *DimensionError) Is(target error) bool { return target == ErrDimensionMismatch }

// ModelError reports a vector stamped with another embedding model than the
// index's. It matches ErrModelMismatch.
type ModelError struct {
	Want, Got string
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("search: embedding model mismatch: index is %q, vector is %q", e.Want, e.Got)
}

func (e *ModelError) Is(target error) bool { return target == ErrModelMismatch }
