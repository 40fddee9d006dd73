package faceauth

import (
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// Services sit below the API: no HTTP, no API package.
func TestDependencies(t *testing.T) {
	testenv.ForbidDeps(t, "net/http", "github.com/visagehq/visage/internal/api", "github.com/visagehq/visage/internal/web")
}
