// Package compat_test states the vendor boundary: adapters adapt words and
// shapes over the services, so none may import the store, the engine or
// image decoding directly.
package compat_test

import (
	"os/exec"
	"strings"
	"testing"
)

var forbidden = []string{
	"github.com/visagehq/visage/internal/store",
	"github.com/visagehq/visage/internal/face",
	"github.com/visagehq/visage/internal/imageio",
	"github.com/visagehq/visage/internal/search",
	"github.com/visagehq/visage/internal/blob",
	"database/sql",
}

func TestAdaptersImportNoStoreOrEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		n++
		for _, imp := range fields[1:] {
			for _, f := range forbidden {
				if imp == f {
					t.Errorf("%s imports %s: adapters call services, never the store or the engine", fields[0], imp)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no adapter packages found")
	}
}
