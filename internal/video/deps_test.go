package video

import (
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// Video decoding and analysis sit beside the engine: they know nothing of
// HTTP, storage, tenants or the face-authentication service (DESIGN.md).
func TestDependencies(t *testing.T) {
	testenv.ForbidDeps(t, "net/http", "database/sql",
		"github.com/visagehq/visage/internal/store", "github.com/visagehq/visage/internal/api",
		"github.com/visagehq/visage/internal/tenancy", "github.com/visagehq/visage/internal/faceauth",
		"github.com/visagehq/visage/internal/blob", "github.com/visagehq/visage/internal/web")
}
