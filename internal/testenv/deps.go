package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// ForbidDeps fails if the package in the test's folder depends, directly
// or transitively (`go list -deps`), on any package matching a forbidden
// prefix. It keeps the layering DESIGN.md asks for: the engine knows
// nothing of HTTP or storage, services nothing of HTTP. Prefix "!std"
// forbids every package outside the standard library.
func ForbidDeps(t *testing.T, forbidden ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{else}}std:{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	self := lines[len(lines)-1] // go list prints the package itself last
	for _, dep := range lines[:len(lines)-1] {
		std := strings.HasPrefix(dep, "std:")
		path := strings.TrimPrefix(dep, "std:")
		for _, f := range forbidden {
			if (f == "!std" && !std) || (f != "!std" && (path == f || strings.HasPrefix(path, f+"/"))) {
				t.Errorf("%s depends on %s (forbidden: %s)", self, path, f)
			}
		}
	}
}
