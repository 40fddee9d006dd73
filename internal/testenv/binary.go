package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// VisageBinary builds ./cmd/visage once per test process, for tests that
// run the real binary as a user or an operator would. Call RemoveBinary
// from TestMain.
func VisageBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the visage binary")
	}
	root := Root(t)
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "visage-test-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "visage")
		build := exec.Command("go", "build", "-o", binPath, "./cmd/visage")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// RemoveBinary deletes the binary VisageBinary built, if any.
func RemoveBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}
