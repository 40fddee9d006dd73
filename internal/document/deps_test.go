package document

import (
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// Document checks sit beside the face engine: pixels in, findings out,
// nothing of HTTP, storage, tenants or the face engine itself.
func TestDependencies(t *testing.T) {
	testenv.ForbidDeps(t, "net/http", "database/sql", "github.com/visagehq/visage/internal/store",
		"github.com/visagehq/visage/internal/api", "github.com/visagehq/visage/internal/tenancy",
		"github.com/visagehq/visage/internal/face", "github.com/visagehq/visage/internal/faceauth")
}
