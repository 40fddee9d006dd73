package models

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoNPM means the npm client is not installed; models come from the npm
// registry through it so that proxies and mirrors configured for npm apply.
var ErrNoNPM = errors.New("npm not found on PATH: install Node.js and npm (Debian: apt-get install npm)")

// Progress receives one human-readable line per step.
type Progress func(format string, args ...any)

// Install makes dir hold every file the manifest lists, each checked against
// its SHA-256. Files already present and intact are left alone, so running
// it again costs only the hashing.
func Install(ctx context.Context, m *Manifest, dir string, say Progress) error {
	if say == nil {
		say = func(string, ...any) {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("models dir: %w", err)
	}
	for _, p := range m.Packages {
		missing := missingFiles(dir, p.Files)
		if len(missing) == 0 {
			say("%s@%s: %d files present and verified", p.Name, p.Version, len(p.Files))
			continue
		}
		say("%s@%s: %d of %d files to install", p.Name, p.Version, len(missing), len(p.Files))
		if err := installPackage(ctx, p, missing, dir, say); err != nil {
			return fmt.Errorf("install %s@%s: %w", p.Name, p.Version, err)
		}
	}
	return nil
}

// Verify reports the first file in dir that is absent or does not match
// its checksum.
func Verify(m *Manifest, dir string) error {
	for _, p := range m.Packages {
		for _, f := range p.Files {
			if err := checkFile(filepath.Join(dir, f.To), f.SHA256); err != nil {
				return fmt.Errorf("%s (from %s@%s): %w; run `visage models install`", f.To, p.Name, p.Version, err)
			}
		}
	}
	return nil
}

func missingFiles(dir string, files []File) []File {
	var out []File
	for _, f := range files {
		if checkFile(filepath.Join(dir, f.To), f.SHA256) != nil {
			out = append(out, f)
		}
	}
	return out
}

func checkFile(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, want %s", got, want)
	}
	return nil
}

func installPackage(ctx context.Context, p Package, files []File, dir string, say Progress) error {
	tarball, err := fetchTarball(ctx, p, filepath.Join(dir, ".cache"), say)
	if err != nil {
		return err
	}
	if err := checkIntegrity(tarball, p.Integrity); err != nil {
		os.Remove(tarball)
		return err
	}
	return extract(tarball, files, dir, say)
}

// fetchTarball runs `npm pack` into a cache folder, reusing a cached
// tarball (its integrity is checked by the caller either way).
func fetchTarball(ctx context.Context, p Package, cache string, say Progress) (string, error) {
	name := strings.TrimPrefix(strings.ReplaceAll(p.Name, "/", "-"), "@") + "-" + p.Version + ".tgz"
	path := filepath.Join(cache, name)
	if _, err := os.Stat(path); err == nil && checkIntegrity(path, p.Integrity) == nil {
		say("  using cached %s", name)
		return path, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", ErrNoNPM
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	say("  downloading %s@%s from the npm registry…", p.Name, p.Version)
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", "--pack-destination", cache, p.Name+"@"+p.Version)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("npm pack failed (is the npm registry reachable?): %w: %s", err, tail(out))
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("npm pack produced no %s: %s", name, tail(out))
	}
	return path, nil
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

// checkIntegrity compares a tarball with npm's subresource-integrity string.
func checkIntegrity(path, integrity string) error {
	algo, want, ok := strings.Cut(integrity, "-")
	if !ok || algo != "sha512" {
		return fmt.Errorf("unsupported integrity %q (want sha512-…)", integrity)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("tarball integrity mismatch: got sha512-%s", got)
	}
	return nil
}

func extract(tarball string, files []File, dir string, say Progress) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	want := map[string]File{}
	for _, fl := range files {
		want[fl.From] = fl
	}
	tr := tar.NewReader(gz)
	for len(want) > 0 {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("tarball: %w", err)
		}
		fl, ok := want[hdr.Name]
		if !ok {
			continue
		}
		if err := writeVerified(tr, filepath.Join(dir, fl.To), fl.SHA256); err != nil {
			return fmt.Errorf("%s: %w", fl.To, err)
		}
		say("  installed %s (%.1f MB)", fl.To, float64(hdr.Size)/1e6)
		delete(want, hdr.Name)
	}
	for name := range want {
		return fmt.Errorf("tarball has no %s", name)
	}
	return nil
}

// writeVerified writes to a temporary file and renames it into place only
// when the checksum matches, so an interrupted install never leaves a
// truncated model that would load and give wrong answers.
func writeVerified(r io.Reader, dst, want string) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, want %s", got, want)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
