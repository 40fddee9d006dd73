package aamva

import (
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// The parser is pure Go on bytes: the standard library only, no cgo, so
// it builds and fuzzes anywhere.
func TestDependencies(t *testing.T) {
	testenv.ForbidDeps(t, "!std", "runtime/cgo")
}
