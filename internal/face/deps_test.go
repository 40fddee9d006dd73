package face

import (
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// The engine knows nothing of HTTP, tenants or storage (DESIGN.md).
func TestDependencies(t *testing.T) {
	testenv.ForbidDeps(t, "net/http", "database/sql", "github.com/visagehq/visage/internal/store",
		"github.com/visagehq/visage/internal/api", "github.com/visagehq/visage/internal/tenancy")
}
