package search

import (
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// The index is fed through a loader function: standard library only, no
// store and no HTTP.
func TestDependencies(t *testing.T) { testenv.ForbidDeps(t, "!std", "net/http", "database/sql") }
