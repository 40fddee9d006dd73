// Package testenv finds what tests need outside the repository: the shared
// fixture images and the installed models. Missing pieces skip a test
// loudly on a developer machine and fail it in CI, where
// VISAGE_REQUIRE_FIXTURES=1 is set, so CI can never pass by skipping.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the repository root (the folder holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// Fixtures returns the shared fixtures folder (VISAGE_FIXTURES, default
// ../shared/fixtures beside the repository).
func Fixtures(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VISAGE_FIXTURES")
	if dir == "" {
		dir = filepath.Join(Root(t), "..", "shared", "fixtures")
	}
	if _, err := os.Stat(filepath.Join(dir, "faces")); err != nil {
		missing(t, "fixtures not found at "+dir+" (set VISAGE_FIXTURES)")
	}
	return dir
}

// Fixture joins a path under the fixtures folder.
func Fixture(t testing.TB, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Fixtures(t)}, parts...)...)
}

// ModelsDir returns the installed models folder (VISAGE_MODELS_DIR,
// default ./models in the repository).
func ModelsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VISAGE_MODELS_DIR")
	if dir == "" {
		dir = filepath.Join(Root(t), "models")
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(Root(t), dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "fr_feature.onnx")); err != nil {
		missing(t, "models not installed in "+dir+" (run `make models`)")
	}
	return dir
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
		t.Fatalf("REQUIRED BUT MISSING: %s", msg)
	}
	t.Skipf("SKIPPED, MISSING: %s", msg)
}
