package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

func TestDefaultManifestIsValid(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if m.Models["embedding"].Dim != 512 || m.Models["embedding"].Calibration == nil {
		t.Fatal("embedding model must declare dim and calibration")
	}
	for _, p := range m.Packages {
		for _, f := range p.Files {
			if len(f.SHA256) != 64 {
				t.Fatalf("%s: sha256 not pinned", f.To)
			}
		}
	}
}

func TestParseRejectsIncompleteManifest(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":      "{",
		"no runtime":    `{"models":{}}`,
		"no embedding":  `{"runtime":"x","models":{"detector":{"id":"d","file":"f","input":"i","outputs":["o"],"shape":[1,3,2,2]},"landmarks":{"id":"d","file":"f","input":"i","outputs":["o"],"shape":[1,3,2,2]}}}`,
		"shape invalid": `{"runtime":"x","models":{"detector":{"id":"d","file":"f","input":"i","outputs":["o"],"shape":[3,2]}}}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A model file that changed on disk (corruption, tampering, a partial
// copy) must be caught before it is loaded.
func TestVerifyCatchesAlteredModel(t *testing.T) {
	src := testenv.ModelsDir(t)
	m, _ := Default()
	dir := t.TempDir()
	for _, p := range m.Packages {
		for _, f := range p.Files {
			if err := os.Symlink(filepath.Join(src, f.To), filepath.Join(dir, f.To)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := Verify(m, dir); err != nil {
		t.Fatalf("intact models: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(src, "fr_eye.onnx"))
	data[len(data)/2] ^= 0xFF
	os.Remove(filepath.Join(dir, "fr_eye.onnx"))
	os.WriteFile(filepath.Join(dir, "fr_eye.onnx"), data, 0o644)
	err := Verify(m, dir)
	if err == nil || !strings.Contains(err.Error(), "fr_eye.onnx") {
		t.Fatalf("altered model: %v", err)
	}
}

func TestInstallWithoutNPMFailsClearly(t *testing.T) {
	m, _ := Default()
	t.Setenv("PATH", t.TempDir())
	err := Install(t.Context(), m, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "npm not found") {
		t.Fatalf("got %v", err)
	}
}

func TestInstallIsIdempotent(t *testing.T) {
	src := testenv.ModelsDir(t)
	m, _ := Default()
	var lines []string
	if err := Install(t.Context(), m, src, func(f string, a ...any) { lines = append(lines, f) }); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if strings.Contains(l, "to install") {
			t.Fatalf("re-install did work: %v", lines)
		}
	}
}

func TestIntegrityMismatch(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.tgz")
	os.WriteFile(f, []byte("not the tarball"), 0o644)
	if err := checkIntegrity(f, "sha512-AAAA"); err == nil {
		t.Fatal("mismatch accepted")
	}
	if err := checkIntegrity(f, "sha1-AAAA"); err == nil {
		t.Fatal("weak integrity algorithm accepted")
	}
}
