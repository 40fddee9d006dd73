package tenancy

import (
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// The API layer adapts requests to tenancy, never the other way round.
func TestDependencies(t *testing.T) {
	testenv.ForbidDeps(t, "net/http", "github.com/visagehq/visage/internal/api")
}
